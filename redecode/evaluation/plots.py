"""Plots of an evaluation run: rate-distortion curves (rd.png) and per-frame PSNR (frames.png).

Needs matplotlib (``pip install redecode[eval]``). Figures are ``matplotlib.figure.Figure``
objects saved straight to PNG (Agg), without pyplot: no backend is selected, no display is
needed, and the caller's matplotlib state is left as it was.
"""

from __future__ import annotations

import math
from pathlib import Path

try:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError("matplotlib is not installed (pip install 'redecode[eval]')") from e

from .records import Average, Entry, Report

TYPE_STYLE = {"I": ("#d62728", "s"), "P": ("#1f77b4", "o"), "B": ("#2ca02c", "^")}
_MODEL_COLOURS = ["#e6550d", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22"]
_BASELINE_COLOURS = ["#7f7f7f", "#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9edae5"]


def _styles(r: Report) -> dict[str, dict]:
    out = {"decoded": {"color": "black", "lw": 2.2, "ls": "-", "marker": "o", "zorder": 5}}
    m = b = 0
    for v in r.variants:
        if v.kind == "model":
            out[v.name] = {"color": _MODEL_COLOURS[m % len(_MODEL_COLOURS)], "lw": 1.8, "ls": "-",
                           "marker": "D", "zorder": 4}
            m += 1
        elif v.kind == "baseline":
            out[v.name] = {"color": _BASELINE_COLOURS[b % len(_BASELINE_COLOURS)], "lw": 1.2,
                           "ls": "--", "marker": "x", "zorder": 3}
            b += 1
    return out


def _label(r: Report, name: str, source: str | None) -> str:
    """Legend text: the variant and its average BD-rate (PCHIP) against the decode."""
    if name == "decoded":
        return "decoded (anchor)"
    per = r.bd_by_source.get(source, {}) if source else r.bd_average
    pchip = per.get(name, {}).get("pchip")
    rate = pchip.bd_rate_pct if pchip is not None else None
    kind = r.variant(name).kind
    tag = f"{name} ({kind})" if kind == "baseline" else name
    return f"{tag}  BD-rate {rate:+.1f}%" if rate is not None else tag


def _curve(rows: list[Entry | Average]):
    rows = sorted(rows, key=lambda e: e.kbps)
    return [e.kbps for e in rows], [e.metrics.psnr_y for e in rows], [e.value for e in rows]


def _log_axis(ax, lo: float, hi: float) -> None:
    ax.set_xscale("log")
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 0.0
    subs = (1.0, 2.0, 5.0) if decades > 1.5 else (1.0, 2.0, 3.0, 5.0, 7.0) if decades > 0.6 \
        else tuple(float(k) for k in range(1, 10))
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=range(1, 10)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def rd_plot(r: Report, path: str | Path, dpi: int = 110) -> Path:
    """PSNR-Y against bitrate: one panel per source, plus an average panel for several sources."""
    mode = r.settings.mode
    sources = [d.label for d in r.sources]
    panels: list[tuple[str, list, str | None]] = [
        (s, [e for e in r.results if e.source == s], s) for s in sources]
    if len(sources) > 1:
        panels.append((f"average of {len(sources)} sources", r.average, None))
    n = len(panels)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(5.6 * cols, 4.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    styles = _styles(r)
    for ax, (title, entries, src) in zip(axes.flat, panels):
        rates = [e.kbps for e in entries if e.kbps]
        for name, st in styles.items():
            mine = [e for e in entries if e.variant == name]
            if not mine:
                continue
            x, y, ladder = _curve(mine)
            ax.plot(x, y, label=_label(r, name, src), markersize=4, **st)
            if name == "decoded":
                for xi, yi, li in zip(x, y, ladder):  # above-left: the curves below stay clear
                    ax.annotate(f"{mode.upper()} {li:g}", (xi, yi), textcoords="offset points",
                                xytext=(-5, 5), ha="right", fontsize=7, color="#444444")
        if rates:
            _log_axis(ax, min(rates), max(rates))
        ax.margins(x=0.1, y=0.06)  # room for the leftmost QP label
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("mean kbps over sources" if src is None else "kbps")
        ax.set_ylabel("PSNR-Y (dB)")
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right", framealpha=0.85,
                      title="BD-rate vs decoded: PCHIP", title_fontsize=7)
        else:
            ax.text(0.5, 0.5, "no results", ha="center", va="center", transform=ax.transAxes)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(f"{r.settings.codec}, preset {r.settings.preset}: PSNR-Y vs bitrate", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return Path(path)


def choose_point(ladder: list[float], mode: str, wanted: float | None = None) -> float | None:
    """The ladder point frames.png shows: ``wanted``, else QP 37 when present, else the middle."""
    if not ladder:
        return None
    ladder = sorted(ladder)
    if wanted is not None and wanted in ladder:
        return wanted
    if mode == "qp" and 37 in ladder:
        return 37
    return ladder[len(ladder) // 2]


def frames_plot(r: Report, path: str | Path, wanted: float | None = None,
                max_sources: int = 4) -> bool:
    """Per-frame PSNR-Y (left) and ΔPSNR-Y against the decode (right) at one ladder point.

    Frame types are marked on the decoded curve (I red squares, P blue dots, B green triangles).
    Returns False when there is nothing to draw.
    """
    mode = r.settings.mode
    measured = [p for p in r.points if "decoded" in p.variants]
    value = choose_point(sorted({p.value for p in measured}), mode, wanted)
    if value is None:
        return False
    chosen = [p for p in measured if p.value == value][:max_sources]
    styles = _styles(r)
    n = len(chosen)
    fig = Figure(figsize=(13, 3.4 * n))
    axes = fig.subplots(n, 2, squeeze=False)
    for (ax, dax), p in zip(axes, chosen):
        dec = p.variants["decoded"].frames
        idx = list(range(len(dec)))
        dec_y = [f.psnr_y for f in dec]
        ax.plot(idx, dec_y, color="black", lw=1.4, zorder=5, label="decoded")
        for t, (c, mk) in TYPE_STYLE.items():
            sel = [i for i in idx if dec[i].type == t]
            ax.scatter(sel, [dec_y[i] for i in sel], color=c, marker=mk, s=22, zorder=6,
                       edgecolors="white", linewidths=0.4)
            dax.scatter(sel, [0.0] * len(sel), color=c, marker=mk, s=16, zorder=6,
                        edgecolors="white", linewidths=0.4)
        dax.axhline(0.0, color="black", lw=1.0)
        for name, st in styles.items():
            if name == "decoded" or name not in p.variants:
                continue
            ys = [f.psnr_y for f in p.variants[name].frames]
            ax.plot(idx[:len(ys)], ys, color=st["color"], ls=st["ls"], lw=1.0, label=name)
            dax.plot(idx[:len(ys)], [a - b for a, b in zip(ys, dec_y)], color=st["color"],
                     ls=st["ls"], lw=1.1, label=name)
        qp = p.mean_qp
        head = f"{p.source}, {mode.upper()} {value:g}, {p.kbps:.0f} kbps" + (
            f", mean QP {qp:.1f}" if qp is not None else "")
        ax.set_title(f"{head}: PSNR-Y per frame", fontsize=9)
        dax.set_title(f"{head}: ΔPSNR-Y vs decoded", fontsize=9)
        ax.set_ylabel("PSNR-Y (dB)")
        dax.set_ylabel("Δ dB")
        for a in (ax, dax):
            a.set_xlabel("frame (display order)")
            a.grid(True, alpha=0.3)
            a.set_xlim(-0.5, len(dec) - 0.5)
    handles = [Line2D([], [], color=c, marker=mk, ls="", label=f"{t}-frame") for t, (c, mk) in TYPE_STYLE.items()]
    handles += [Line2D([], [], color=st["color"], ls=st["ls"], lw=1.4 if name == "decoded" else 1.1,
                       label=name) for name, st in styles.items()]
    ncol = len(handles) if len(handles) <= 11 else math.ceil(len(handles) / 2)
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    rows = math.ceil(len(handles) / ncol)
    fig.tight_layout(rect=(0, (0.12 + 0.2 * rows) / fig.get_figheight(), 1, 1))
    fig.savefig(path, dpi=100)
    return True
