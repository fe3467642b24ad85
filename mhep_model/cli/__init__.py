"""The ``mhep-model`` command: thin typer commands over the library, a module per group.

numpy and pandas are imported inside the commands so that ``mhep-model --help`` stays
fast.
"""

from mhep_model.cli import compare, run, sensitivity, stress, tools  # noqa: F401  (registers commands)
from mhep_model.cli.common import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
