"""What the commands share: the user-error type and the model and encoder options."""

from __future__ import annotations

import argparse
import re


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


def add_encode_options(p: argparse.ArgumentParser) -> None:
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


def encode_options(args: argparse.Namespace):
    from ..pipeline.writer import EncodeOptions

    extra = {}
    for kv in args.encoder_option:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            raise UserError(f"--encoder-option {kv!r}: expected KEY=VALUE")
        extra[key] = value
    return EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset,
                         pix_fmt=args.pix_fmt, lossless=args.lossless, options=extra)


def check_device(name: str | None) -> None:
    """``--device``: auto, cpu, cuda or cuda:N, checked before any work (whether a GPU is there
    is checked when the model is loaded)."""
    if name is not None and not re.fullmatch(r"auto|cpu|cuda(:\d+)?", name):
        raise UserError(f"--device {name}: use auto, cpu, cuda or cuda:N")


def add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("-m", "--model", default="auto", metavar="MODEL",
                   help="auto (the best shipped model for the device), small, base, classic (a "
                        "fast least-squares filter), none (frames pass through unchanged), or a "
                        "checkpoint file")
    g.add_argument("--strength", type=float, default=1.0, metavar="S",
                   help="how much of the model's correction to apply, 0 (none) to 1 (all, default)")
    g.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    g.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="arithmetic: auto (fp16 on CUDA, fp32 on the CPU), fp32, bf16 (about 1.3x "
                        "faster on CPUs with AMX-BF16, up to 0.04 dB less gain), fp16 (CUDA); the "
                        "classic model always runs in fp32")
    g.add_argument("--fp32", dest="precision", action="store_const", const="fp32",
                   help="same as --precision fp32")


