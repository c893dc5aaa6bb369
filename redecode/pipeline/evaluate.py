"""``redecode evaluate``: rate-distortion runs over encode ladders, restored by models and baselines.

For every source x ladder point (QP or CRF): encode with PyAV (cached by a hash of the source
content and the settings), measure the real bitstream size, decode with bitstream metadata, and
measure against the source (DESIGN.md §4: per frame, then per sequence, then over sequences):

* ``decoded``: the plain decode (the anchor);
* each model: the decoded frames restored by the streaming core (``restore_frames``), never
  re-encoded;
* each classical baseline (FFmpeg's deblock, spp, uspp, pp7, fspp; see ``baselines.py``).

Then BD-rate / BD-PSNR against the decode (``bd.py``) and the outputs in the output folder:
``results.json``, ``frames.csv``, ``rd.png``, ``frames.png`` and ``summary.md``.

Ladder points run in parallel processes (``jobs``); each builds its own engines.

MPEG-2 / MPEG-4 have no QP: ``qp`` is mapped to the quantiser scale whose step matches it
(:func:`redecode.pipeline.baselines.mpeg_qscale`: QP = 4 + 6*log2(2*qscale), qscale 1..31), and
the encoder is held at that scale (qmin = qmax).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from . import baselines as bl
from .metrics import frame_metrics
from .report import METRICS, SEED, build_document, fmt_value, write_outputs
from .sources import Source, open_source, planes_to_frame, reference_format, write_y4m

log = logging.getLogger("redecode")

CODECS = ("libx264", "libx265", "mpeg2video", "mpeg4")
DEFAULT_QPS = (22, 27, 32, 37, 42)


class EvaluateError(Exception):
    """The run cannot start as asked; the message is one line meant for users."""


@dataclass
class Settings:
    """What ``redecode evaluate`` was asked to do."""

    codec: str = "libx264"
    qps: list[float] | None = None  # default: DEFAULT_QPS (when crfs is None)
    crfs: list[float] | None = None
    preset: str = "medium"
    bframes: int = 3
    gop: int | None = None
    frames: int | None = None
    models: list[str] = field(default_factory=lambda: ["auto"])
    baselines: list[str] | None = None  # None: DEFAULT_BASELINES that the ffmpeg program has
    vmaf: bool = True
    jobs: int = 1
    device: str = "auto"
    strength: float = 1.0
    cache: str | None = None  # default: <output>/cache
    size: tuple[int, int] | None = None
    rate: Fraction | None = None
    pix_fmt: str | None = None
    plot_point: float | None = None
    progress: bool | None = None

    @property
    def mode(self) -> str:
        return "crf" if self.crfs else "qp"

    @property
    def ladder(self) -> list[float]:
        return list(self.crfs) if self.crfs else list(self.qps or DEFAULT_QPS)


@dataclass
class Variant:
    """A way to turn a decoded stream into frames: the anchor, a model or a baseline."""

    name: str
    kind: str  # "anchor", "model" or "baseline"
    spec: str | None = None  # model spec, or baseline name


@dataclass
class PointJob:
    """One source x ladder point, with everything a worker process needs."""

    source: Source
    digest: str
    ref_format: str
    mode: str
    value: float
    settings: Settings
    variants: list[Variant]
    cache: str
    reference_y4m: str | None


@dataclass
class EvaluateResult:
    """What a run produced: the output folder, the document written to results.json, failures."""

    output: Path
    document: dict
    failed: int
    unavailable: dict[str, str]
    seconds: float
    files: list[Path] = field(default_factory=list)


# -- ladder and encoding ------------------------------------------------------------------------

def encoder_options(codec: str, mode: str, value: float, preset: str, bframes: int,
                    gop: int | None) -> tuple[dict[str, str], dict]:
    """PyAV encoder options for a ladder point, and what they mean (for the results)."""
    v = fmt_value(value)
    info: dict = {}
    if codec == "libx264":
        opts = {"preset": preset, "bf": str(bframes), mode: v}
        if gop:
            opts["g"] = str(gop)
    elif codec == "libx265":
        params = [f"{mode}={v}", f"bframes={bframes}", "log-level=error"]
        if gop:
            params.append(f"keyint={gop}")
        opts = {"preset": preset, "x265-params": ":".join(params)}
    else:
        q = bl.mpeg_qscale(value)
        opts = {"qmin": str(q), "qmax": str(q), "bf": str(bframes)}
        if gop:
            opts["g"] = str(gop)
        info = {"qscale": q, "qp_equivalent": round(4 + 6 * math.log2(2 * q), 2)}
    return opts, info


MPEG2_RATES = tuple(Fraction(r) for r in ("24000/1001", "24", "25", "30000/1001", "30", "50",
                                           "60000/1001", "60"))


def encode_rate(codec: str, rate: Fraction) -> Fraction:
    """The frame rate the stream is encoded at: the source's, except where the codec cannot.

    MPEG-2 allows only its standard rates; other sources are encoded at 25 fps (with a fixed
    quantiser the bits do not depend on it, and kbps is always computed at the source's rate).
    """
    if codec == "mpeg2video" and rate not in MPEG2_RATES:
        return Fraction(25)
    return rate


def _cache_key(job: PointJob, opts: dict[str, str]) -> str:
    s = job.settings
    key = {
        "source": job.digest, "codec": s.codec, "mode": job.mode, "value": job.value,
        "options": opts, "frames": s.frames, "pix_fmt": job.ref_format,
        "rate": str(encode_rate(s.codec, job.source.rate)),
        "av": av.__version__, "libav": _libav_version(),
    }
    return hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=8).hexdigest()


def _libav_version() -> str:
    try:
        return ".".join(map(str, av.library_versions["libavcodec"]))
    except (AttributeError, KeyError, TypeError):
        return "unknown"


def encode_point(job: PointJob) -> tuple[Path, dict]:
    """Encode (or find in the cache) one ladder point; returns (file, {bits, frames, ...})."""
    s = job.settings
    opts, info = encoder_options(s.codec, job.mode, job.value, s.preset, s.bframes, s.gop)
    key = _cache_key(job, opts)
    cache = Path(job.cache)
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"{_safe(job.source.label)}-{s.codec}-{job.mode}{fmt_value(job.value)}-{key}"
    path, meta_path = cache / f"{stem}.mkv", cache / f"{stem}.json"
    if path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            return path, meta | {"cached": True}
        except (OSError, ValueError):
            pass
    tmp = cache / f".{stem}.{os.getpid()}.partial.mkv"
    started = time.perf_counter()
    bits = frames = 0
    rate = encode_rate(s.codec, job.source.rate)
    try:
        with av.open(str(tmp), "w", format="matroska") as out:
            stream = out.add_stream(s.codec, rate=rate)
            stream.width, stream.height = job.source.width, job.source.height
            stream.pix_fmt = job.ref_format
            stream.time_base = Fraction(1) / rate
            stream.options = opts
            for planes in job.source.frames(job.ref_format, s.frames):
                frame = planes_to_frame(planes, job.ref_format)
                frame.pts = frames
                frame.time_base = Fraction(1) / rate
                for packet in stream.encode(frame):
                    bits += packet.size * 8
                    out.mux(packet)
                frames += 1
            for packet in stream.encode(None):
                bits += packet.size * 8
                out.mux(packet)
            extradata = stream.codec_context.extradata
            bits += 8 * len(extradata or b"")
        if frames == 0:
            raise RuntimeError(f"{job.source.path}: no frames")
        meta = {"bits": bits, "frames": frames, "options": opts, "encode_seconds":
                round(time.perf_counter() - started, 3), **info}
        tmp_meta = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.partial")
        tmp_meta.write_text(json.dumps(meta, indent=1))
        os.replace(tmp, path)
        os.replace(tmp_meta, meta_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path, meta | {"cached": False}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60] or "source"


# -- measuring ----------------------------------------------------------------------------------

_ENGINES: dict[tuple[str, str, float], object] = {}


def get_engine(spec: str, device: str, strength: float = 1.0):
    """A restoration engine for a model spec, built once per process."""
    from .restore import make_engine

    key = (spec, device, strength)
    if key not in _ENGINES:
        _ENGINES[key] = make_engine(spec, device, strength=strength)
    return _ENGINES[key]


def _paired(reference: Iterable, distorted: Iterable, what: str) -> Iterator[tuple]:
    ref_it, dist_it = iter(reference), iter(distorted)
    n = 0
    for r in ref_it:
        try:
            d = next(dist_it)
        except StopIteration:
            raise RuntimeError(f"{what}: {n} frames, but the source has more") from None
        yield r, d
        n += 1
    for _ in dist_it:
        raise RuntimeError(f"{what}: more frames than the source's {n}")


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


def run_point(job: PointJob) -> dict:
    """Encode, decode, restore and measure one source x ladder point (runs in a worker).

    Returns a plain dict (picklable): the point's bitrate, the per-variant averages and frames,
    failures and warnings. A failing variant is recorded and the others still run; a failure to
    encode or decode fails the whole point.
    """
    collector = _LogCollector()
    log.addFilter(collector)
    s = job.settings
    src = job.source
    out: dict = {"source": src.label, "mode": job.mode, "value": job.value, "variants": {},
                 "failures": [], "warnings": collector.messages}
    try:
        try:
            path, meta = encode_point(job)
        except Exception as e:  # noqa: BLE001 - reported, the other points go on
            out["failures"].append({"variant": None, "error": f"encoding failed: {_one_line(e)}"})
            return out
        frames = meta["frames"]
        seconds = frames / float(src.rate)
        out.update({
            "bits": meta["bits"], "frames": frames,
            "kbps": meta["bits"] / seconds / 1000.0,
            "bpp": meta["bits"] / (frames * src.width * src.height),
            "cached": meta["cached"], "encoded": str(path),
            **{k: meta[k] for k in ("qscale", "qp_equivalent") if k in meta},
        })
        info_frames: list[dict] = []
        try:
            anchor = _measure_decoded(job, path, info_frames)
        except Exception as e:  # noqa: BLE001
            out["failures"].append({"variant": "decoded", "error": f"decoding failed: {_one_line(e)}"})
            return out
        out["codec_name"] = anchor.pop("codec_name")
        out["mean_qp"] = anchor["mean_qp"]
        out["variants"]["decoded"] = anchor
        for var in job.variants:
            if var.kind == "anchor":
                continue
            try:
                if var.kind == "model":
                    res = _measure_model(job, path, var, info_frames)
                else:
                    res = _measure_baseline(job, path, var, info_frames, out["codec_name"],
                                            anchor["mean_qp_ip"])
                out["variants"][var.name] = res
            except Exception as e:  # noqa: BLE001
                out["failures"].append({"variant": var.name, "error": _one_line(e)})
        return out
    finally:
        log.removeFilter(collector)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:500]


def _vmaf(job: PointJob):
    if not job.reference_y4m:
        return None
    return bl.Vmaf(job.reference_y4m, job.source.width, job.source.height, job.source.rate,
                   job.ref_format)


def _measure(job: PointJob, distorted: Iterable, what: str, bit_depth: int,
             info_frames: list[dict] | None = None) -> dict:
    """Per-frame metrics of a stream of planes against the source, and their averages."""
    vm = _vmaf(job)
    rows: list[dict] = []
    started = time.perf_counter()
    try:
        ref = job.source.frames(job.ref_format, job.settings.frames)
        for i, (r, d) in enumerate(_paired(ref, distorted, what)):
            m = frame_metrics(r, d, bit_depth)
            if vm is not None:
                vm.feed(d)
            if info_frames is not None and i < len(info_frames):
                m = {"type": info_frames[i]["type"], "mean_qp": info_frames[i]["mean_qp"]} | m
            rows.append(m)
        seconds = time.perf_counter() - started
        vmaf_scores = None
        if vm is not None:
            try:
                vmaf_scores = vm.finish()
            except (RuntimeError, OSError, ValueError, KeyError) as e:
                log.warning("VMAF failed for %s: %s", what, _one_line(e))
            vm = None
    finally:
        if vm is not None:
            vm.close()
    if vmaf_scores is not None and len(vmaf_scores) == len(rows):
        for row, v in zip(rows, vmaf_scores):
            row["vmaf"] = v
    else:
        for row in rows:
            row["vmaf"] = None
    avg = {k: float(np.mean([r[k] for r in rows])) for k in METRICS}
    avg["vmaf"] = float(np.mean([r["vmaf"] for r in rows])) if rows and rows[0]["vmaf"] is not None else None
    return {"metrics": avg, "frames": rows, "seconds": round(seconds, 3),
            "fps": round(len(rows) / seconds, 2) if seconds > 0 else None}


def _measure_decoded(job: PointJob, path: Path, info_frames: list[dict]) -> dict:
    from ..decoders import open_video

    with open_video(path, metadata=True) as video:
        codec_name = video.info.codec
        bit_depth = video.info.bit_depth

        def frames():
            for f in video:
                qp = float(f.qp.mean()) if f.qp is not None else None
                info_frames.append({"type": f.pict_type, "mean_qp": qp})
                yield f.planes

        res = _measure(job, frames(), "decoded", bit_depth, None)
    for row, info in zip(res["frames"], info_frames):
        row["type"], row["mean_qp"] = info["type"], info["mean_qp"]
    qps = [f["mean_qp"] for f in info_frames if f["mean_qp"] is not None]
    ip = [f["mean_qp"] for f in info_frames if f["mean_qp"] is not None and f["type"] != "B"]
    res["mean_qp"] = float(np.mean(qps)) if qps else None
    res["mean_qp_ip"] = float(np.mean(ip)) if ip else (job.value if job.mode == "qp" or
                                                        job.settings.codec == "libx265" else None)
    res["codec_name"] = codec_name
    res["bit_depth"] = bit_depth
    return res


def _measure_model(job: PointJob, path: Path, var: Variant, info_frames: list[dict]) -> dict:
    from ..decoders import open_video
    from .scheduler import restore_frames

    engine = get_engine(var.spec, job.settings.device, job.settings.strength)
    with open_video(path, metadata=True) as video:
        restored = (r.planes for r in restore_frames(video, engine))
        return _measure(job, restored, f"model {var.name}", video.info.bit_depth, info_frames)


def _measure_baseline(job: PointJob, path: Path, var: Variant, info_frames: list[dict],
                      codec_name: str, mean_qp_ip: float | None) -> dict:
    filt = bl.baseline_filter(var.spec, codec_name, mean_qp_ip)
    run = bl.FilterRun(path, filt, job.source.width, job.source.height, job.ref_format)
    bit_depth = 10 if job.ref_format.endswith("10le") else 8
    res = _measure(job, run.frames(), f"baseline {var.name}", bit_depth, info_frames)
    res["filter"] = filt
    return res


def _worker_init(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))
    torch.manual_seed(SEED)
    logging.getLogger("redecode").setLevel(logging.INFO)


# -- the run ------------------------------------------------------------------------------------

def _variant_names(models: list[str], device: str) -> list[Variant]:
    out: list[Variant] = []
    seen: set[str] = {"decoded"}
    for spec in models:
        if spec == "auto":
            from .engine import pick_device

            try:
                dev = pick_device(device)
            except ValueError as e:
                raise EvaluateError(str(e)) from None
            from ..models import ModelError, auto_model

            try:
                spec = auto_model(dev.type == "cuda")
            except ModelError as e:
                raise EvaluateError(str(e)) from None
        name = spec if spec in ("none", "small", "base", "classic") else Path(spec).stem or spec
        base, k = name, 2
        while name in seen or name in bl.BASELINES:
            name = f"{base}-{k}"
            k += 1
        seen.add(name)
        out.append(Variant(name, "model", spec))
    return out


def _check_settings(s: Settings) -> None:
    if not 0.0 <= s.strength <= 1.0:
        raise EvaluateError(f"--strength {s.strength:g}: must be between 0 and 1")
    if s.codec not in CODECS:
        raise EvaluateError(f"--codec {s.codec}: unknown; use one of {', '.join(CODECS)}")
    if s.crfs and s.qps:
        raise EvaluateError("give --qp or --crf, not both")
    if s.crfs and s.codec not in ("libx264", "libx265"):
        raise EvaluateError(f"--crf works with libx264 and libx265; {s.codec} takes --qp "
                            "(mapped to a quantiser scale)")
    ladder = s.ladder
    if not ladder:
        raise EvaluateError("the ladder is empty: give at least one --qp or --crf value")
    if len(set(ladder)) != len(ladder):
        raise EvaluateError(f"--{s.mode} values repeat: {' '.join(map(fmt_value, ladder))}")
    for v in ladder:
        if not 0 <= v <= 51 or (s.mode == "qp" and not float(v).is_integer()):
            raise EvaluateError(f"--{s.mode} {fmt_value(v)}: must be "
                                + ("an integer 0..51" if s.mode == "qp" else "0..51"))
    if s.frames is not None and s.frames < 1:
        raise EvaluateError("--frames must be at least 1")
    if s.bframes < 0 or s.bframes > 16:
        raise EvaluateError("--bframes must be 0..16")
    if s.gop is not None and s.gop < 1:
        raise EvaluateError("--gop must be at least 1")
    if s.jobs < 1:
        raise EvaluateError("--jobs must be at least 1")


def _pick_baselines(s: Settings) -> tuple[list[Variant], dict[str, str]]:
    requested = list(bl.DEFAULT_BASELINES) if s.baselines is None else [
        b for b in s.baselines if b != "none"]
    for b in requested:
        if b not in bl.BASELINES:
            raise EvaluateError(f"--baselines {b}: unknown; known: {', '.join(bl.BASELINES)} (or none)")
    ok, missing = bl.availability(requested)
    if s.baselines is not None and missing:
        name, why = next(iter(missing.items()))
        raise EvaluateError(f"baseline {name} is unavailable: {why}")
    return [Variant(b, "baseline", b) for b in ok], missing


def _check_models(variants: list[Variant], device: str, strength: float = 1.0) -> tuple[
        list[Variant], dict[str, str]]:
    """Load each model once here, so an unavailable one is reported once, not per point."""
    from .restore import RestoreError

    ok, bad = [], {}
    for v in variants:
        try:
            get_engine(v.spec, device, strength)
        except RestoreError as e:
            bad[v.name] = str(e)
            continue
        ok.append(v)
    return ok, bad


def run_evaluation(sources: list[str], output: str | os.PathLike, settings: Settings) -> EvaluateResult:
    """Run a whole evaluation and write its outputs (see the module docstring).

    Raises:
        EvaluateError, SourceError: one-line messages for problems the user can fix.
    """
    started = time.perf_counter()
    s = settings
    _check_settings(s)
    if not sources:
        raise EvaluateError("no source given")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise EvaluateError(f"{out}: exists and is not a folder")
    opened: list[Source] = []
    labels: set[str] = set()
    for spec in sources:
        src = open_source(spec, size=s.size, rate=s.rate, pix_fmt=s.pix_fmt)
        label, k = src.label, 2
        while label in labels:
            label = f"{src.label}-{k}"
            k += 1
        src.label = label
        labels.add(label)
        opened.append(src)
    models = _variant_names(s.models, s.device)
    base_variants, baselines_missing = _pick_baselines(s)
    models, models_missing = _check_models(models, s.device, s.strength)
    for name, why in models_missing.items():
        log.error("model %s unavailable: %s", name, why)
    if s.baselines is None and baselines_missing:
        log.warning("baselines unavailable: %s (%s)", ", ".join(baselines_missing),
                    next(iter(baselines_missing.values())))
    vmaf_ok, vmaf_note = (bl.vmaf_available() if s.vmaf else (False, "turned off (--no-vmaf)"))
    if s.vmaf and not vmaf_ok:
        log.warning("VMAF unavailable (%s); vmaf is null", vmaf_note)
    variants = [Variant("decoded", "anchor")] + models + base_variants

    out.mkdir(parents=True, exist_ok=True)
    cache = Path(s.cache) if s.cache else out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    jobs: list[PointJob] = []
    source_docs = []
    for src in opened:
        if encode_rate(s.codec, src.rate) != src.rate:
            log.warning("%s: %s fps is no MPEG-2 frame rate; encoded as 25 fps (kbps still at "
                        "%s fps)", src.label, src.rate, src.rate)
        fmt = reference_format(src, s.codec)
        digest = src.digest(s.frames)
        ref_y4m = None
        if vmaf_ok:
            ref_y4m = str(_reference_y4m(src, fmt, digest, s.frames, cache))
        source_docs.append({"label": src.label, "path": str(src.path), "kind": src.kind,
                            "width": src.width, "height": src.height, "rate": str(src.rate),
                            "pix_fmt": src.pix_fmt, "encoded_pix_fmt": fmt, "digest": digest})
        for value in s.ladder:
            jobs.append(PointJob(src, digest, fmt, s.mode, float(value), s, variants, str(cache), ref_y4m))

    points = _run_jobs(jobs, s)
    doc = build_document(points, opened, source_docs, variants, models_missing, baselines_missing,
                    vmaf_ok, vmaf_note, s)
    doc["seconds"] = round(time.perf_counter() - started, 2)
    files = write_outputs(doc, points, out, s)
    return EvaluateResult(out, doc, len(doc["failures"]), models_missing,
                          time.perf_counter() - started, files)


def _reference_y4m(src: Source, fmt: str, digest: str, limit: int | None, cache: Path) -> Path:
    """The source as a y4m file in the encoded format (for VMAF); written once, cached."""
    if src.kind == "y4m" and limit is None and src.pix_fmt == fmt:
        return src.path
    path = cache / f"{_safe(src.label)}-{digest[:16]}-{fmt}-{limit or 'all'}.ref.y4m"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            write_y4m(tmp, src.frames(fmt, limit), src.width, src.height, src.rate, fmt)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return path


def _run_jobs(jobs: list[PointJob], s: Settings) -> list[dict]:
    from tqdm import tqdm

    show = sys.stderr.isatty() if s.progress is None else s.progress
    bar = tqdm(total=len(jobs), unit="point", desc="evaluate", disable=not show,
               dynamic_ncols=True, file=sys.stderr)
    results: list[dict | None] = [None] * len(jobs)
    with bar:
        if s.jobs == 1 or len(jobs) == 1:
            for i, job in enumerate(jobs):
                bar.set_postfix_str(f"{job.source.label} {job.mode} {fmt_value(job.value)}")
                results[i] = run_point(job)
                bar.update(1)
        else:
            workers = min(s.jobs, len(jobs))
            threads = max(1, (os.cpu_count() or 1) // workers)
            ctx = multiprocessing.get_context("spawn")
            pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                                          initargs=(threads,))
            try:
                futures = {pool.submit(run_point, job): i for i, job in enumerate(jobs)}
                for fut in cf.as_completed(futures):
                    i = futures[fut]
                    try:
                        results[i] = fut.result()
                    except Exception as e:  # noqa: BLE001 - a worker died (out of memory, say)
                        job = jobs[i]
                        results[i] = {"source": job.source.label, "mode": job.mode,
                                      "value": job.value, "variants": {}, "warnings": [],
                                      "failures": [{"variant": None,
                                                    "error": f"worker failed: {_one_line(e)}"}]}
                    bar.update(1)
            except BaseException:
                # Ctrl-C / SIGTERM: drop queued points and do not wait for the running ones.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
    points = [r for r in results if r is not None]
    said: set[str] = set()
    for p in points:
        for w in p.get("warnings", []):
            # "<encoded file>: <what>" repeats for every point: say each <what> once
            key = w.split(": ", 1)[1] if w.startswith(p.get("encoded") or "\0") else w
            if key not in said:
                said.add(key)
                log.warning("%s", w)
        for f in p["failures"]:
            what = f"{p['source']} {p['mode']} {fmt_value(p['value'])}"
            log.error("%s%s: %s", what, f" {f['variant']}" if f["variant"] else "", f["error"])
    return points
