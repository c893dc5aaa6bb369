"""Command line: ``redecode <command> ...``. Every command is a thin call into the packages below:
cli -> {training, evaluation} -> pipeline -> {decoders, models}."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from .. import __version__
from .common import UserError
from .evaluate import _add_evaluate
from .media import _add_demo, _add_filter, _add_inspect, _add_restore
from .training import _add_dataset, _add_train

__all__ = ["UserError", "build_parser", "main"]

log = logging.getLogger("redecode")


def _setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("redecode: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    log.propagate = False



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
    try:  # not before: `redecode --help` stays fast; and `train` runs where PyAV is missing
        import av

        from ..decoders import DecodeError
        ffmpeg_errors: tuple[type[BaseException], ...] = (av.error.FFmpegError,)
    except ImportError:
        DecodeError, ffmpeg_errors = UserError, ()

    try:
        return int(args.run(args))
    except (UserError, DecodeError) as e:
        print(f"redecode: error: {e}", file=sys.stderr)
        return 1
    except ffmpeg_errors as e:
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

