"""The model's arithmetic: pure numpy over arrays shaped ``(rows, months)``.

Rows are cases (and, later, variants and paths) computed together; month index ``t`` is
contract month ``m = t + 1``. No I/O, no printing, nothing from the scenario layer.

Importing it keeps freed array memory in the process for reuse (see ``heap``).
"""

from mhep_model.engine.heap import retain_freed_memory
from mhep_model.engine.inputs import Inputs, OutcomeInputs, StageInputs
from mhep_model.engine.model import Results, run, run_flows

retain_freed_memory()

__all__ = ["Inputs", "OutcomeInputs", "Results", "StageInputs", "run", "run_flows"]
