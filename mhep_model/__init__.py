"""mhep-model: financial scenario modeller for outcomes contracts (social impact bonds).

Layers, as pvlib keeps them:

- :mod:`mhep_model.scenario`: YAML to validated, frozen, typed config (the only place that
  reads YAML), cases, amendments and ``--set`` overrides, compiled to month arrays;
- :mod:`mhep_model.engine`: pure numpy over arrays shaped ``(rows, months)``;
- :mod:`mhep_model.report`: rich tables and CSV writers;
- :mod:`mhep_model.cli`: thin typer commands.
"""

__version__ = "0.1.0"
