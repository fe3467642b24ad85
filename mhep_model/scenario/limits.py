"""Limits on what a scenario may ask for, so that every accepted input runs in bounded time
and memory on a 2-core, 24 GB machine. Each is enforced in validation, before any work
starts, with a message naming the limit; the README lists them.
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

BYTES_PER_CELL = 33
"""The engine's peak memory per row-month-lane of one batch (measured)."""
MAX_CELLS = 150_000_000
"""Work budget of one vectorised batch: rows x months x lanes, where the lanes are the
stage bands, payers and outcomes plus ten; it bounds the engine's peak memory to about
5 GB, so that a machine with 6 GB runs whatever it accepts (issue 26; it was 200M cells,
about 6.6 GB)."""
MAX_PATHS = 1_000_000
"""Most stress paths per case."""
MAX_PATH_MONTHS = 500_000_000
"""Stress work budget: paths x cases x months (each path's monthly reserves are kept for
charts as 4-byte floats: at most 2 GB)."""


def lanes(n_bands: int, n_payers: int, n_outcomes: int) -> int:
    """Arrays the engine holds per row and month (see :data:`MAX_CELLS`)."""
    return n_bands + n_payers + n_outcomes + 10


def check_work(rows: int, months: int, lane_count: int, what: str) -> None:
    """Refuse a batch over :data:`MAX_CELLS` before any of it is computed."""
    from mhep_model.errors import UsageError

    cells = rows * months * lane_count
    if cells > MAX_CELLS:
        need = cells * BYTES_PER_CELL / 1e9
        most = MAX_CELLS * BYTES_PER_CELL / 1e9
        raise UsageError(
            f"{what}: {rows:,} rows x {months} months x {lane_count} lanes = {cells:,} cells "
            f"would need about {need:,.1f} GB of memory; one run computes at most "
            f"{MAX_CELLS:,} (about {most:.1f} GB): use fewer cases, variants, grid points or "
            "a shorter horizon"
        )


MAX_SWEEP_ROWS = 100_000
"""Largest sweep (or study batch) accepted: grid points times cases."""
