"""PNG charts for board papers (matplotlib, headless): 16:9, titled, axes with units.

Each function takes tidy frames or arrays and writes one PNG atomically; matplotlib is
imported only here, and only when charts are asked for.
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display needed

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.ticker import FuncFormatter

from mhep_model.report.writers import atomic_path

SIZE = (12.8, 7.2)  # inches: 16:9
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]
"""Okabe-Ito: eight colours told apart with every common colour-vision deficiency."""
DPI = 100  # 1280 x 720 pixels
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def style() -> None:
    plt.rcParams.update(
        {
            "font.size": 13,
            "axes.titlesize": 17,
            "axes.labelsize": 14,
            "legend.fontsize": 12,
            "axes.grid": True,
            "grid.alpha": 0.3,
            # Names are data: "$x$" in a case or scenario name is shown, never typeset.
            "text.parse_math": False,
            "text.usetex": False,
            "axes.prop_cycle": cycler(color=PALETTE),
            "image.cmap": "cividis",
        }
    )


def money_axis(ax: Any, currency: str, axis: str = "y") -> None:
    """Tick labels as money (``-£1,000``, never ``£-1,000``)."""
    symbol = SYMBOLS.get(currency, currency + " ")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(
        FuncFormatter(lambda v, _: f"-{symbol}{abs(v):,.0f}" if v < 0 else f"{symbol}{v:,.0f}")
    )


def _thousands(currency: str) -> Any:
    symbol = SYMBOLS.get(currency, currency + " ")
    return lambda v, _: f"-{symbol}{abs(v) / 1000:,.0f}k" if v < 0 else f"{symbol}{v / 1000:,.0f}k"


OVERFLOW: list[str] | None = None
"""Tests set a list here: every text that still lies outside its figure is recorded."""
SAVED: list[Any] | None = None
"""Tests set a list here: every figure saved is kept, to read its titles and axes."""


def save_png(fig: Any, path: Path) -> Path:
    """Write ``fig`` (1280 x 720) after fitting its text inside: long titles wrapped, the
    layout made around the figure's own legends and title."""
    try:
        fit(fig)
        if OVERFLOW is not None:
            OVERFLOW.extend(f"{path.name}: {t}" for t in outside(fig))
        if SAVED is not None:
            SAVED.append(fig)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=DPI, format="png")
    finally:
        plt.close(fig)
    return path


def _texts(fig: Any) -> list[Any]:
    """Titles (the figure's and each panel's), in the order they are fitted."""
    titles = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        titles += [t for t in (ax.title, ax._left_title, ax._right_title) if t.get_text()]
    return titles


def fit(fig: Any) -> None:
    """Wrap each title wider than the figure (or 1.3 times its panel), then lay the
    panels out below the title and above any legend of the figure's own."""
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    for text in _texts(fig):
        ax = getattr(text, "axes", None)
        room = width * 0.96
        if ax is not None:  # centred on its panel: as far as the nearer figure edge
            centre = (ax.bbox.x0 + ax.bbox.x1) / 2
            room = min(ax.bbox.width * 1.3, 2 * min(centre, width - centre) * 0.96)
        original = text.get_text().replace("\n", " ")
        chars = len(original)
        while text.get_window_extent(renderer).width > room and chars > 12:
            chars = int(chars * 0.85)
            text.set_text(textwrap.fill(original, chars))
    bottom = 0.0
    for legend in fig.legends:
        bottom = max(bottom, legend.get_window_extent(renderer).y1 / fig.bbox.height)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tight_layout warns on axes it cannot shrink
        fig.tight_layout(rect=(0, min(bottom + 0.01, 0.5), 1, 1))


def outside(fig: Any) -> list[str]:
    """Texts (titles, labels, legends) that reach outside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    out = []
    artists = _texts(fig) + list(fig.legends)
    for ax in fig.axes:
        artists += [ax.xaxis.label, ax.yaxis.label]
        if ax.get_legend() is not None:
            artists.append(ax.get_legend())
    for artist in artists:
        if not artist.get_visible() or (hasattr(artist, "get_text") and not artist.get_text()):
            continue
        e = artist.get_window_extent(renderer)
        if e.x0 < box.x0 - 1 or e.x1 > box.x1 + 1 or e.y0 < box.y0 - 1 or e.y1 > box.y1 + 1:
            out.append(artist.get_text() if hasattr(artist, "get_text") else "legend")
    return out


def date_axis(ax: Any, ticks: int = 6) -> None:
    """Calendar months as concise, non-overlapping tick labels (at most ``ticks``), on
    month or year boundaries; call it after the lines are drawn."""
    import matplotlib.dates as mdates

    lo, hi = ax.get_xlim()  # days
    months = max((hi - lo) / 30.44, 1.0)
    step = next((s for s in (1, 2, 3, 4, 6, 12, 24, 36, 60, 120) if months / s <= ticks), 240)
    locator: Any = (
        mdates.MonthLocator(bymonth=range(1, 13, step))  # type: ignore[no-untyped-call]
        if step < 12
        else mdates.YearLocator(step // 12)  # type: ignore[no-untyped-call]
    )
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def legend_label(key: Any) -> str:
    """A legend label for a groupby key: ``case`` or ``variant / case``."""
    text = " / ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
    return f" {text}" if text.startswith("_") else text  # matplotlib hides "_..." labels


def dates_of(group: pd.DataFrame) -> Any:
    return pd.to_datetime(group["date"] + "-01")


def run_charts(
    monthly: pd.DataFrame, stage_names: Sequence[str], currency: str, title: str, out_dir: Path
) -> list[Path]:
    """SPV cash and investor exposure; provider reserves with the zero line; the funnel."""
    style()
    label = "variant" if "variant" in monthly.columns else None
    keys = ["variant", "case"] if label else ["case"]
    written = []

    fig, (top, bottom) = plt.subplots(2, 1, figsize=SIZE, sharex=True)
    for key, group in monthly.groupby(keys, sort=False):
        name = legend_label(key)
        dates = dates_of(group)
        top.plot(dates, group["spv_cash"], label=name)
        exposure = (-group["investor_cashflow"]).cumsum()
        bottom.plot(dates, exposure, label=name)
    top.set_title(f"{title}: SPV cash and investor exposure")
    top.set_ylabel(f"SPV cash [{currency}]")
    bottom.set_ylabel(f"Investor exposure [{currency}]\n(drawn less received)")
    bottom.set_xlabel("Month")
    for ax in (top, bottom):
        money_axis(ax, currency)
        ax.axhline(0, color="black", linewidth=0.8)
    top.legend(loc="best")
    written.append(save_png(fig, out_dir / "spv_cash_and_investor_exposure.png"))

    fig, ax = plt.subplots(figsize=SIZE)
    for key, group in monthly.groupby(keys, sort=False):
        name = legend_label(key)
        ax.plot(dates_of(group), group["provider_reserves"], label=name, linewidth=2)
    ax.axhline(0, color="red", linewidth=1.5, linestyle="--", label="zero: insolvent below")
    ax.set_title(f"{title}: provider reserves")
    ax.set_ylabel(f"Provider reserves [{currency}]")
    ax.set_xlabel("Month")
    money_axis(ax, currency)
    ax.legend(loc="best")
    written.append(save_png(fig, out_dir / "provider_reserves.png"))

    groups = list(monthly.groupby(keys, sort=False))
    fig, axes = plt.subplots(len(groups), 1, figsize=SIZE, sharex=True, squeeze=False)
    for ax, (key, group) in zip(axes[:, 0], groups, strict=True):
        name = legend_label(key)
        dates = dates_of(group)
        for col in ["referrals", *stage_names]:
            ax.plot(dates, group[col], label=col)
        ax.set_ylabel(f"{name}\n[people/month]")
    axes[0, 0].set_title(f"{title}: the funnel, referrals to sustainment")
    axes[0, 0].legend(loc="upper right", ncol=len(stage_names) + 1)
    axes[-1, 0].set_xlabel("Month")
    written.append(save_png(fig, out_dir / "funnel.png"))
    return written


def fan(ax: Any, values: np.ndarray, start: str, currency: str, colour: str) -> None:
    """P5-P95 and P25-P75 bands and the median of ``values`` ``(paths, months)`` [money]
    by calendar month from ``start``, with the zero line."""
    dates = pd.date_range(start + "-01", periods=values.shape[1], freq="MS")
    p = np.percentile(values, [5, 25, 50, 75, 95], axis=0)
    ax.fill_between(dates, p[0], p[4], alpha=0.25, color=colour, label="P5-P95")
    ax.fill_between(dates, p[1], p[3], alpha=0.45, color=colour, label="P25-P75")
    ax.plot(dates, p[2], color=colour, linewidth=2, label="median")
    ax.axhline(0, color="red", linewidth=1.5, linestyle="--")
    ax.set_xlabel("Month")
    ax.tick_params(axis="x", labelrotation=45)
    money_axis(ax, currency)


def over_paths(first_paths: int | None) -> str:
    """What a fan chart's bands are taken over."""
    if first_paths is None:
        return "paths"
    return f"paths\n(bands from each case's first {first_paths:,} paths)"


def stress_charts(
    reserves: dict[str, np.ndarray],
    surplus: dict[str, np.ndarray],
    p_insolvent: dict[str, float],
    start: str,
    currency: str,
    title: str,
    out_dir: Path,
    first_paths: int | None = None,
) -> list[Path]:
    """A fan chart (P5-P95) of provider reserves and a histogram of provider surplus.
    ``first_paths``: the fans show only each case's first paths (a large run)."""
    style()
    written = []
    cases = list(reserves)
    fig, axes = plt.subplots(1, len(cases), figsize=SIZE, sharey=True, squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        fan(ax, reserves[case], start, currency, PALETTE[0])
        ax.set_title(f"{case}: P(insolvent) {p_insolvent[case]:.0%}")
    axes[0, 0].set_ylabel(f"Provider reserves [{currency}]")
    axes[0, 0].legend(loc="lower left")
    fig.suptitle(f"{title}: provider reserves over {over_paths(first_paths)}", fontsize=17)
    written.append(save_png(fig, out_dir / "provider_reserves_fan.png"))

    # one set of bins for every case: side-by-side panels on one scale
    bins = np.histogram_bin_edges(np.concatenate([surplus[c] for c in cases]), bins=50)
    fig, axes = plt.subplots(1, len(cases), figsize=SIZE, sharex=True, sharey=True, squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        values = surplus[case]
        ax.hist(values, bins=bins, color=PALETTE[0], alpha=0.8)
        ax.axvline(0, color="red", linewidth=1.5, linestyle="--", label="break-even")
        # the title says what the histogram shows: the share of paths below break-even
        # (insolvency, reserves below zero at some month, is another measure: the fan's)
        below = float(np.mean(values < 0)) if len(values) else float("nan")
        ax.set_title(f"{case}: P(surplus < 0) {below:.1%}")
        ax.set_xlabel(f"Provider surplus [{currency}]")
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands(currency)))
        ax.tick_params(axis="x", labelrotation=45)
    axes[0, 0].set_ylabel("Paths")
    axes[0, 0].legend(loc="upper left")
    fig.suptitle(f"{title}: provider surplus over paths", fontsize=17)
    written.append(save_png(fig, out_dir / "provider_surplus_histogram.png"))
    return written


def sweep_chart(
    frame: pd.DataFrame,
    params: Sequence[str],
    metric: str,
    currency: str,
    title: str,
    out_dir: Path,
) -> list[Path]:
    """A heatmap of ``metric`` over two swept inputs (a line chart for one), per case.

    Units and the colour scale follow the metric's kind: money in the currency, centred on
    0; a multiple centred on 1x (below it the investor loses); an IRR or margin in %,
    centred on 0; people and months with no centre of their own."""
    from mhep_model.metrics import metric as describe
    from mhep_model.report.workbook_layout import assumption_unit

    style()
    kind = describe(metric).unit
    name = describe(metric).label.strip()
    centre = {"multiple": 1.0, "money": 0.0, "percent": 0.0}.get(kind)
    unit = {"money": currency, "multiple": "x", "percent": "%", "month": "month"}.get(
        kind, "people"
    )
    cases = list(dict.fromkeys(frame["case"]))
    everything = frame[metric].to_numpy(dtype=float) * (100 if kind == "percent" else 1)
    finite = everything[np.isfinite(everything)]
    # one colour scale (and one y axis) for every case: side-by-side panels compare
    if centre is not None:
        spread = float(np.max(np.abs(finite - centre))) if len(finite) else 1.0
        vmin, vmax, cmap = centre - (spread or 1.0), centre + (spread or 1.0), "RdBu"
    else:
        vmin = float(finite.min()) if len(finite) else 0.0
        vmax = float(finite.max()) if len(finite) else 1.0
        cmap = "cividis"
    labels = [f"{p} [{assumption_unit(p)}]" for p in params]
    fig, axes = plt.subplots(1, len(cases), figsize=SIZE, sharey=len(params) < 2, squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        sub = frame[frame["case"] == case]
        if len(params) >= 2:
            grid = sub.pivot_table(index=params[0], columns=params[1], values=metric)
            values = grid.to_numpy(dtype=float)
            if kind == "percent":
                values = values * 100
            xs = grid.columns.to_numpy(dtype=float)
            ys = grid.index.to_numpy(dtype=float)
            dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1) / 2 or 0.5
            dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1) / 2 or 0.5
            image = ax.imshow(
                values,
                origin="lower",
                aspect="auto",
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
                extent=(xs[0] - dx, xs[-1] + dx, ys[0] - dy, ys[-1] + dy),  # cells centred
            )
            ax.grid(False)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.6g}"))
            ax.tick_params(axis="x", labelrotation=30)
            ax.set_xlabel(labels[1])
            ax.set_ylabel(labels[0])
            bar = fig.colorbar(image, ax=ax)
            bar.set_label(f"{name} [{unit}]")
        else:
            y = sub[metric] * (100 if kind == "percent" else 1)
            ax.plot(sub[params[0]], y, marker="o")
            if centre is not None:
                ax.axhline(centre, color="red", linewidth=1, linestyle="--")
            ax.set_xlabel(labels[0])
            ax.set_ylabel(f"{name} [{unit}]")
            if kind == "money":
                money_axis(ax, currency)
        ax.set_title(case)
    fig.suptitle(f"{title}: {name}", fontsize=17)
    return [save_png(fig, out_dir / f"sweep_{metric}.png")]
