"""``redecode evaluate``: rate-distortion runs."""

from __future__ import annotations

import argparse
import sys

from .common import UserError, check_device


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
    from ..evaluation import EvaluateError, Settings, SourceError, run_evaluation
    from ..evaluation.sources import parse_rate, parse_size

    check_device(args.device)
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


