"""The outputs of ``redecode evaluate``: results.json, frames.csv and summary.md.

``build_document`` turns the measured ladder points into the results document (one entry per
source x codec x ladder point x variant, averages over sources, BD figures against the decode,
versions and settings); ``write_outputs`` writes it with the per-frame CSV, the markdown summary
and the plots.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import platform
from pathlib import Path

import av
import numpy as np

from .. import __version__
from . import baselines as bl
from . import bd, ffmpeg

log = logging.getLogger("redecode")

METRICS = ("psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ssim_y")
CSV_COLUMNS = ("source", "codec", "qp", "crf", "variant", "frame", "type", "mean_qp",
               "psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ssim_y", "vmaf")
SEED = 0


def fmt_value(v: float) -> str:
    """A ladder value as written in names and tables: 37, 23.5."""
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _versions() -> dict:
    import torch

    try:
        ff = ffmpeg.version()
    except ffmpeg.FFmpegNotFound:
        ff = None
    try:
        import bjontegaard

        bj = getattr(bjontegaard, "__version__", "?")
    except ImportError:
        bj = None
    libs = getattr(av, "library_versions", {}) or {}
    return {
        "redecode": __version__, "python": platform.python_version(), "torch": torch.__version__,
        "av": av.__version__, "av_ffmpeg": str(getattr(av, "ffmpeg_version_info", "")) or None,
        "libavcodec": ".".join(map(str, libs.get("libavcodec", ()))) or None,
        "ffmpeg": ff, "numpy": np.__version__, "bjontegaard": bj, "bd": bd.implementation(),
    }


def _entry(p: dict, codec: str, name: str, res: dict, anchor: dict | None) -> dict:
    m = res["metrics"]
    e = {"source": p["source"], "codec": codec, p["mode"]: _num(p["value"]), "variant": name,
         "kbps": p["kbps"], "bpp": p["bpp"], "bits": p["bits"],
         **{k: m[k] for k in METRICS}, "vmaf": m["vmaf"], "frames": len(res["frames"])}
    if anchor is not None:
        am = anchor["metrics"]
        e["delta_psnr_y"] = m["psnr_y"] - am["psnr_y"]
        e["delta_psnr_yuv"] = m["psnr_yuv"] - am["psnr_yuv"]
        e["delta_ssim_y"] = m["ssim_y"] - am["ssim_y"]
        e["delta_vmaf"] = (m["vmaf"] - am["vmaf"]) if m["vmaf"] is not None and am["vmaf"] is not None else None
    e["mean_qp"] = p.get("mean_qp")
    for k in ("qscale", "qp_equivalent"):
        if k in p:
            e[k] = p[k]
    if "filter" in res:
        e["filter"] = res["filter"]
    e["seconds"] = res["seconds"]
    e["fps"] = res["fps"]
    return e


def _num(v: float):
    return int(v) if float(v).is_integer() else float(v)


def _bd_for(curves_a, curves_t) -> dict:
    """BD figures of one test curve against the anchor: {method: {...}}."""
    out = {}
    for method in bd.METHODS:
        r = bd.bd_rate(curves_a["kbps"], curves_a["psnr_y"], curves_t["kbps"], curves_t["psnr_y"], method)
        p = bd.bd_psnr(curves_a["kbps"], curves_a["psnr_y"], curves_t["kbps"], curves_t["psnr_y"], method)
        ry = bd.bd_rate(curves_a["kbps"], curves_a["psnr_yuv"], curves_t["kbps"], curves_t["psnr_yuv"], method)
        py = bd.bd_psnr(curves_a["kbps"], curves_a["psnr_yuv"], curves_t["kbps"], curves_t["psnr_yuv"], method)
        notes = [part for n in (r.note, p.note) if n for part in n.split("; ")]
        notes += [part if part in notes else f"{part} (PSNR-YUV)"
                  for n in (ry.note, py.note) if n for part in n.split("; ")]
        out[method] = {
            "bd_rate_pct": r.value, "bd_psnr_db": p.value,
            "bd_rate_pct_yuv": ry.value, "bd_psnr_db_yuv": py.value,
            "overlap_y": r.overlap,
            "note": "; ".join(dict.fromkeys(notes)) or None,
        }
    return out


def _bd_section(entries: list[dict], variants: list, sources: list[str], mode: str) -> dict:
    by_source: dict = {}
    for src in sources:
        rows = [e for e in entries if e["source"] == src]
        anchor = sorted((e for e in rows if e["variant"] == "decoded"), key=lambda e: e[mode])
        if not anchor:
            continue
        ca = {k: [e[k] for e in anchor] for k in ("kbps", "psnr_y", "psnr_yuv")}
        by_source[src] = {}
        for v in variants:
            if v.kind == "anchor":
                continue
            test = sorted((e for e in rows if e["variant"] == v.name), key=lambda e: e[mode])
            if not test:
                continue
            ct = {k: [e[k] for e in test] for k in ("kbps", "psnr_y", "psnr_yuv")}
            by_source[src][v.name] = _bd_for(ca, ct)
    average: dict = {}
    for v in variants:
        if v.kind == "anchor":
            continue
        per = [by_source[s][v.name] for s in by_source if v.name in by_source[s]]
        if not per:
            continue
        average[v.name] = {}
        for method in bd.METHODS:
            agg: dict = {}
            for key in ("bd_rate_pct", "bd_psnr_db", "bd_rate_pct_yuv", "bd_psnr_db_yuv"):
                vals = [x[method][key] for x in per]
                good = [x for x in vals if x is not None]
                agg[key] = float(np.mean(good)) if good and len(good) == len(sources) else None
            notes = sorted({part for x in per if x[method]["note"]
                            for part in x[method]["note"].split("; ")})
            if len(per) < len(sources) or any(x[method]["bd_rate_pct"] is None for x in per):
                notes.append(f"not computed for every source ({len(per)} of {len(sources)} have curves)")
            agg["sources"] = len(per)
            agg["note"] = "; ".join(notes) or None
            average[v.name][method] = agg
    return {"anchor": "decoded", "rate": "kbps", "distortion": "psnr_y (also psnr_yuv: *_yuv keys)",
            "methods": list(bd.METHODS), "implementation": bd.implementation(),
            "min_overlap": bd.MIN_OVERLAP, "average": average, "by_source": by_source}


def _averages(entries: list[dict], variants: list, sources: list[str], mode: str,
              codec: str) -> list[dict]:
    """Per ladder point and variant: metrics averaged over sources (only points all sources have)."""
    out = []
    ladder = sorted({e[mode] for e in entries})
    for value in ladder:
        for v in variants:
            rows = [e for e in entries if e[mode] == value and e["variant"] == v.name]
            if len(rows) != len(sources) or not rows:
                continue
            a = {"source": "average", "codec": codec, mode: value, "variant": v.name,
                 "sources": len(rows)}
            for k in ("kbps", "bpp", *METRICS, "vmaf", "delta_psnr_y", "delta_psnr_yuv",
                      "delta_ssim_y", "delta_vmaf"):
                vals = [r.get(k) for r in rows]
                a[k] = float(np.mean(vals)) if vals and all(x is not None for x in vals) else None
            a["frames"] = int(sum(r["frames"] for r in rows))
            out.append(a)
    return out


def build_document(points, opened, source_docs, variants, models_missing, baselines_missing,
              vmaf_ok, vmaf_note, s) -> dict:
    entries: list[dict] = []
    failures: list[dict] = []
    frame_counts: dict[str, int] = {}
    for p in points:
        for f in p["failures"]:
            failures.append({"source": p["source"], s.mode: _num(p["value"]), "variant": f["variant"],
                             "error": f["error"]})
        anchor = p["variants"].get("decoded")
        if anchor is None:
            continue
        frame_counts[p["source"]] = len(anchor["frames"])
        for v in variants:
            res = p["variants"].get(v.name)
            if res is not None:
                entries.append(_entry(p, s.codec, v.name, res, anchor))
    for name, why in models_missing.items():
        failures.append({"source": None, s.mode: None, "variant": name, "error": why})
    for d in source_docs:
        d["frames"] = frame_counts.get(d["label"])
    labels = [src.label for src in opened]
    settings = {
        "codec": s.codec, "mode": s.mode, "ladder": [_num(v) for v in s.ladder], "preset": s.preset,
        "bframes": s.bframes, "gop": s.gop, "frames": s.frames, "models": s.models,
        "baselines": s.baselines if s.baselines is not None else "default", "vmaf": s.vmaf,
        "jobs": s.jobs, "device": s.device,
        "size": f"{s.size[0]}x{s.size[1]}" if s.size else None,
        "rate": str(s.rate) if s.rate else None, "pix_fmt": s.pix_fmt,
        "psnr_cap_db": 100.0, "ssim": "Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03, on Y",
        "averaging": "per frame, then per sequence, then over sequences",
    }
    if s.codec in ("mpeg2video", "mpeg4"):
        settings["qp_mapping"] = "qscale = argmin |4 + 6*log2(2*qscale) - qp|, qscale 1..31"
    return {
        "tool": "redecode evaluate",
        "versions": _versions(),
        "settings": settings,
        "seeds": {"torch": SEED},
        "sources": source_docs,
        "variants": {v.name: {"kind": v.kind, **({"spec": v.spec} if v.kind == "model" else {}),
                              **({"filter": bl.BASELINES[v.spec]} if v.kind == "baseline" else {})}
                     for v in variants},
        "baselines": {"available": [v.name for v in variants if v.kind == "baseline"],
                      "unavailable": baselines_missing},
        "unavailable_models": models_missing,
        "vmaf": {"available": bool(vmaf_ok), "note": vmaf_note},
        "results": entries,
        "average": _averages(entries, variants, labels, s.mode, s.codec),
        "bd": _bd_section(entries, variants, labels, s.mode),
        "failures": failures,
    }


def _json_safe(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.generic):
        return _json_safe(x.item())
    return x


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_outputs(doc: dict, points: list[dict], out: Path, s) -> list[Path]:
    """results.json, frames.csv, summary.md, rd.png and frames.png in ``out``."""
    files = []
    path = out / "results.json"
    _atomic_write(path, json.dumps(_json_safe(doc), indent=2) + "\n")
    files.append(path)
    path = out / "frames.csv"
    _write_csv(path, points, doc["settings"]["codec"], s.mode, [*doc["variants"]])
    files.append(path)
    path = out / "summary.md"
    _atomic_write(path, summary_markdown(doc))
    files.append(path)
    try:
        from . import plots
    except ImportError as e:  # matplotlib missing
        log.warning("no plots: %s", e)
        return files
    rd = out / "rd.png"
    plots.rd_plot(doc, rd)
    files.append(rd)
    fr = out / "frames.png"
    if plots.frames_plot(points, doc, fr, s.plot_point):
        files.append(fr)
    return files


def _write_csv(path: Path, points: list[dict], codec: str, mode: str, order: list[str]) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for p in points:
            for name in order:
                res = p["variants"].get(name)
                if res is None:
                    continue
                for i, r in enumerate(res["frames"]):
                    qp = r.get("mean_qp")
                    w.writerow([
                        p["source"], codec, _num(p["value"]) if mode == "qp" else "",
                        _num(p["value"]) if mode == "crf" else "", name, i, r.get("type", ""),
                        f"{qp:.2f}" if qp is not None else "",
                        *(f"{r[k]:.4f}" for k in ("psnr_y", "psnr_u", "psnr_v", "psnr_yuv")),
                        f"{r['ssim_y']:.6f}", f"{r['vmaf']:.3f}" if r.get("vmaf") is not None else "",
                    ])
    os.replace(tmp, path)


def _f(v, fmt: str, dash: str = "–") -> str:
    return dash if v is None else format(v, fmt)


def summary_markdown(doc: dict) -> str:
    """A markdown report: the decode per point, then per variant ΔPSNR-Y / ΔSSIM-Y and BD figures."""
    st = doc["settings"]
    mode = st["mode"]
    avg = doc["average"]
    ladder = sorted({a[mode] for a in avg})
    names = [n for n, v in doc["variants"].items() if v["kind"] != "anchor"]
    sources = doc["sources"]
    frames = sorted({d["frames"] for d in sources if d["frames"]})
    lines = [
        f"# redecode evaluate: {st['codec']}, {mode.upper()} {' '.join(fmt_value(v) for v in st['ladder'])}",
        "",
        f"{len(sources)} source(s) ({', '.join(d['label'] for d in sources)}), "
        f"{'/'.join(map(str, frames)) or '?'} frames, preset {st['preset']}, {st['bframes']} B-frames. "
        "Metrics per frame, averaged per sequence, then over sequences; Δ = variant − decoded.",
        "",
    ]
    if not avg:
        lines += ["No ladder point was measured for every source.", ""]
    else:
        lines += [f"## Decoded (anchor)", "",
                  "| " + mode.upper() + " | kbps | bpp | PSNR-Y | PSNR-YUV | SSIM-Y | VMAF |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for a in avg:
            if a["variant"] == "decoded":
                lines.append(f"| {fmt_value(a[mode])} | {_f(a['kbps'], '.1f')} | {_f(a['bpp'], '.4f')} "
                             f"| {_f(a['psnr_y'], '.2f')} | {_f(a['psnr_yuv'], '.2f')} "
                             f"| {_f(a['ssim_y'], '.4f')} | {_f(a['vmaf'], '.2f')} |")
        lines.append("")
        if names:
            bdavg = doc["bd"]["average"]
            head = " | ".join(f"{mode.upper()} {fmt_value(v)}" for v in ladder)
            lines += ["## ΔPSNR-Y (dB) and BD figures against the decode", "",
                      f"| variant | {head} | BD-rate Y PCHIP | BD-rate Y Akima | BD-PSNR Y | BD-rate YUV |",
                      "|---|" + "---:|" * (len(ladder) + 4)]
            for n in names:
                cells = []
                for v in ladder:
                    a = next((x for x in avg if x[mode] == v and x["variant"] == n), None)
                    cells.append(_f(a and a["delta_psnr_y"], "+.3f"))
                b = bdavg.get(n, {})
                p, k = b.get("pchip", {}), b.get("akima", {})
                lines.append(f"| {n} | " + " | ".join(cells)
                             + f" | {_f(p.get('bd_rate_pct'), '+.2f')}% | {_f(k.get('bd_rate_pct'), '+.2f')}%"
                             + f" | {_f(p.get('bd_psnr_db'), '+.3f')} | {_f(p.get('bd_rate_pct_yuv'), '+.2f')}% |")
            lines += ["", "## ΔSSIM-Y", "", f"| variant | {head} |", "|---|" + "---:|" * len(ladder)]
            for n in names:
                cells = []
                for v in ladder:
                    a = next((x for x in avg if x[mode] == v and x["variant"] == n), None)
                    cells.append(_f(a and a["delta_ssim_y"], "+.4f"))
                lines.append(f"| {n} | " + " | ".join(cells) + " |")
            lines.append("")
            notes: dict[str, list[str]] = {}
            for n, b in bdavg.items():
                for m in b.values():
                    for part in (m.get("note") or "").split("; "):
                        if part and n not in notes.setdefault(part, []):
                            notes[part].append(n)
            if notes:
                lines += ["BD notes: " + "; ".join(
                    part if len(who) == len(bdavg) else f"{part} ({', '.join(who)})"
                    for part, who in notes.items()) + ".", ""]
    filters = {n: v["filter"] for n, v in doc["variants"].items() if v["kind"] == "baseline"}
    if filters:
        lines += ["Baselines (ffmpeg " + str(doc["versions"].get("ffmpeg")) + "): "
                  + ", ".join(f"`{f}`" for f in filters.values())
                  + (" (+ `qp=` from the stream's QP for H.264/HEVC)" if st["codec"] in ("libx264", "libx265") else ""), ""]
    if doc["baselines"]["unavailable"]:
        lines += ["Unavailable baselines: " + ", ".join(doc["baselines"]["unavailable"]), ""]
    if doc["unavailable_models"]:
        lines += ["Unavailable models: " + "; ".join(f"{k}: {v}" for k, v in doc["unavailable_models"].items()), ""]
    if doc["failures"]:
        lines += [f"{len(doc['failures'])} failure(s); see results.json.", ""]
    lines += ["BD figures: mean over sources of each source's BD against its decode "
              f"({doc['bd']['implementation']}); negative BD-rate = fewer bits for the same PSNR.", ""]
    return "\n".join(lines) + "\n"
