"""Limits on what a scenario may ask for, so that every accepted input runs in bounded time
and memory: a 2-core machine with 6 GB runs whatever they accept. Each is enforced before
any work starts, with a message naming the limit and, for work, the estimate of its memory
and time; the README lists them.
"""

from __future__ import annotations

MAX_HORIZON = 600
"""Longest horizon H = term_months + tail_months [months] (spec section 2)."""
MAX_PORTFOLIO_MONTHS = 1_200
"""Longest span of a portfolio, first contract start to last horizon [months]."""
MAX_MONTH = 100_000
"""Largest month number written anywhere (a payer window may pass H) [month]."""
MAX_MONEY = 1e12
"""Largest amount of money in any field [currency units]."""
MAX_PEOPLE = 1e9
"""Largest count of people or FTEs in any field [people]."""
MAX_SCALE = 1_000.0
"""Largest multiplier: referrals.scale, tariff_factor, an amendment's scale [1]."""
MAX_CV = 10.0
"""Largest coefficient of variation of a referral multiplier [1]."""
MAX_CONCENTRATION = 1e9
"""Largest Beta concentration of the rates [1]."""
MIN_START_YEAR, MAX_START_YEAR = 1900, 2200
"""contract.start must fall in these years (dates up to H stay within what pandas and
matplotlib can draw: 2262)."""

MAX_CASES = 50
MAX_STAGES = 50
MAX_BANDS = 20
"""Bands of one split."""
MAX_PAYERS = 50
MAX_OUTCOMES = 50
MAX_AMENDMENTS = 50
MAX_GRANTS = 50
MAX_AMENDMENT_KEYS = 50
"""Paths one amendment may set or scale."""
MAX_LAG_WEIGHTS = MAX_HORIZON + 1
MAX_VERSIONS = 300
"""Cases times the versions each has (its own, then one per amended month): each version
is validated as a whole scenario."""
MAX_VARIANTS = 100
"""Variants of a batch file, or scenarios given to compare."""
MAX_TEXT = 1_000
"""Longest name, note or currency [characters]."""

MEMORY_BUDGET = 5_000_000_000
"""The most one command may hold at its peak [bytes], a gigabyte short of 6 GB for the
system and the writers."""
BASE_BYTES = 400_000_000
"""What a command holds before its work: the interpreter, numpy, pandas and the working
blocks of a run [bytes] (measured: 300-400 MB)."""
BYTES_PER_CELL = 33
"""The engine's peak memory per row-month-lane of one batch (measured)."""
MAX_CELLS = (MEMORY_BUDGET - BASE_BYTES) // BYTES_PER_CELL
"""Work budget of one vectorised batch (139M cells): rows x months x lanes, where the
lanes are the stage bands, payers and outcomes plus ten; with :data:`BASE_BYTES` it stays
within :data:`MEMORY_BUDGET` (issue 26: it was 200M cells, about 7 GB)."""
KEPT_BYTES_PER_CELL = 80
"""Peak memory per cell of a run or comparison, whose monthly results are all kept for
``monthly.csv`` (measured: 100 variants x 50 cases x 600 months x 20 lanes, 60M cells,
peaked at 4.56 GB)."""
MAX_KEPT_CELLS = (MEMORY_BUDGET - BASE_BYTES) // KEPT_BYTES_PER_CELL
"""Work budget of a run or comparison (57.5M cells, about 4.6 GB): studies that keep only
each row's summary (sweeps, sensitivity, solve) have :data:`MAX_CELLS`."""
MAX_PATHS = 1_000_000
"""Most stress paths per case."""
MAX_PATH_MONTHS = 500_000_000
"""Stress work budget: paths x cases x months (about 25 minutes at the 350,000
path-months a second measured on 2 cores)."""
PATH_MONTHS_PER_SECOND = 350_000
"""Stress throughput on 2 cores (measured: 10 cases x 50,000 paths x 50 months in 71 s),
for the time estimate in messages."""


def lanes(n_bands: int, n_payers: int, n_outcomes: int) -> int:
    """Arrays the engine holds per row and month (see :data:`MAX_CELLS`)."""
    return n_bands + n_payers + n_outcomes + 10


def gigabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.1f} GB"


def duration(seconds: float) -> str:
    """``about 3 minutes``, ``about 2.5 hours``: a time estimate in words."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} seconds"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} minutes"
    return f"about {seconds / 3600:,.1f} hours"


def check_memory(need: float, what: str, fix: str) -> None:
    """Refuse work estimated to need more than :data:`MEMORY_BUDGET` at its peak, with
    the estimate and ``fix`` in the message."""
    from mhep_model.errors import UsageError

    if need > MEMORY_BUDGET:
        raise UsageError(
            f"{what} would need about {gigabytes(need)} of memory at its peak; one command "
            f"uses at most {gigabytes(MEMORY_BUDGET)} (so that a 6 GB machine runs it): {fix}"
        )


def check_work(rows: int, months: int, lane_count: int, what: str, *, kept: bool = False) -> None:
    """Refuse a batch of ``rows`` over ``months`` and ``lane_count`` lanes that is over
    budget, before any of it is computed (see :func:`check_cells`)."""
    cells = rows * months * lane_count
    shape = f"{rows:,} rows x {months} months x {lane_count} lanes = "
    check_cells(cells, what, kept=kept, shape=shape)


def check_cells(cells: int, what: str, *, kept: bool = False, shape: str = "") -> None:
    """Refuse work of more than :data:`MAX_CELLS` cells (``kept``: a run or comparison
    keeping every month, :data:`MAX_KEPT_CELLS`), with its memory estimate."""
    from mhep_model.errors import UsageError

    most, per_cell = (MAX_KEPT_CELLS, KEPT_BYTES_PER_CELL) if kept else (MAX_CELLS, BYTES_PER_CELL)
    if cells > most:
        need = BASE_BYTES + cells * per_cell
        raise UsageError(
            f"{what}: {shape}{cells:,} cells would need about {gigabytes(need)} of memory; "
            f"one {'run' if kept else 'study batch'} computes at most {most:,} cells "
            f"(about {gigabytes(BASE_BYTES + most * per_cell)}, so that a 6 GB machine runs "
            "it): use fewer cases, variants, contracts, grid points or a shorter horizon"
        )


MAX_SWEEP_ROWS = 100_000
"""Largest sweep (or study batch) accepted: grid points times cases."""
