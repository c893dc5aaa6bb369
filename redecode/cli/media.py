"""The media commands: inspect, restore, demo, filter."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from .common import (UserError, add_encode_options, add_model_options, check_device,
                     encode_options)

log = logging.getLogger("redecode")


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
    from ..pipeline.inspect import inspect_video, parse_frames, summary_dict

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
    shape = ([f"pixel aspect {s.sample_aspect_ratio}"]
             if s.sample_aspect_ratio not in (None, "1:1") else [])
    if s.field_order not in ("unknown", "progressive"):
        shape.append(f"interlaced ({s.field_order})")
    if shape:
        out.write(f"  {', '.join(shape)}\n")
    if s.damage:
        out.write(f"  damaged or cut short: {s.damage}\n")
    for p in s.pictures:
        out.write(f"  wrote {p}\n")



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
    add_model_options(p)
    add_encode_options(p)
    p.set_defaults(run=_run_restore)


def _run_restore(args: argparse.Namespace) -> int:
    from ..pipeline.batch import restore_batch
    from ..pipeline.restore import RestoreError
    from ..pipeline.writer import OutputError

    check_device(args.device)
    try:
        result = restore_batch(
            args.inputs, args.output, model=args.model, device=args.device, precision=args.precision,
            encode=encode_options(args), skip_existing=args.skip_existing,
            overwrite=args.overwrite, progress=False if args.no_progress else None,
            input_format=args.format, strength=args.strength)
    except (RestoreError, OutputError) as e:
        raise UserError(str(e)) from None
    summary = result.to_dict()
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for f in result.files:  # damaged and failed files were reported as they happened
            if f.status == "done":
                print(f"{f.source} -> {f.output}: {f.frames} frames, {f.fps:.1f} fps"
                      + _size_note(f.size_ratio, f.output_bytes), file=sys.stderr)
        if len(result.files) == 1 and result.failed:
            return 1  # its one error line says it all
        damaged = f"{summary['damaged']} damaged or cut short, " if summary["damaged"] else ""
        print(f"redecode: {summary['done']} restored, {damaged}{summary['skipped']} skipped, "
              f"{summary['failed']} failed; {summary['frames']} frames in {summary['seconds']:.1f} s "
              f"({summary['fps']:.1f} fps, model {summary['model']} on {summary['device']})"
              + _size_note(result.size_ratio, summary["output_bytes"], summary["input_bytes"]),
              file=sys.stderr)
    return 1 if result.failed or result.damaged else 0


def _size_note(ratio: float | None, out_bytes: int | None, in_bytes: int | None = None) -> str:
    """"; 3.1x the input's size (2.4 MB)": what the output costs next to its input."""
    if ratio is None or out_bytes is None:
        return ""
    size = _human(out_bytes) + (f" from {_human(in_bytes)}" if in_bytes else "")
    return f"; output {ratio:.2f}x the input's size ({size})"


def _human(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


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
    add_model_options(p)
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from ..pipeline.demo import run_demo
    from ..pipeline.restore import RestoreError

    if not 0 <= args.qp <= 51 or args.frames < 1:
        raise UserError("--qp must be 0..51 and --frames at least 1")
    check_device(args.device)
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
    add_model_options(p)
    add_encode_options(p)
    p.set_defaults(run=_run_filter)


def _run_filter(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..pipeline.filter import (RAW_FORMATS, FilterError, is_seekable, run_filter,
                                  unbuffered_stdin, unbuffered_stdout)
    from ..pipeline.outputs import check_encode
    from ..pipeline.restore import RestoreError, make_engine, partial_path
    from ..pipeline.writer import OutputError

    check_device(args.device)
    encode = encode_options(args)
    try:
        if args.format not in RAW_FORMATS:
            check_encode(encode, external_ok=True)
        engine = make_engine(args.model, args.device, args.precision, strength=args.strength)
    except (RestoreError, OutputError) as e:
        raise UserError(str(e)) from None
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
    damage = None
    try:
        stats = run_filter(source, out, engine, fmt=args.format, encode=encode,
                           input_format=args.input_format, seekable=is_seekable(out),
                           probe_bytes=args.probe_size or None)
    except FilterError as e:  # the frames before the damage were delivered: keep them
        damage, stats = e, e.stats
    except OutputError as e:
        _discard(out, tmp)
        raise UserError(str(e)) from None
    except BaseException:
        _discard(out, tmp)
        raise
    if final is not None:
        out.close()
        os.replace(tmp, final)
    if damage is not None:
        raise UserError(str(damage))
    print(f"redecode: {stats.frames} frames in {stats.seconds:.1f} s "
          f"({stats.frames / max(stats.seconds, 1e-9):.1f} fps, model {engine.name} on "
          f"{engine.device})", file=sys.stderr)
    return 0


def _discard(out, tmp) -> None:
    """Close a file output and delete its partial file (stdout is left alone)."""
    if tmp is not None:
        out.close()
        tmp.unlink(missing_ok=True)


