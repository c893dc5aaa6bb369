"""``redecode evaluate``: rate-distortion runs over encode ladders, restored by models and baselines.

For every source x ladder point (QP or CRF): encode with PyAV (cached by a hash of the source
content and the settings, ``ladder.py``), measure the real bitstream size, decode with bitstream
metadata, and measure against the source (DESIGN.md §4: per frame, then per sequence, then over
sequences):

* ``decoded``: the plain decode (the anchor);
* each model: the decoded frames restored by the streaming core (``restore_frames``), never
  re-encoded;
* each classical baseline (FFmpeg's deblock, spp, uspp, pp7, fspp; see ``baselines.py``).

Then BD-rate / BD-PSNR against the decode (``bd.py``) and the outputs in the output folder
(``report.py``): ``results.json``, ``frames.csv``, ``rd.png``, ``frames.png`` and ``summary.md``.

Ladder points run in parallel processes (``jobs``); each builds its own engines.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import baselines as bl
from .ladder import CODECS, encode_rate, fmt_value, reference_y4m
from .metrics import one_line, vmaf_available
from .point import Engines, run_point, run_point_in_worker, worker_init
from .records import Failure, PointJob, PointResult, Report, Settings, SourceInfo, Variant
from .report import build_report, to_json, write_outputs
from .sources import Source, open_source, reference_format

log = logging.getLogger("redecode")


class EvaluateError(Exception):
    """The run cannot start as asked; the message is one line meant for users."""


@dataclass
class EvaluateResult:
    """What a run produced: the output folder, the report and its results.json document."""

    output: Path
    report: Report
    document: dict
    failed: int
    unavailable: dict[str, str]
    seconds: float
    files: list[Path] = field(default_factory=list)


def check_settings(s: Settings) -> None:
    """Raise EvaluateError for settings that cannot work (before anything is loaded)."""
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
    for b in s.baselines or ():
        if b != "none" and b not in bl.BASELINES:
            raise EvaluateError(f"--baselines {b}: unknown; known: {', '.join(bl.BASELINES)} (or none)")


def _model_variants(models: list[str], device: str) -> list[Variant]:
    """One variant per model spec, ``auto`` resolved, names made unique."""
    out: list[Variant] = []
    seen: set[str] = {"decoded"}
    for spec in models:
        if spec == "auto":
            from ..models import ModelError, auto_model
            from ..pipeline.engine import pick_device

            try:
                spec = auto_model(pick_device(device).type == "cuda")
            except (ValueError, ModelError) as e:
                raise EvaluateError(str(e)) from None
        name = spec if spec in ("none", "small", "base", "classic") else Path(spec).stem or spec
        base, k = name, 2
        while name in seen or name in bl.BASELINES:
            name = f"{base}-{k}"
            k += 1
        seen.add(name)
        out.append(Variant(name, "model", spec))
    return out


def _pick_baselines(s: Settings) -> tuple[list[Variant], dict[str, str]]:
    requested = list(bl.DEFAULT_BASELINES) if s.baselines is None else [
        b for b in s.baselines if b != "none"]
    ok, missing = bl.availability(requested)
    if s.baselines is not None and missing:
        name, why = next(iter(missing.items()))
        raise EvaluateError(f"baseline {name} is unavailable: {why}")
    return [Variant(b, "baseline", b) for b in ok], missing


def _check_models(variants: list[Variant], s: Settings, engines: Engines) -> tuple[
        list[Variant], dict[str, str]]:
    """Load each model once here, so an unavailable one is reported once, not per point."""
    from ..pipeline.restore import RestoreError

    ok, bad = [], {}
    for v in variants:
        try:
            engines.get(v.spec, s.device, s.strength)
        except RestoreError as e:
            bad[v.name] = str(e)
            continue
        ok.append(v)
    return ok, bad


def _open_sources(specs: list[str], s: Settings) -> list[Source]:
    opened: list[Source] = []
    labels: set[str] = set()
    for spec in specs:
        src = open_source(spec, size=s.size, rate=s.rate, pix_fmt=s.pix_fmt)
        label, k = src.label, 2
        while label in labels:
            label = f"{src.label}-{k}"
            k += 1
        src.label = label
        labels.add(label)
        opened.append(src)
    return opened


def run_evaluation(sources: list[str], output: str | os.PathLike, settings: Settings) -> EvaluateResult:
    """Run a whole evaluation and write its outputs (see the module docstring).

    Raises:
        EvaluateError, SourceError: one-line messages for problems the user can fix.
    """
    started = time.perf_counter()
    s = settings
    check_settings(s)
    if not sources:
        raise EvaluateError("no source given")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise EvaluateError(f"{out}: exists and is not a folder")
    opened = _open_sources(sources, s)
    models = _model_variants(s.models, s.device)
    base_variants, baselines_missing = _pick_baselines(s)
    engines = Engines()
    models, models_missing = _check_models(models, s, engines)
    for name, why in models_missing.items():
        log.error("model %s unavailable: %s", name, why)
    if s.baselines is None and baselines_missing:
        log.warning("baselines unavailable: %s (%s)", ", ".join(baselines_missing),
                    next(iter(baselines_missing.values())))
    vmaf_ok, vmaf_note = (vmaf_available() if s.vmaf else (False, "turned off (--no-vmaf)"))
    if s.vmaf and not vmaf_ok:
        log.warning("VMAF unavailable (%s); vmaf is null", vmaf_note)
    variants = [Variant("decoded", "anchor")] + models + base_variants

    out.mkdir(parents=True, exist_ok=True)
    cache = Path(s.cache) if s.cache else out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    jobs: list[PointJob] = []
    infos: list[SourceInfo] = []
    for src in opened:
        if encode_rate(s.codec, src.rate) != src.rate:
            log.warning("%s: %s fps is no MPEG-2 frame rate; encoded as 25 fps (kbps still at "
                        "%s fps)", src.label, src.rate, src.rate)
        fmt = reference_format(src, s.codec)
        digest = src.digest(s.frames)
        ref_y4m = str(reference_y4m(src, fmt, digest, s.frames, cache)) if vmaf_ok else None
        infos.append(SourceInfo(src.label, str(src.path), src.kind, src.width, src.height,
                                str(src.rate), src.pix_fmt, fmt, digest))
        for value in s.ladder:
            jobs.append(PointJob(src, digest, fmt, s.mode, float(value), s, variants, str(cache),
                                 ref_y4m))

    points = _run_jobs(jobs, s, engines)
    report = build_report(points, infos, variants, models_missing, baselines_missing, vmaf_ok,
                          vmaf_note, s)
    report.seconds = round(time.perf_counter() - started, 2)
    files = write_outputs(report, out)
    return EvaluateResult(out, report, to_json(report), len(report.failures), models_missing,
                          time.perf_counter() - started, files)


def _run_jobs(jobs: list[PointJob], s: Settings, engines: Engines) -> list[PointResult]:
    from tqdm import tqdm

    show = sys.stderr.isatty() if s.progress is None else s.progress
    bar = tqdm(total=len(jobs), unit="point", desc="evaluate", disable=not show,
               dynamic_ncols=True, file=sys.stderr)
    results: list[PointResult | None] = [None] * len(jobs)
    with bar:
        if s.jobs == 1 or len(jobs) == 1:
            for i, job in enumerate(jobs):
                bar.set_postfix_str(f"{job.source.label} {job.mode} {fmt_value(job.value)}")
                results[i] = run_point(job, engines)
                bar.update(1)
        else:
            workers = min(s.jobs, len(jobs))
            threads = max(1, (os.cpu_count() or 1) // workers)
            ctx = multiprocessing.get_context("spawn")
            pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init,
                                          initargs=(threads,))
            try:
                futures = {pool.submit(run_point_in_worker, job): i for i, job in enumerate(jobs)}
                for fut in cf.as_completed(futures):
                    i = futures[fut]
                    try:
                        results[i] = fut.result()
                    except Exception as e:  # noqa: BLE001 - a worker died (out of memory, say)
                        job = jobs[i]
                        results[i] = PointResult(job.source.label, job.mode, job.value, failures=[
                            Failure(None, f"worker failed: {one_line(e)}")])
                    bar.update(1)
            except BaseException:
                # Ctrl-C / SIGTERM: drop queued points and do not wait for the running ones.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
    points = [r for r in results if r is not None]
    _say_once(points)
    return points


def _say_once(points: list[PointResult]) -> None:
    """Log each point's warnings (each once) and failures."""
    said: set[str] = set()
    for p in points:
        encoded = str(p.encoded.path) if p.encoded else "\0"
        for w in p.warnings:
            # "<encoded file>: <what>" repeats for every point: say each <what> once
            key = w.split(": ", 1)[1] if w.startswith(encoded) else w
            if key not in said:
                said.add(key)
                log.warning("%s", w)
        for f in p.failures:
            what = f"{p.source} {p.mode} {fmt_value(p.value)}"
            log.error("%s%s: %s", what, f" {f.variant}" if f.variant else "", f.error)
