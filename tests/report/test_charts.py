"""--charts: valid PNG images of the expected size."""

from __future__ import annotations

import struct
from pathlib import Path

from typer.testing import CliRunner

from mhep_model.cli import app
from tests.conftest import EXAMPLES

runner = CliRunner()
E04 = EXAMPLES / "e04_cases_amendments" / "scenario.yaml"
SIZE = (1280, 720)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_run_charts(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(E04), "--out", str(tmp_path), "--charts", "-q"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["funnel.png", "provider_reserves.png", "spv_cash_and_investor_exposure.png"]
    for path in tmp_path.glob("*.png"):
        assert _png_size(path) == SIZE


def test_stress_and_sweep_charts(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["stress", str(E04), "--paths", "300", "--out", str(tmp_path / "s"), "--charts", "-q"]
    )
    assert result.exit_code == 0, result.output
    for name in (
        "provider_reserves_fan.png",
        "provider_surplus_histogram.png",
        "investor_distribution.png",  # multiple and IRR over paths (issue 13)
        "spv_cash_fan.png",
    ):
        assert _png_size(tmp_path / "s" / name) == SIZE
    result = runner.invoke(
        app,
        [
            "sweep",
            str(E04),
            "--param",
            "provider.block.annual=0:40000:20000",
            "--param",
            "referrals.scale=0.5:1:0.5",
            "--out",
            str(tmp_path / "w"),
            "--charts",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert _png_size(tmp_path / "w" / "sweep_provider_surplus.png") == SIZE
