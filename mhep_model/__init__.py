"""mhep-model: financial scenario modeller for outcomes contracts (social impact bonds).

The Python API (:mod:`mhep_model.api`, see ``docs/python-api.md``)::

    import mhep_model
    result = mhep_model.run("scenarios/staffordshire.yaml")
    result.summary          # summary.csv as a pandas DataFrame
    result.monthly          # monthly.csv
    result.to_excel("staffordshire.xlsx")

and likewise :func:`compare`, :func:`sweep`, :func:`stress`, :func:`solve` and
:func:`sensitivity`; :func:`allow_outside` lets scenario files name files outside their
own folder. They are imported on first use, so that ``import mhep_model`` (and
``mhep-model --help``) stays light.

Layers, as pvlib keeps them:

- :mod:`mhep_model.scenario`: YAML to validated, frozen, typed config (the only place that
  reads YAML), cases, amendments and ``--set`` overrides, compiled to month arrays;
- :mod:`mhep_model.engine`: pure numpy over arrays shaped ``(rows, months)``;
- :mod:`mhep_model.studies`: runs, comparisons, sweeps, stress, goal seek, sensitivity;
- :mod:`mhep_model.report`: rich tables, CSV, workbook and chart writers;
- :mod:`mhep_model.api`: the studies as functions returning DataFrames;
- :mod:`mhep_model.cli`: thin typer commands over the API.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = (
    "allow_outside",
    "run",
    "compare",
    "sweep",
    "stress",
    "solve",
    "sensitivity",
    "backtest",
    "explain",
    "validate",
)


def __getattr__(name: str) -> Any:
    """The API's functions, imported on first use."""
    if name in _API:
        from mhep_model import api

        return getattr(api, name)
    raise AttributeError(f"module 'mhep_model' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = ["__version__", *_API]
