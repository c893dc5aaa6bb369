"""``manifest.json`` of a dataset folder: per split, what the clips hold (codecs, quantisers,
presets, frame types, sources), merged with the splits an earlier build wrote."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np

from ..atomic import write_text_atomic
from .clips import FORMAT
from .sources import Source

__all__ = ["summarize", "write_manifest"]


def _hist(values) -> dict[str, int]:
    c = collections.Counter(values)
    return {str(k): c[k] for k in sorted(c)}


def summarize(records: list[dict], settings: dict, seed: int) -> dict:
    """One split's summary from its build records ({"meta": ..., "bytes": ...} or {"error": ...})."""
    metas = [r["meta"] for r in records if "meta" in r]
    enc = [m["encoder"] for m in metas]
    types = collections.Counter("".join(m["types"] for m in metas))
    finite = [m["psnr_y"] for m in metas if np.isfinite(m["psnr_y"])]  # a lossless decode has PSNR inf
    return {
        "clips": len(metas), "frames": sum(m["frames"] for m in metas),
        "bytes": sum(r["bytes"] for r in records if "meta" in r), "seed": seed, "settings": settings,
        "codecs": _hist(e["codec"] for e in enc),
        "qp_hist": _hist(e["qp"] for e in enc if e["rc"] == "qp"),
        "crf_hist": _hist(e["crf"] for e in enc if e["rc"] == "crf"),
        "qscale_hist": _hist(e["qscale"] for e in enc if e["rc"] == "qscale"),
        "mean_qp_hist": _hist(round(m["mean_qp"]) for m in metas),
        "presets": _hist(e.get("preset", e.get("mbd")) for e in enc), "bf": _hist(e["bf"] for e in enc),
        "frame_types": {k: types[k] for k in "IPB"},
        "psnr_y_mean": round(float(np.mean(finite)), 3) if finite else None,  # lossless clips left out
        "lossless_clips": len(metas) - len(finite),
        "sources": _hist(m["source"] for m in metas), "kinds": _hist(m["source_kind"] for m in metas),
        "failed": [r["error"] for r in records if "error" in r],
    }


def write_manifest(out: Path, built: dict[str, dict], sources: list[Source], notes: list[str]) -> dict:
    """Write ``out/manifest.json`` with the ``built`` splits (and an earlier build's others)."""
    path = out / "manifest.json"
    old: dict = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = {}
    splits = dict(old.get("splits", {})) if old.get("format") == FORMAT else {}
    splits.update(built)
    manifest = {
        "format": FORMAT, "tool": "redecode dataset",
        "splits": {k: splits[k] for k in ("train", "val", "val_ladder") if k in splits},
        "total_bytes": sum(s["bytes"] for s in splits.values()),
        "sources": {sp: [s.record() for s in sources if s.split == sp] for sp in ("train", "val")},
        "notes": notes,
    }
    write_text_atomic(path, json.dumps(manifest, indent=1) + "\n")
    return manifest
