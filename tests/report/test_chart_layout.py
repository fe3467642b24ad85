"""Issue 24: charts a board paper can use as they are: no title or legend cut at the image
edge, side-by-side case panels on one scale, titles that say what is drawn, words (never
column names) on axes, colours told apart with a colour-vision deficiency; a Mermaid
diagram whose labels do not overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.report import charts
from tests.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[Any]]:
    overflow: list[str] = []
    saved: list[Any] = []
    monkeypatch.setattr(charts, "OVERFLOW", overflow)
    monkeypatch.setattr(charts, "SAVED", saved)
    return overflow, saved


def _cli(*args: str) -> None:
    result = runner.invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output


def _titles(fig: Any) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def test_no_text_reaches_past_the_image_edge(
    tmp_path: Path, drawn: tuple[list[str], list[Any]]
) -> None:
    """Compare and portfolio charts cut their legends and titles at the edge."""
    overflow, saved = drawn
    batch = ROOT / "scenarios" / "staffordshire_renegotiations.yaml"
    _cli("compare", str(batch), "--charts", "--out", str(tmp_path / "c"))
    portfolio = ROOT / "scenarios" / "mhep_2016.yaml"
    _cli("run", str(portfolio), "--case", "medium", "--charts", "--out", str(tmp_path / "p"))
    _cli(
        "run",
        str(EXAMPLES / "e07_actuals" / "scenario.yaml"),
        "--charts",
        "--out",
        str(tmp_path / "a"),
    )
    assert len(saved) >= 9
    assert overflow == []


def test_case_panels_share_a_scale_and_titles_say_what_is_drawn(
    tmp_path: Path, drawn: tuple[list[str], list[Any]]
) -> None:
    """The surplus histogram's title gave P(insolvent) 68% while 54.6% of its paths lay
    below zero; histograms of each case had their own x scales."""
    _, saved = drawn
    staffordshire = ROOT / "scenarios" / "staffordshire.yaml"
    _cli("stress", str(staffordshire), "--paths", "600", "--charts", "--out", str(tmp_path / "s"))
    surplus = next(f for f in saved if "provider surplus" in (f._suptitle.get_text()))
    for ax in surplus.axes:
        heights = np.array([p.get_height() for p in ax.patches])
        left = np.array([p.get_x() for p in ax.patches])
        right = left + np.array([p.get_width() for p in ax.patches])
        # the share below zero lies between the bars wholly below it and those reaching it
        low, high = heights[right <= 0].sum(), heights[left < 0].sum()
        title = " ".join(ax.get_title().split())  # long titles wrap
        shown = float(title.rsplit(" ", 1)[1].rstrip("%")) / 100
        assert "P(surplus < 0)" in title
        assert low / heights.sum() - 1e-3 <= shown <= high / heights.sum() + 1e-3
    for fig in saved:
        if len(fig.axes) >= 3 and "histogram" not in fig._suptitle.get_text():
            limits = {ax.get_xlim() for ax in fig.axes[:3]}
            assert len(limits) == 1, fig._suptitle.get_text()
    for fig in saved:  # words on axes, never a column name like investor_multiple
        for ax in fig.axes:
            for text in (
                ax.get_xlabel(),
                ax.get_ylabel(),
                ax.get_title(),
                fig._suptitle.get_text(),
            ):
                assert "_multiple" not in text and "provider_" not in text, text


def test_the_palette_is_told_apart_with_a_colour_vision_deficiency() -> None:
    charts.style()
    import matplotlib.pyplot as plt

    cycle = [c["color"].upper() for c in plt.rcParams["axes.prop_cycle"]]
    assert cycle[:3] == ["#0072B2", "#E69F00", "#009E73"]  # Okabe-Ito
    from mhep_model.report.compare_charts import variant_styles

    assert variant_styles(["a"])["a"]["color"] == "#0072B2"


def test_sweep_panels_share_one_colour_scale(
    tmp_path: Path, drawn: tuple[list[str], list[Any]]
) -> None:
    _, saved = drawn
    staffordshire = ROOT / "scenarios" / "staffordshire.yaml"
    _cli(
        "sweep",
        str(staffordshire),
        "--param",
        "provider.block.annual=40000:100000:20000",
        "--param",
        "referrals.scale=0.6:1.2:0.2",
        "--metric",
        "provider_surplus",
        "--charts",
        "--out",
        str(tmp_path / "w"),
    )
    fig = saved[-1]
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 3
    assert len({im.get_clim() for im in images}) == 1
    assert images[0].get_cmap().name == "RdBu"
    for ax in (ax for ax in fig.axes if ax.images):  # inputs with their units
        assert ax.get_ylabel() == "provider.block.annual [£]"
        assert ax.get_xlabel() == "referrals.scale [factor]"


def test_mermaid_labels_sit_in_boxes_and_wrap() -> None:
    """Labels on the edges that meet at the SPV overlapped; a self-loop drew over the
    SPV; the amendment note ran to one 300-character line."""
    from mhep_model.api import explain

    lines = [line.strip() for line in explain(ROOT / "scenarios" / "staffordshire.yaml").diagram]
    text = "\n".join(lines)
    assert "SPV -. " not in text and "-.-> SPV" in text  # no self-loop
    assert not any(line.startswith("P_") and '-- "' in line for line in lines)
    for line in lines:
        for label in line.split('"')[1::2]:
            assert all(len(part) <= 48 for part in label.split("<br/>")), label
