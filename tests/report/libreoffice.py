"""Recalculating workbooks with LibreOffice headless, as an analyst's spreadsheet would.

CI installs LibreOffice (``.ci/run``); without it these tests fail under CI and are
skipped elsewhere, with the reason."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

Sheets = dict[str, list[list[str]]]

_RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def require_soffice() -> None:
    """Skip without LibreOffice, except in CI (where its absence is a failure)."""
    if shutil.which("soffice") is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI: .ci/run installs it")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc)")


def recalculate(books: list[Path], work: Path) -> list[Sheets]:
    """Every sheet of each workbook as LibreOffice recalculates it on load (one LibreOffice
    process for all), read back from its CSV export."""
    require_soffice()
    profile = work / "profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_ALWAYS)
    inputs = []
    for k, book in enumerate(books):
        copy = work / f"book{k}.xlsx"
        shutil.copyfile(book, copy)
        inputs.append(str(copy))
    out = work / "csv"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            *inputs,
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    result: list[Sheets] = [{} for _ in books]
    for csv_file in out.glob("*.csv"):
        stem, sheet = csv_file.stem.split("-", 1)
        with csv_file.open(encoding="utf-8") as f:
            result[int(stem.removeprefix("book"))][sheet] = list(csv.reader(f))
    return result


def number(text: str) -> float | None:
    """A CSV cell as a number (``12.5%`` as 0.125), or None for text."""
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None
