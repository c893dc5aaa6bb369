"""Command line: ``redecode <command> ...``. Every command is a thin call into the pipeline."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable

from . import __version__

log = logging.getLogger("redecode")


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


def _setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("redecode: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    log.propagate = False


# -- inspect --------------------------------------------------------------------------------

def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="show a video's frame types, motion vectors and QPs as pictures",
        description="Decode a video with its bitstream metadata and draw it: motion vectors as "
                    "arrows over a frame (motion_N.png), a QP heat map (qp_N.png) and a strip "
                    "of frame sizes coloured by type (frames.png).",
    )
    p.add_argument("input", help="video file, or - for standard input")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="folder for the pictures (default: none are written)")
    p.add_argument("--frames", metavar="LIST",
                   help="frames to draw, e.g. 0,5,10-20 (default: first I, busiest P and B)")
    p.add_argument("--max-frames", type=int, metavar="N", help="read only the first N frames")
    p.add_argument("--format", metavar="FMT", help="input container format, when probing fails")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(run=_run_inspect)


def _run_inspect(args: argparse.Namespace) -> int:
    from .pipeline.inspect import inspect_video, parse_frames, summary_dict

    try:
        frames = parse_frames(args.frames)
    except ValueError as e:
        raise UserError(str(e)) from None
    source = sys.stdin.buffer if args.input == "-" else args.input
    summary = inspect_video(source, args.output, frames=frames, max_frames=args.max_frames,
                            format=args.format)
    if args.json:
        json.dump(summary_dict(summary), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(summary)
    return 0


def _print_summary(s) -> None:
    out = sys.stdout
    rate = f"{s.frame_rate:.3f} fps" if s.frame_rate else "unknown rate"
    out.write(f"{s.source}: {s.codec} {s.width}x{s.height} {s.pix_fmt}, {rate}, {s.frames} frames\n")
    for t, n in s.frames_by_type.items():
        qp = s.mean_qp_by_type.get(t)
        kb = s.mean_kbits_by_type.get(t)
        out.write(f"  {t}: {n:5d} frames" + (f", mean QP {qp:5.2f}" if qp is not None else "")
                  + (f", {kb:8.2f} kbit/frame" if kb is not None else "") + "\n")
    if s.intra_block_share is not None:
        out.write(f"  predicted frames: {100 * s.intra_block_share:.1f}% intra blocks, "
                  f"mean motion {s.mean_motion_px:.2f} px\n")
    if not (s.has_motion and s.has_qp):
        out.write("  this codec exports no motion vectors / QPs\n")
    if s.damaged_frames or s.decode_errors:
        out.write(f"  damaged frames: {s.damaged_frames}, decoder errors: {s.decode_errors}\n")
    for p in s.pictures:
        out.write(f"  wrote {p}\n")


# -- restore --------------------------------------------------------------------------------

def _add_encode_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output encoding")
    g.add_argument("--codec", default="libx264",
                   help="video encoder: libx264 (default), libx265, ffv1, ...")
    g.add_argument("--crf", type=float, default=16, help="x264/x265 quality (default 16)")
    g.add_argument("--preset", default="medium", help="x264/x265 preset (default medium)")
    g.add_argument("--pix-fmt", metavar="FMT",
                   help="output pixel format (default: the input's, e.g. yuv420p10le stays 10-bit)")
    g.add_argument("--lossless", action="store_true",
                   help="lossless output (x264/x265 lossless mode; FFV1 always is)")
    g.add_argument("--encoder-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra encoder option, repeatable (e.g. tune=film)")


def _encode_options(args: argparse.Namespace):
    from .pipeline.writer import EncodeOptions

    extra = {}
    for kv in args.encoder_option:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            raise UserError(f"--encoder-option {kv!r}: expected KEY=VALUE")
        extra[key] = value
    return EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset,
                         pix_fmt=args.pix_fmt, lossless=args.lossless, options=extra)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("-m", "--model", default="auto", metavar="MODEL",
                   help="auto (the best shipped model for the device), small, base, classic (a "
                        "fast least-squares filter), none (frames pass through unchanged), or a "
                        "checkpoint file")
    g.add_argument("--strength", type=float, default=1.0, metavar="S",
                   help="how much of the model's correction to apply, 0 (none) to 1 (all, default)")
    g.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    g.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="arithmetic: auto (fp16 on CUDA, bf16 on CPUs with AMX/AVX512-BF16, else "
                        "fp32), fp32, bf16, fp16 (CUDA)")
    g.add_argument("--fp32", dest="precision", action="store_const", const="fp32",
                   help="same as --precision fp32")


def _add_restore(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "restore",
        help="restore video files (batch)",
        description="Restore video files: every frame is corrected by the model from its own "
                    "pixels, QPs and motion-compensated references; audio, subtitles, "
                    "timestamps and colour tags are kept. Outputs appear only when complete.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video files, folders or globs")
    p.add_argument("-o", "--output", required=True,
                   help="output file (one input) or folder (several inputs or a folder)")
    ow = p.add_mutually_exclusive_group()
    ow.add_argument("--skip-existing", action="store_true",
                    help="leave outputs that already exist (resume a batch)")
    ow.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    p.add_argument("--format", metavar="FMT", help="input container format, when probing fails")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_model_options(p)
    _add_encode_options(p)
    p.set_defaults(run=_run_restore)


def _run_restore(args: argparse.Namespace) -> int:
    from .pipeline.restore import RestoreError, restore_batch
    from .pipeline.writer import OutputError

    try:
        result = restore_batch(
            args.inputs, args.output, model=args.model, device=args.device, precision=args.precision,
            encode=_encode_options(args), skip_existing=args.skip_existing,
            overwrite=args.overwrite, progress=False if args.no_progress else None,
            input_format=args.format, strength=args.strength)
    except (RestoreError, OutputError) as e:
        raise UserError(str(e)) from None
    summary = result.to_dict()
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for f in result.files:
            if f.status == "done":
                print(f"{f.source} -> {f.output}: {f.frames} frames, {f.fps:.1f} fps", file=sys.stderr)
        print(f"redecode: {summary['done']} restored, {summary['skipped']} skipped, "
              f"{summary['failed']} failed; {summary['frames']} frames in {summary['seconds']:.1f} s "
              f"({summary['fps']:.1f} fps, model {summary['model']} on {summary['device']})",
              file=sys.stderr)
    return 1 if result.failed else 0


# -- demo -----------------------------------------------------------------------------------

def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="compress a built-in clip, restore it, print the gain and write a comparison",
        description="Make a built-in clip (camera motion over a photograph), compress it with "
                    "x264 at a low quality, restore it, print the PSNR-Y gain and write "
                    "comparison.png (source | decoded | restored, zoomed).",
    )
    p.add_argument("-o", "--output", default="redecode-demo", metavar="DIR",
                   help="folder for the clips and the picture (default: redecode-demo)")
    p.add_argument("--qp", type=int, default=37, help="x264 QP of the compressed clip (default 37)")
    p.add_argument("--frames", type=int, default=48, help="clip length (default 48)")
    _add_model_options(p)
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .pipeline.demo import run_demo
    from .pipeline.restore import RestoreError

    if not 0 <= args.qp <= 51 or args.frames < 1:
        raise UserError("--qp must be 0..51 and --frames at least 1")
    try:
        r = run_demo(args.output, model=args.model, device=args.device, qp=args.qp,
                     frames=args.frames)
    except RestoreError as e:
        raise UserError(str(e)) from None
    print(f"demo: {r.frames} frames, x264 QP {r.qp}, model {r.model}")
    print(f"  PSNR-Y decoded  {r.psnr_decoded:6.2f} dB")
    print(f"  PSNR-Y restored {r.psnr_restored:6.2f} dB   (delta {r.delta:+.2f} dB)")
    print("  delta by frame type: " + ", ".join(f"{t} {d:+.2f} dB" for t, d in sorted(r.by_type.items())))
    print(f"  comparison picture: {r.picture}")
    print(f"  restored video:     {r.restored_video}")
    return 0


# -- filter ---------------------------------------------------------------------------------

def _add_filter(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "filter",
        help="streaming filter for pipes: compressed stream in, restored frames out",
        description="Read a compressed video stream (any container or elementary stream PyAV "
                    "can probe: MPEG-TS, raw H.264, Matroska, NUT, MPEG-2 PS, ...) and write "
                    "restored frames as soon as they are ready. Logs go to stderr; only frames "
                    "go to stdout.",
        epilog="example: ffmpeg -i cam.ts -c copy -f mpegts - | redecode filter | ffplay -",
    )
    p.add_argument("-i", "--input", default="-", help="input file, or - for stdin (default)")
    p.add_argument("-o", "--output", default="-", help="output file, or - for stdout (default)")
    p.add_argument("-f", "--format", default="y4m",
                   help="y4m (default), rawvideo, or an encoded container: nut, mkv, mpegts, "
                        "h264, ... (encoded with --codec)")
    p.add_argument("--input-format", metavar="FMT",
                   help="input container format when probing a pipe is ambiguous (e.g. h264, mpegts)")
    p.add_argument("--probe-size", type=int, default=65536, metavar="BYTES",
                   help="bytes read to find the input's streams before the first frame "
                        "(default 65536; raise it if streams are missed, 0 for FFmpeg's 5 MB)")
    _add_model_options(p)
    _add_encode_options(p)
    p.set_defaults(run=_run_filter)


def _run_filter(args: argparse.Namespace) -> int:
    from .pipeline.filter import (FilterError, is_seekable, run_filter, unbuffered_stdin,
                                  unbuffered_stdout)
    from .pipeline.restore import RestoreError, make_engine, partial_path
    from .pipeline.writer import OutputError
    from pathlib import Path

    try:
        engine = make_engine(args.model, args.device, args.precision, strength=args.strength)
    except RestoreError as e:
        raise UserError(str(e)) from None
    encode = _encode_options(args)
    source = unbuffered_stdin() if args.input == "-" else args.input
    final = tmp = None
    if args.output == "-":
        out = unbuffered_stdout()
    else:
        final = Path(args.output)
        if args.input != "-" and Path(args.input).resolve() == final.resolve():
            raise UserError(f"{final}: output would overwrite its own input")
        tmp = partial_path(final)
        out = open(tmp, "wb")
    try:
        stats = run_filter(source, out, engine, fmt=args.format, encode=encode,
                           input_format=args.input_format, seekable=is_seekable(out),
                           probe_bytes=args.probe_size or None)
    except (OutputError, FilterError) as e:
        _discard(out, tmp)
        raise UserError(str(e)) from None
    except BaseException:
        _discard(out, tmp)
        raise
    if final is not None:
        out.close()
        os.replace(tmp, final)
    log.info("%d frames in %.1f s (%.1f fps)", stats.frames, stats.seconds,
             stats.frames / max(stats.seconds, 1e-9))
    return 0


def _discard(out, tmp) -> None:
    """Close a file output and delete its partial file (stdout is left alone)."""
    if tmp is not None:
        out.close()
        tmp.unlink(missing_ok=True)


# -- evaluate -------------------------------------------------------------------------------

def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="rate-distortion evaluation: encode ladders, restore, measure, BD-rate, plots",
        description="Encode each source at every ladder point (QP or CRF), decode it, restore it "
                    "with each model and classical baselines, and measure against the source "
                    "(PSNR-Y/U/V, PSNR-YUV, SSIM-Y, VMAF). Writes results.json, frames.csv, "
                    "summary.md, rd.png and frames.png into the output folder. Encodes are "
                    "cached, so reruns are cheap.",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help=".y4m, raw .yuv, lossless video files, or folders of images (frames)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the results")
    g = p.add_argument_group("encoding ladder")
    g.add_argument("--codec", default="libx264",
                   help="libx264 (default), libx265, mpeg2video or mpeg4")
    lad = g.add_mutually_exclusive_group()
    lad.add_argument("--qp", type=float, nargs="+", metavar="QP",
                     help="constant-QP ladder (default: 22 27 32 37 42); for MPEG-2/MPEG-4 each QP "
                          "maps to the quantiser scale of equal step, QP = 4 + 6*log2(2*qscale)")
    lad.add_argument("--crf", type=float, nargs="+", metavar="CRF", help="CRF ladder (x264/x265)")
    g.add_argument("--preset", default="medium", help="x264/x265 preset (default medium)")
    g.add_argument("--bframes", type=int, default=3, help="most consecutive B-frames (default 3)")
    g.add_argument("--gop", type=int, metavar="N", help="key-frame interval (default: the encoder's)")
    g.add_argument("--frames", type=int, metavar="N", help="use the first N frames of each source")
    g.add_argument("--cache", metavar="DIR", help="folder for cached encodes (default: DIR/cache)")
    g = p.add_argument_group("variants")
    g.add_argument("-m", "--model", nargs="+", default=["auto"], metavar="MODEL",
                   help="models to evaluate: auto (the best shipped model), small, base, classic, "
                        "none (restored = decoded), or checkpoint files (default auto)")
    g.add_argument("--strength", type=float, default=1.0, metavar="S",
                   help="share of each model's correction applied, 0 to 1 (default 1)")
    g.add_argument("--baselines", nargs="+", metavar="NAME",
                   help="classical post-filters run by ffmpeg: deblock spp uspp pp7 fspp, or none "
                        "(default: deblock spp uspp pp7, those the ffmpeg program has)")
    g.add_argument("--no-vmaf", action="store_true", help="skip VMAF (default: on when ffmpeg has libvmaf)")
    g.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    g.add_argument("--frames-plot", type=float, metavar="QP",
                   help="ladder point drawn in frames.png (default: QP 37 if present, else the middle)")
    g = p.add_argument_group("raw .yuv sources")
    g.add_argument("--size", metavar="WxH", help="frame size (default: from a _WxH part of the name)")
    g.add_argument("--rate", metavar="FPS", help="frame rate of raw sources and image folders (default 25)")
    g.add_argument("--pix-fmt", metavar="FMT", help="raw pixel format (default yuv420p)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="ladder points run in parallel (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import EvaluateError, Settings, SourceError, run_evaluation
    from .evaluation.sources import parse_rate, parse_size

    try:
        settings = Settings(
            codec=args.codec, qps=args.qp, crfs=args.crf, preset=args.preset, bframes=args.bframes,
            gop=args.gop, frames=args.frames, models=args.model, baselines=args.baselines,
            vmaf=not args.no_vmaf, jobs=args.jobs, device=args.device, cache=args.cache, strength=args.strength,
            size=parse_size(args.size) if args.size else None,
            rate=parse_rate(args.rate) if args.rate else None, pix_fmt=args.pix_fmt,
            plot_point=args.frames_plot, progress=False if args.no_progress else None)
        result = run_evaluation(args.sources, args.output, settings)
    except (EvaluateError, SourceError) as e:
        raise UserError(str(e)) from None
    doc = result.document
    sys.stdout.write((result.output / "summary.md").read_text())
    print(f"redecode: {len(doc['results'])} results from {len(doc['sources'])} source(s) x "
          f"{len(doc['settings']['ladder'])} points in {result.seconds:.1f} s; "
          f"{result.failed} failed; wrote {', '.join(str(f) for f in result.files)}", file=sys.stderr)
    return 1 if result.failed else 0


# -- dataset --------------------------------------------------------------------------------

def _size_range(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    try:
        sizes = [tuple(int(v) for v in part.split("x")) for part in text.lower().split(":")]
        if len(sizes) > 2 or any(len(s) != 2 for s in sizes):
            raise ValueError
    except ValueError:
        raise UserError(f"--size {text}: expected WxH or WxH:WxH, e.g. 256x192:384x256") from None
    return (sizes[0][0], sizes[0][1]), (sizes[-1][0], sizes[-1][1])


def _qp_range(text: str) -> tuple[int, int]:
    try:
        a, _, b = text.partition(":")
        return int(a), int(b or a)
    except ValueError:
        raise UserError(f"--qp-range {text}: expected A:B, e.g. 17:45") from None


def _add_dataset(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dataset",
        help="make training clips from pictures and videos (yours and the built-in collections)",
        description="Encode scenes (camera motion over still pictures, spans of real videos scaled "
                    "down 2x) with libx264 / mpeg2video / mpeg4 over a spread of settings, decode "
                    "them with their metadata and write one clip file per scene, for `redecode train`. "
                    "Whole sources are held out for validation.",
    )
    p.add_argument("sources", nargs="*", metavar="SRC",
                   help="image/video files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="dataset folder")
    p.add_argument("--builtin", default="", metavar="LIST",
                   help="built-in collections: 'all', or a comma list of catalogue collections "
                        "(docs/data_sources.md: gcompris, mate, plasma, imageio, ...) and deadleaves "
                        "(procedural pictures)")
    p.add_argument("--clips", type=int, default=300, help="training clips (default 300)")
    p.add_argument("--val-clips", type=int, default=30, help="validation clips (default 30)")
    p.add_argument("--codec", nargs="+", default=["libx264"], metavar="C",
                   help="encoders to spread the clips over: libx264 mpeg2video mpeg4 (default libx264)")
    p.add_argument("--frames", type=int, default=24, help="frames per clip (default 24)")
    p.add_argument("--size", default="256x192:384x256", help="clip size WxH or range WxH:WxH")
    p.add_argument("--qp-range", default="17:45", help="QP/CRF range, 27-42 drawn 3x as often (17:45)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of your files held out for validation, whole files (default 0.1)")
    p.add_argument("--val-ladder", action="store_true",
                   help="also write val_ladder/: the validation scenes at x264 QP 22..42")
    p.add_argument("--ladder-scenes", type=int, default=2, help="ladder scenes per validation source")
    p.add_argument("--seed", type=int, default=0, help="same seed, same clips (default 0)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--resume", action="store_true", help="keep clips already written with the same recipe")
    p.add_argument("--cache", metavar="DIR", help="folder for extracted built-in pictures (default DIR/sources)")
    p.set_defaults(run=_run_dataset)


def _run_dataset(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .training.catalog import COLLECTIONS
    from .training.dataset import DatasetError, DatasetOptions, build_dataset

    builtin = tuple(b for b in args.builtin.split(",") if b)
    if builtin == ("all",):
        builtin = (*COLLECTIONS, "deadleaves")
    unknown = [b for b in builtin if b not in COLLECTIONS and b != "deadleaves"]
    if unknown:
        raise UserError(f"--builtin: unknown collection {', '.join(unknown)}")
    if not builtin and not args.sources:
        raise UserError("dataset: give image/video files or folders, or --builtin")
    try:
        opts = DatasetOptions(
            out=Path(args.output), sources=tuple(args.sources), builtin=builtin, clips=args.clips,
            val_clips=args.val_clips, frames=args.frames, size=_size_range(args.size), codecs=tuple(args.codec),
            qp_range=_qp_range(args.qp_range), val_fraction=args.val_fraction, val_ladder=args.val_ladder,
            ladder_scenes=args.ladder_scenes, seed=args.seed, jobs=args.jobs, resume=args.resume,
            cache=Path(args.cache) if args.cache else None)
        result = build_dataset(opts, progress=sys.stderr.isatty())
    except DatasetError as e:
        raise UserError(f"dataset: {e}") from None
    for note in result.notes:
        print(f"redecode: dataset: {note}", file=sys.stderr)
    for err in result.failed:
        print(f"redecode: dataset: failed: {err}", file=sys.stderr)
    counts = ", ".join(f"{sp} {s['clips']}" for sp, s in result.built.items())
    mb = sum(s["bytes"] for s in result.built.values()) / 1e6
    print(f"redecode: dataset: {result.written} clips written, {result.kept} kept ({counts}; {mb:.1f} MB) "
          f"in {args.output} in {result.seconds:.0f} s", file=sys.stderr)
    return 1 if result.failed else 0


# -- train ----------------------------------------------------------------------------------

#: Recipe of ``redecode train --from MODEL`` without a config: a short fine-tune.
FINETUNE_DEFAULTS = {"steps": 2000, "batch": 8, "seq_len": 3, "crop": 96, "lr": 1e-4, "min_lr": 1e-6,
                     "warmup": 50, "loss": "psnr", "save_every": 100, "val_every": 500, "cache_clips": 256}


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a restoration network, or fine-tune a shipped one on your own clips",
        description="Train a network on clips made by `redecode dataset`, restoring them exactly "
                    "as `redecode restore` does. Either a TOML recipe (configs/train_*.toml), or "
                    "--from MODEL --data DIR -o OUT.pt to fine-tune. Cut it at any time and run "
                    "the same command with --resume to continue.",
    )
    p.add_argument("config", nargs="?", help="TOML recipe (configs/train_*.toml)")
    p.add_argument("--from", dest="init", metavar="MODEL",
                   help="start from this model's weights: a shipped name (small, base) or a checkpoint")
    p.add_argument("--data", metavar="DIR",
                   help="dataset folder from `redecode dataset`: trains on DIR/train, validates on DIR/val")
    p.add_argument("-o", "--output", metavar="OUT.pt",
                   help="final model file (training state goes to OUT.pt.train/ beside it)")
    p.add_argument("--out-dir", metavar="DIR", help="folder for last.pt, model.pt and log.csv")
    p.add_argument("--steps", type=int, metavar="N", help="optimizer steps in all")
    p.add_argument("--clips", type=int, default=200, metavar="N",
                   help="--from classic: training clips the least-squares fit reads (default 200)")
    p.add_argument("--train", nargs="+", metavar="GLOB", help="training clip files (replace the recipe's)")
    p.add_argument("--val", nargs="+", metavar="GLOB", help="validation clip files (replace the recipe's)")
    p.add_argument("--device", help="cpu, cuda, cuda:N")
    p.add_argument("--resume", action="store_true", help="continue from the run's last.pt")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, value in TOML syntax (repeatable)")
    p.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from .training import TrainError, load_config, train
    from .training.clips import ClipError

    if not args.config and not args.init:
        raise UserError("train: give a recipe (CONFIG.toml) or --from MODEL")
    try:
        overrides = [] if args.config else [f"{k}={json.dumps(v)}" for k, v in FINETUNE_DEFAULTS.items()]
        cfg = load_config(args.config, overrides + list(args.set))
        changes: dict = {}
        if args.init:
            changes["init"] = args.init
            if args.init in ("small", "base"):
                changes["model"] = args.init
        if args.data:
            data = Path(args.data)
            if not (data / "train").is_dir():
                raise UserError(f"--data {data}: no train/ folder (make one with `redecode dataset`)")
            changes["train"] = (str(data / "train" / "*.npz"),)
            val = sorted((data / "val").glob("*.npz")) if (data / "val").is_dir() else []
            changes["val"] = (str(data / "val" / "*.npz"),) if val else ()
        if args.train:
            changes["train"] = tuple(args.train)
        if args.val:
            changes["val"] = tuple(args.val)
        if args.output:
            changes["out_dir"] = f"{args.output}.train"
        if args.out_dir:
            changes["out_dir"] = args.out_dir
        if args.steps is not None:
            changes["steps"] = args.steps
        if args.device:
            changes["device"] = args.device
        cfg = dataclasses.replace(cfg, **changes)
        if cfg.init == "classic":
            return _refit_classic(cfg, args)
        path = train(cfg, resume=args.resume)
    except (TrainError, ClipError) as exc:
        raise UserError(f"train: {exc}") from None
    if args.output:
        os.replace(path, args.output)
        path = Path(args.output)
    print(path)
    return 0


def _refit_classic(cfg, args: argparse.Namespace) -> int:
    """``train --from classic``: closed-form least squares on ``--clips`` clips, gate on the validation clips."""
    from .training.classic import refit
    from .training.sampler import expand_paths

    if not args.output:
        raise UserError("train --from classic: give -o OUT.pt")
    refit(expand_paths(cfg.train), expand_paths(cfg.val) if cfg.val else [], args.output, clips=args.clips,
          seed=cfg.seed, progress=sys.stderr.isatty())
    print(args.output)
    return 0


# -- main -----------------------------------------------------------------------------------

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_inspect, _add_restore, _add_filter, _add_demo, _add_evaluate, _add_dataset, _add_train]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redecode",
        description="Repair compressed video (H.264, MPEG-2, MPEG-4) with neural networks "
                    "steered by the bitstream's own motion vectors, frame types and QPs.",
    )
    parser.add_argument("--version", action="version", version=f"redecode {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more messages on stderr (-vv for debugging)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 usage, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    _terminate_as_interrupt()
    import av  # not before: `redecode --help` stays fast

    from .decoders import DecodeError

    try:
        return int(args.run(args))
    except (UserError, DecodeError) as e:
        print(f"redecode: error: {e}", file=sys.stderr)
        return 1
    except av.error.FFmpegError as e:
        print(f"redecode: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("redecode: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 0
    except OSError as e:
        print(f"redecode: error: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""),
              file=sys.stderr)
        return 1


def _terminate_as_interrupt() -> None:
    """SIGTERM ends the run like Ctrl-C, so partial outputs are cleaned up."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _quiet_broken_pipe() -> None:
    """Downstream closed early (``| head``): silence the interpreter's final flush of stdout."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
