"""One source x ladder point: encode, decode, restore with each variant, measure.

:func:`run_point` runs in the calling process or in a worker process of the run (``--jobs``).
Models are built by an :class:`Engines` object that belongs to the run (serial runs) or to the
worker process, which lives only as long as the run's pool.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..decoders import open_video
from ..decoders.planes import format_bits
from . import baselines as bl
from .ladder import encode_point
from .metrics import FrameInfo, measure, one_line
from .records import SEED, Failure, PointJob, PointResult, Variant, VariantResult

log = logging.getLogger("redecode")


class Engines:
    """Restoration engines built on first use, one per (model, device, strength).

    A checkpoint file is known by its resolved path, modification time and size, so a file
    rewritten while a run goes on is loaded again instead of served stale.
    """

    def __init__(self) -> None:
        self._built: dict[tuple, object] = {}

    @staticmethod
    def _identity(spec: str) -> tuple:
        try:
            st = os.stat(spec)
        except (OSError, ValueError):
            return (spec,)  # a model name (none, small, base, classic) or a missing file
        return (os.path.realpath(spec), st.st_mtime_ns, st.st_size)

    def get(self, spec: str, device: str, strength: float = 1.0):
        """The engine for a model spec (``make_engine``'s errors pass through)."""
        from ..pipeline.restore import make_engine

        key = (self._identity(spec), device, strength)
        if key not in self._built:
            self._built[key] = make_engine(spec, device, strength=strength)
        return self._built[key]


class _LogCollector(logging.Filter):
    """Holds back the redecode logger's warnings during a point; they are reported once later."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            msg = record.getMessage()
            if msg not in self.messages:
                self.messages.append(msg)
            return False
        return True


def run_point(job: PointJob, engines: Engines) -> PointResult:
    """Encode, decode, restore and measure one source x ladder point.

    A failing variant is recorded and the others still run; a failure to encode or decode
    fails the whole point.
    """
    collector = _LogCollector()
    log.addFilter(collector)
    src = job.source
    out = PointResult(source=src.label, mode=job.mode, value=job.value,
                      warnings=collector.messages)
    try:
        try:
            enc = encode_point(job)
        except Exception as e:  # noqa: BLE001 - reported, the other points go on
            out.failures.append(Failure(None, f"encoding failed: {one_line(e)}"))
            return out
        seconds = enc.frames / float(src.rate)
        out.encoded = enc
        out.kbps = enc.bits / seconds / 1000.0
        out.bpp = enc.bits / (enc.frames * src.width * src.height)
        info: list[FrameInfo] = []
        try:
            anchor, codec_name, mean_qp_ip = _measure_decoded(job, enc.path, info)
        except Exception as e:  # noqa: BLE001
            out.failures.append(Failure("decoded", f"decoding failed: {one_line(e)}"))
            return out
        qps = [f.mean_qp for f in info if f.mean_qp is not None]
        out.codec_name = codec_name
        out.mean_qp = float(np.mean(qps)) if qps else None
        out.variants["decoded"] = anchor
        for var in job.variants:
            if var.kind == "anchor":
                continue
            try:
                if var.kind == "model":
                    res = _measure_model(job, enc.path, var, info, engines)
                else:
                    res = _measure_baseline(job, enc.path, var, info, codec_name, mean_qp_ip)
                out.variants[var.name] = res
            except Exception as e:  # noqa: BLE001
                out.failures.append(Failure(var.name, one_line(e)))
        return out
    finally:
        log.removeFilter(collector)


def _measure_decoded(job: PointJob, path: Path, info: list[FrameInfo]
                     ) -> tuple[VariantResult, str, float | None]:
    """The plain decode measured; also (codec name, mean QP of the I/P frames)."""
    with open_video(path, metadata=True) as video:
        codec_name = video.info.codec

        def frames():
            for f in video:
                info.append(FrameInfo(f.pict_type, float(f.qp.mean()) if f.qp is not None else None))
                yield f.planes

        res = measure(job, frames(), "decoded", video.info.bit_depth, info)
    ip = [f.mean_qp for f in info if f.mean_qp is not None and f.type != "B"]
    mean_qp_ip = float(np.mean(ip)) if ip else (
        job.value if job.mode == "qp" or job.settings.codec == "libx265" else None)
    return res, codec_name, mean_qp_ip


def _measure_model(job: PointJob, path: Path, var: Variant, info: list[FrameInfo],
                   engines: Engines) -> VariantResult:
    from ..pipeline.scheduler import restore_frames

    engine = engines.get(var.spec, job.settings.device, job.settings.strength)
    with open_video(path, metadata=True) as video:
        restored = (r.planes for r in restore_frames(video, engine))
        return measure(job, restored, f"model {var.name}", video.info.bit_depth, info)


def _measure_baseline(job: PointJob, path: Path, var: Variant, info: list[FrameInfo],
                      codec_name: str, mean_qp_ip: float | None) -> VariantResult:
    filt = bl.baseline_filter(var.spec, codec_name, mean_qp_ip)
    run = bl.FilterRun(path, filt, job.source.width, job.source.height, job.ref_format)
    res = measure(job, run.frames(), f"baseline {var.name}", format_bits(job.ref_format), info)
    return VariantResult(res.metrics, res.frames, res.seconds, res.fps, filter=filt)


# -- worker processes ---------------------------------------------------------------------------

_WORKER_ENGINES: Engines | None = None  # the engines of this worker process (set by worker_init)


def worker_init(threads: int) -> None:
    """Set up a worker process of a run's pool (``spawn``: a fresh interpreter per run)."""
    global _WORKER_ENGINES
    import torch

    torch.set_num_threads(max(1, threads))
    torch.manual_seed(SEED)
    logging.getLogger("redecode").setLevel(logging.INFO)
    _WORKER_ENGINES = Engines()


def run_point_in_worker(job: PointJob) -> PointResult:
    """:func:`run_point` with the worker process's engines."""
    if _WORKER_ENGINES is None:
        raise RuntimeError("run_point_in_worker outside a worker set up by worker_init")
    return run_point(job, _WORKER_ENGINES)
