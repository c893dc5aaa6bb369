"""The training commands: ``redecode dataset`` and ``redecode train``."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .common import UserError, check_device


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
    p.add_argument("--val-sources", nargs="+", default=[], metavar="SRC",
                   help="files or folders held out for validation (instead of --val-fraction)")
    p.add_argument("--video-downscale", type=float, default=2.0, metavar="F",
                   help="scale your videos down at least F times, so their own compression is gone "
                        "(default 2; 1 for videos that are already clean)")
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

    from ..training.catalog import COLLECTIONS
    from ..training.dataset import DatasetError, DatasetOptions, build_dataset

    builtin = tuple(b for b in args.builtin.split(",") if b)
    if builtin == ("all",):
        builtin = (*COLLECTIONS, "deadleaves")
    unknown = [b for b in builtin if b not in COLLECTIONS and b != "deadleaves"]
    if unknown:
        raise UserError(f"--builtin: unknown collection {', '.join(unknown)}")
    if not builtin and not args.sources and not args.val_sources:
        raise UserError("dataset: give image/video files or folders, or --builtin")
    try:
        opts = DatasetOptions(
            out=Path(args.output), sources=tuple(args.sources), val_sources=tuple(args.val_sources),
            video_downscale=args.video_downscale, builtin=builtin, clips=args.clips,
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
    p.add_argument("--out-dir", metavar="DIR", help="folder for last.pt, model.pt, best.pt (best validation) and log.csv")
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

    from ..training import TrainError, load_config, train
    from ..training.clips import ClipError

    if not args.config and not args.init:
        raise UserError("train: give a recipe (CONFIG.toml) or --from MODEL")
    check_device(args.device)
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
            if sorted((data / "val_ladder").glob("*.npz")):  # the gate is fitted on the ladder
                changes["gate"] = (str(data / "val_ladder" / "*.npz"),)
                if not val:
                    changes["val"] = (str(data / "val_ladder" / "*_qp37.npz"),)
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
    from ..training.classic import refit
    from ..training.sampler import expand_paths

    if not args.output:
        raise UserError("train --from classic: give -o OUT.pt")
    gate = cfg.gate or cfg.val
    refit(expand_paths(cfg.train), expand_paths(gate) if gate else [], args.output, clips=args.clips,
          seed=cfg.seed, progress=sys.stderr.isatty())
    print(args.output)
    return 0


