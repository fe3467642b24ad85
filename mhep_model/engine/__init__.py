"""The model's arithmetic: pure numpy over arrays shaped ``(rows, months)``.

Rows are cases (and, later, variants and paths) computed together; month index ``t`` is
contract month ``m = t + 1``. No I/O, no printing, nothing from the scenario layer.

Importing it changes nothing in the process: the allocator tuning of :mod:`heap` is applied
only where the CLI or a large study (stress, sweep, Sobol) asks for it.
"""

from mhep_model.engine.inputs import Inputs, OutcomeInputs, StageInputs
from mhep_model.engine.model import Results, run, run_flows

__all__ = ["Inputs", "OutcomeInputs", "Results", "StageInputs", "run", "run_flows"]
