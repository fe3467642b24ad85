"""Terminal formatting: currency, thousands separators, dashes for blanks."""

from __future__ import annotations

import math

from mhep_model.report.tables import DASH, money, multiple, number, percent


def test_money() -> None:
    assert money(674240.4) == "£674,240"
    assert money(-1234.6) == "-£1,235"
    assert money(-0.2) == "£0"
    assert money(1000, "EUR") == "€1,000"
    assert money(1000, "CHF") == "CHF 1,000"
    assert money(math.nan) == DASH


def test_other_formats() -> None:
    assert number(1234.56) == "1,234.6"
    assert percent(0.1234) == "12.3%"
    assert multiple(1.5) == "1.50x"
    assert percent(math.nan) == multiple(math.nan) == number(math.nan) == DASH
