"""The investor's and the SPV's side of a stress run, as PNG charts: the distribution of
the investor's money multiple and IRR over paths, and a monthly fan chart of SPV cash."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mhep_model.report.charts import PALETTE, SIZE, fan, over_paths, save_png, style


def investor_charts(
    multiple: dict[str, np.ndarray],
    irr: dict[str, np.ndarray],
    p_loss: dict[str, float],
    title: str,
    out_dir: Path,
) -> Path:
    """``investor_distribution.png``: per case, histograms of the money multiple [x] (a
    line at 1x, break-even) and of the IRR [% a year] (a line at 0)."""
    style()
    cases = list(multiple)
    fig, axes = plt.subplots(2, len(cases), figsize=SIZE, sharex="row", squeeze=False)
    edges = {  # one set of bins per row: the cases side by side on one scale
        name: _bins([values[c][np.isfinite(values[c])] for c in cases])
        for name, values in (("multiple", multiple), ("irr", irr))
    }
    for j, case in enumerate(cases):
        top, bottom = axes[0, j], axes[1, j]
        m = multiple[case][np.isfinite(multiple[case])]
        top.hist(m, bins=edges["multiple"], color=PALETTE[2], alpha=0.8)
        top.axvline(1.0, color="red", linewidth=1.5, linestyle="--", label="1x: money back")
        top.set_title(f"{case}: P(loses money) {p_loss[case]:.0%}")
        top.set_xlabel("Investor money multiple [x]")
        top.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.1f}x"))
        r = irr[case][np.isfinite(irr[case])]
        bottom.hist(r, bins=edges["irr"], color=PALETTE[4], alpha=0.8)
        bottom.axvline(0.0, color="red", linewidth=1.5, linestyle="--", label="0%")
        bottom.set_xlabel("Investor IRR [% a year]")
        bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        if len(r) < len(irr[case]):
            missing = len(irr[case]) - len(r)
            bottom.set_title(f"{missing:,} paths have no IRR (too little paid back)", fontsize=11)
    axes[0, 0].set_ylabel("Paths")
    axes[1, 0].set_ylabel("Paths")
    axes[0, 0].legend(loc="upper right")
    fig.suptitle(f"{title}: the investor's return over paths", fontsize=17)
    return save_png(fig, out_dir / "investor_distribution.png")


def _bins(parts: list[np.ndarray]) -> np.ndarray | int:
    """40 bins spanning every case's values (40 when there are none)."""
    values = np.concatenate(parts) if parts else np.zeros(0)
    return np.histogram_bin_edges(values, bins=40) if len(values) else 40


def spv_cash_fan(
    cash: dict[str, np.ndarray],
    p_gap: dict[str, float],
    start: str,
    currency: str,
    title: str,
    out_dir: Path,
    first_paths: int | None = None,
) -> Path:
    """``spv_cash_fan.png``: per case, P5-P95 and P25-P75 bands and the median of the
    SPV's month-end cash [currency], with the zero line (below it, a funding gap); over
    each case's ``first_paths`` paths when given."""
    style()
    cases = list(cash)
    fig, axes = plt.subplots(1, len(cases), figsize=SIZE, sharey=True, squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        fan(ax, cash[case], start, currency, PALETTE[1])
        ax.set_title(f"{case}: P(funding gap) {p_gap[case]:.0%}")
    axes[0, 0].set_ylabel(f"SPV cash at month end [{currency}]")
    axes[0, 0].legend(loc="upper left")
    fig.suptitle(f"{title}: SPV cash over {over_paths(first_paths)}", fontsize=17)
    return save_png(fig, out_dir / "spv_cash_fan.png")


def investor_net_return_chart(
    net: dict[str, np.ndarray],
    p_loss: dict[str, float],
    currency: str,
    title: str,
    out_dir: Path,
) -> Path:
    """``investor_net_return_histogram.png``: per case, the investor's received less drawn
    [currency] over paths, with a line at zero and the chance of a loss."""
    from mhep_model.report.charts import money_axis

    style()
    cases = list(net)
    fig, axes = plt.subplots(1, len(cases), figsize=SIZE, sharex=True, sharey=True, squeeze=False)
    bins = _bins([net[c][np.isfinite(net[c])] for c in cases])
    for ax, case in zip(axes[0], cases, strict=True):
        ax.hist(net[case], bins=bins, color=PALETTE[0], alpha=0.8)
        ax.axvline(0, color="red", linewidth=1.5, linestyle="--", label="gets back what it put in")
        ax.set_title(f"{case}: P(loss) {p_loss[case]:.0%}")
        ax.set_xlabel(f"Investor received less drawn [{currency}]")
        money_axis(ax, currency, axis="x")
        ax.xaxis.set_major_locator(MaxNLocator(3))  # money labels are wide: few, never touching
    axes[0, 0].set_ylabel("Paths")
    axes[0, 0].legend(loc="best", fontsize=10)
    fig.suptitle(f"{title}: the investor's net return over paths", fontsize=17)
    return save_png(fig, out_dir / "investor_net_return_histogram.png")
