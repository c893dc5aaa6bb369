"""summary.md: the tables of a :class:`Report`, ready to paste."""

from __future__ import annotations

from .baselines import BASELINES
from .bd import implementation
from .ladder import fmt_value
from .records import Average, Report


def _f(v, fmt: str, dash: str = "–") -> str:
    return dash if v is None else format(v, fmt)


def _at(avg: list[Average], value, name: str) -> Average | None:
    return next((a for a in avg if a.value == value and a.variant == name), None)


def summary_markdown(r: Report) -> str:
    """A markdown report: the decode per point, then per variant ΔPSNR-Y / ΔSSIM-Y and BD figures."""
    st = r.settings
    mode = st.mode
    avg = r.average
    ladder = sorted({a.value for a in avg})
    names = [v.name for v in r.variants if v.kind != "anchor"]
    frames = sorted({d.frames for d in r.sources if d.frames})
    lines = [
        f"# redecode evaluate: {st.codec}, {mode.upper()} {' '.join(fmt_value(v) for v in st.ladder)}",
        "",
        f"{len(r.sources)} source(s) ({', '.join(d.label for d in r.sources)}), "
        f"{'/'.join(map(str, frames)) or '?'} frames, preset {st.preset}, {st.bframes} B-frames. "
        "Metrics per frame, averaged per sequence, then over sequences; Δ = variant − decoded.",
        "",
    ]
    if not avg:
        lines += ["No ladder point was measured for every source.", ""]
    else:
        lines += ["## Decoded (anchor)", "",
                  "| " + mode.upper() + " | kbps | bpp | PSNR-Y | PSNR-YUV | SSIM-Y | VMAF |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for a in avg:
            if a.variant == "decoded":
                m = a.metrics
                lines.append(f"| {fmt_value(a.value)} | {_f(a.kbps, '.1f')} | {_f(a.bpp, '.4f')} "
                             f"| {_f(m.psnr_y, '.2f')} | {_f(m.psnr_yuv, '.2f')} "
                             f"| {_f(m.ssim_y, '.4f')} | {_f(m.vmaf, '.2f')} |")
        lines.append("")
        if names:
            lines += _variant_tables(r, names, ladder)
    filters = [BASELINES[v.spec] for v in r.variants if v.kind == "baseline"]
    if filters:
        lines += ["Baselines (ffmpeg " + str(r.versions.get("ffmpeg")) + "): "
                  + ", ".join(f"`{f}`" for f in filters)
                  + (" (+ `qp=` from the stream's QP for H.264/HEVC)"
                     if st.codec in ("libx264", "libx265") else ""), ""]
    if r.baselines_missing:
        lines += ["Unavailable baselines: " + ", ".join(r.baselines_missing), ""]
    if r.models_missing:
        lines += ["Unavailable models: " + "; ".join(f"{k}: {v}" for k, v in r.models_missing.items()), ""]
    if r.failures:
        lines += [f"{len(r.failures)} failure(s); see results.json.", ""]
    lines += ["BD figures: mean over sources of each source's BD against its decode "
              f"({implementation()}); negative BD-rate = fewer bits for the same PSNR.", ""]
    return "\n".join(lines) + "\n"


def _variant_tables(r: Report, names: list[str], ladder: list) -> list[str]:
    mode = r.settings.mode
    avg = r.average
    bdavg = r.bd_average
    head = " | ".join(f"{mode.upper()} {fmt_value(v)}" for v in ladder)
    lines = ["## ΔPSNR-Y (dB) and BD figures against the decode", "",
             f"| variant | {head} | BD-rate Y PCHIP | BD-rate Y Akima | BD-PSNR Y | BD-rate YUV |",
             "|---|" + "---:|" * (len(ladder) + 4)]
    for n in names:
        cells = [_f((a := _at(avg, v, n)) and a.delta_psnr_y, "+.3f") for v in ladder]
        b = bdavg.get(n, {})
        p, k = b.get("pchip"), b.get("akima")
        lines.append(f"| {n} | " + " | ".join(cells)
                     + f" | {_f(p and p.bd_rate_pct, '+.2f')}% | {_f(k and k.bd_rate_pct, '+.2f')}%"
                     + f" | {_f(p and p.bd_psnr_db, '+.3f')} | {_f(p and p.bd_rate_pct_yuv, '+.2f')}% |")
    lines += ["", "## ΔSSIM-Y", "", f"| variant | {head} |", "|---|" + "---:|" * len(ladder)]
    for n in names:
        cells = [_f((a := _at(avg, v, n)) and a.delta_ssim_y, "+.4f") for v in ladder]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    notes: dict[str, list[str]] = {}
    for n, b in bdavg.items():
        for m in b.values():
            for part in (m.note or "").split("; "):
                if part and n not in notes.setdefault(part, []):
                    notes[part].append(n)
    if notes:
        lines += ["BD notes: " + "; ".join(
            part if len(who) == len(bdavg) else f"{part} ({', '.join(who)})"
            for part, who in notes.items()) + ".", ""]
    return lines
