"""Files that appear whole or not at all: written under a hidden partial name, then renamed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def partial_name(path: str | os.PathLike, unique: bool = True) -> Path:
    """The hidden partial file beside ``path``: ``.NAME.PID.partial.EXT`` (``unique``: with the
    process id, so parallel writers of the same file do not collide), else ``.NAME.partial.EXT``."""
    path = Path(path)
    tag = f".{os.getpid()}" if unique else ""
    return path.with_name(f".{path.stem}{tag}.partial{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike, unique: bool = True) -> Iterator[Path]:
    """Yield a partial path to write; on success it replaces ``path``, on failure it is deleted.

    Example::

        with atomic_path(out / "results.json") as tmp:
            tmp.write_text(text)
    """
    path = Path(path)
    tmp = partial_name(path, unique)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
