"""The ``mhep-model`` command: thin typer commands over the library, a module per group.

numpy and pandas are imported inside the commands so that ``mhep-model --help`` stays
fast.
"""

from mhep_model.cli import compare, run, sensitivity, stress, tools  # noqa: F401  (registers commands)
from mhep_model.cli.common import app


def main() -> None:
    """Console-script entry point. A command-line run is a process of its own, so it keeps
    freed array memory for reuse (:mod:`mhep_model.engine.heap`), as a library import
    does not."""
    from mhep_model.engine.heap import retain_freed_memory

    retain_freed_memory()
    app()


__all__ = ["app", "main"]
