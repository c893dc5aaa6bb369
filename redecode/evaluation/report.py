"""The outputs of ``redecode evaluate``: the :class:`Report`, results.json, frames.csv, summary.md.

:func:`build_report` turns the measured ladder points into a :class:`Report` (one entry per
source x codec x ladder point x variant, averages over sources, BD figures against the decode,
versions and settings); :func:`to_json` is the results.json document made from it, and
:func:`write_outputs` writes that with the per-frame CSV, the markdown summary and the plots.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import platform
from dataclasses import asdict, replace
from pathlib import Path

import av
import numpy as np

from .. import __version__
from ..pipeline import ffmpeg_tool
from ..atomic import atomic_path, write_text_atomic
from . import baselines as bl
from . import bd
from .ladder import json_number
from .records import (METRICS, SEED, Average, BDAverage, BDFigures, Entry, Failure, Metrics,
                      PointResult, Report, Settings, SourceInfo, Variant)
from .summary import summary_markdown

log = logging.getLogger("redecode")

CSV_COLUMNS = ("source", "codec", "qp", "crf", "variant", "frame", "type", "mean_qp",
               "psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ssim_y", "vmaf")
_DELTAS = ("delta_psnr_y", "delta_psnr_yuv", "delta_ssim_y", "delta_vmaf")


def versions() -> dict[str, str | None]:
    """Versions of everything that shapes the numbers."""
    import torch

    try:
        ff = ffmpeg_tool.version()
    except ffmpeg_tool.FFmpegNotFound:
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


def _entry(p: PointResult, codec: str, name: str, anchor: Metrics) -> Entry:
    res = p.variants[name]
    m = res.metrics
    enc = p.encoded
    return Entry(
        source=p.source, codec=codec, mode=p.mode, value=json_number(p.value), variant=name,
        kbps=p.kbps, bpp=p.bpp, bits=enc.bits, metrics=m, frames=len(res.frames),
        delta_psnr_y=m.psnr_y - anchor.psnr_y, delta_psnr_yuv=m.psnr_yuv - anchor.psnr_yuv,
        delta_ssim_y=m.ssim_y - anchor.ssim_y,
        delta_vmaf=m.vmaf - anchor.vmaf if m.vmaf is not None and anchor.vmaf is not None else None,
        mean_qp=p.mean_qp, seconds=res.seconds, fps=res.fps, qscale=enc.qscale,
        qp_equivalent=enc.qp_equivalent, filter=res.filter)


def _curve(rows: list[Entry]) -> dict[str, list[float]]:
    rows = sorted(rows, key=lambda e: e.value)
    return {"kbps": [e.kbps for e in rows], "psnr_y": [e.metrics.psnr_y for e in rows],
            "psnr_yuv": [e.metrics.psnr_yuv for e in rows]}


def _bd_for(ca: dict, ct: dict) -> dict[str, BDFigures]:
    """BD figures of one test curve against the anchor, per interpolation method."""
    out = {}
    for method in bd.METHODS:
        r, p, ry, py = (f(ca["kbps"], ca[d], ct["kbps"], ct[d], method)
                        for d in ("psnr_y", "psnr_yuv") for f in (bd.bd_rate, bd.bd_psnr))
        notes = [part for n in (r.note, p.note) if n for part in n.split("; ")]
        notes += [part if part in notes else f"{part} (PSNR-YUV)"
                  for n in (ry.note, py.note) if n for part in n.split("; ")]
        out[method] = BDFigures(r.value, p.value, ry.value, py.value, r.overlap,
                                "; ".join(dict.fromkeys(notes)) or None)
    return out


def _bd(entries: list[Entry], variants: list[Variant], sources: list[str]):
    """(by source: {source: {variant: {method: BDFigures}}}, average: {variant: {method: ...}})."""
    by_source: dict[str, dict[str, dict[str, BDFigures]]] = {}
    tests = [v for v in variants if v.kind != "anchor"]
    for src in sources:
        rows = [e for e in entries if e.source == src]
        anchor = [e for e in rows if e.variant == "decoded"]
        if not anchor:
            continue
        by_source[src] = {v.name: _bd_for(_curve(anchor), _curve(test)) for v in tests
                          if (test := [e for e in rows if e.variant == v.name])}
    average: dict[str, dict[str, BDAverage]] = {}
    for v in tests:
        per = [by_source[s][v.name] for s in by_source if v.name in by_source[s]]
        if not per:
            continue
        average[v.name] = {}
        for method in bd.METHODS:
            agg = {}
            for key in ("bd_rate_pct", "bd_psnr_db", "bd_rate_pct_yuv", "bd_psnr_db_yuv"):
                good = [x for x in (getattr(f[method], key) for f in per) if x is not None]
                agg[key] = float(np.mean(good)) if good and len(good) == len(sources) else None
            notes = sorted({part for f in per if f[method].note for part in f[method].note.split("; ")})
            if len(per) < len(sources) or any(f[method].bd_rate_pct is None for f in per):
                notes.append(f"not computed for every source ({len(per)} of {len(sources)} have curves)")
            average[v.name][method] = BDAverage(**agg, sources=len(per), note="; ".join(notes) or None)
    return by_source, average


def _mean(vals: list) -> float | None:
    return float(np.mean(vals)) if vals and all(x is not None for x in vals) else None


def _averages(entries: list[Entry], variants: list[Variant], sources: list[str],
              codec: str) -> list[Average]:
    """Per ladder point and variant: metrics averaged over sources (only points all sources have)."""
    out = []
    for value in sorted({e.value for e in entries}):
        for v in variants:
            rows = [e for e in entries if e.value == value and e.variant == v.name]
            if len(rows) != len(sources) or not rows:
                continue
            metrics = Metrics(**{k: _mean([getattr(r.metrics, k) for r in rows])
                                 for k in (*METRICS, "vmaf")})
            out.append(Average(
                codec=codec, mode=rows[0].mode, value=value, variant=v.name, sources=len(rows),
                kbps=_mean([r.kbps for r in rows]), bpp=_mean([r.bpp for r in rows]),
                metrics=metrics, **{k: _mean([getattr(r, k) for r in rows]) for k in _DELTAS},
                frames=int(sum(r.frames for r in rows))))
    return out


def build_report(points: list[PointResult], sources: list[SourceInfo], variants: list[Variant],
                 models_missing: dict[str, str], baselines_missing: dict[str, str],
                 vmaf_ok: bool, vmaf_note: str | None, s: Settings) -> Report:
    """The :class:`Report` of a run from its measured points."""
    entries: list[Entry] = []
    failures: list[Failure] = []
    frame_counts: dict[str, int] = {}
    for p in points:
        failures += [replace(f, source=p.source, value=p.value) for f in p.failures]
        anchor = p.variants.get("decoded")
        if anchor is None:
            continue
        frame_counts[p.source] = len(anchor.frames)
        entries += [_entry(p, s.codec, v.name, anchor.metrics) for v in variants
                    if v.name in p.variants]
    failures += [Failure(name, why) for name, why in models_missing.items()]
    sources = [replace(d, frames=frame_counts.get(d.label)) for d in sources]
    labels = [d.label for d in sources]
    by_source, average = _bd(entries, variants, labels)
    return Report(
        settings=s, versions=versions(), sources=sources, variants=variants,
        baselines_missing=baselines_missing, models_missing=models_missing,
        vmaf_available=bool(vmaf_ok), vmaf_note=vmaf_note, points=points, results=entries,
        average=_averages(entries, variants, labels, s.codec), bd_by_source=by_source,
        bd_average=average, failures=failures)


# -- results.json ---------------------------------------------------------------------------------

def _settings_json(s: Settings) -> dict:
    out = {
        "codec": s.codec, "mode": s.mode, "ladder": [json_number(v) for v in s.ladder],
        "preset": s.preset, "bframes": s.bframes, "gop": s.gop, "frames": s.frames,
        "models": s.models, "baselines": s.baselines if s.baselines is not None else "default",
        "vmaf": s.vmaf, "jobs": s.jobs, "device": s.device,
        "size": f"{s.size[0]}x{s.size[1]}" if s.size else None,
        "rate": str(s.rate) if s.rate else None, "pix_fmt": s.pix_fmt,
        "psnr_cap_db": 100.0, "ssim": "Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03, on Y",
        "averaging": "per frame, then per sequence, then over sequences",
    }
    if s.codec in ("mpeg2video", "mpeg4"):
        out["qp_mapping"] = "qscale = argmin |4 + 6*log2(2*qscale) - qp|, qscale 1..31"
    return out


def entry_json(e: Entry) -> dict:
    """A results.json ``results`` row: the ladder value under the key ``qp`` or ``crf``."""
    m = asdict(e.metrics)
    out = {"source": e.source, "codec": e.codec, e.mode: e.value, "variant": e.variant,
           "kbps": e.kbps, "bpp": e.bpp, "bits": e.bits, **m, "frames": e.frames,
           **{k: getattr(e, k) for k in _DELTAS}, "mean_qp": e.mean_qp}
    if e.qscale is not None:
        out |= {"qscale": e.qscale, "qp_equivalent": e.qp_equivalent}
    if e.filter is not None:
        out["filter"] = e.filter
    return out | {"seconds": e.seconds, "fps": e.fps}


def average_json(a: Average) -> dict:
    return {"source": "average", "codec": a.codec, a.mode: a.value, "variant": a.variant,
            "sources": a.sources, "kbps": a.kbps, "bpp": a.bpp, **asdict(a.metrics),
            **{k: getattr(a, k) for k in _DELTAS}, "frames": a.frames}


def _failure_json(f: Failure, mode: str) -> dict:
    value = json_number(f.value) if f.value is not None else None
    return {"source": f.source, mode: value, "variant": f.variant, "error": f.error}


def _variant_json(v: Variant) -> dict:
    out: dict = {"kind": v.kind}
    if v.kind == "model":
        out["spec"] = v.spec
    elif v.kind == "baseline":
        out["filter"] = bl.BASELINES[v.spec]
    return out


def to_json(r: Report) -> dict:
    """The results.json document (its structure is the one of earlier releases: no version key)."""
    s = r.settings
    doc = {
        "tool": "redecode evaluate",
        "versions": r.versions,
        "settings": _settings_json(s),
        "seeds": {"torch": SEED},
        "sources": [asdict(d) for d in r.sources],
        "variants": {v.name: _variant_json(v) for v in r.variants},
        "baselines": {"available": [v.name for v in r.variants if v.kind == "baseline"],
                      "unavailable": r.baselines_missing},
        "unavailable_models": r.models_missing,
        "vmaf": {"available": r.vmaf_available, "note": r.vmaf_note},
        "results": [entry_json(e) for e in r.results],
        "average": [average_json(a) for a in r.average],
        "bd": {"anchor": "decoded", "rate": "kbps", "distortion": "psnr_y (also psnr_yuv: *_yuv keys)",
               "methods": list(bd.METHODS), "implementation": bd.implementation(),
               "min_overlap": bd.MIN_OVERLAP,
               "average": {n: {m: asdict(f) for m, f in per.items()} for n, per in r.bd_average.items()},
               "by_source": {src: {n: {m: asdict(f) for m, f in per.items()} for n, per in v.items()}
                             for src, v in r.bd_by_source.items()}},
        "failures": [_failure_json(f, s.mode) for f in r.failures],
    }
    if r.seconds is not None:
        doc["seconds"] = r.seconds
    return _json_safe(doc)


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


# -- files ----------------------------------------------------------------------------------------

def write_outputs(r: Report, out: Path) -> list[Path]:
    """results.json, frames.csv, summary.md, rd.png and frames.png in ``out``."""
    files = [write_text_atomic(out / "results.json", json.dumps(to_json(r), indent=2) + "\n"),
             _write_csv(out / "frames.csv", r),
             write_text_atomic(out / "summary.md", summary_markdown(r))]
    try:
        from . import plots
    except ImportError as e:  # matplotlib missing
        log.warning("no plots: %s", e)
        return files
    files.append(plots.rd_plot(r, out / "rd.png"))
    fr = out / "frames.png"
    if plots.frames_plot(r, fr, r.settings.plot_point):
        files.append(fr)
    return files


def _write_csv(path: Path, r: Report) -> Path:
    mode, codec = r.settings.mode, r.settings.codec
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for p in r.points:
            value = json_number(p.value)
            for v in r.variants:
                res = p.variants.get(v.name)
                for i, row in enumerate(res.frames if res else ()):
                    w.writerow([
                        p.source, codec, value if mode == "qp" else "", value if mode == "crf" else "",
                        v.name, i, row.type or "",
                        f"{row.mean_qp:.2f}" if row.mean_qp is not None else "",
                        *(f"{getattr(row, k):.4f}" for k in ("psnr_y", "psnr_u", "psnr_v", "psnr_yuv")),
                        f"{row.ssim_y:.6f}", f"{row.vmaf:.3f}" if row.vmaf is not None else "",
                    ])
    return path
