"""A reader of Qt binary resource files (``.rcc``), as GCompris ships its pictures in.

Format (written by Qt's ``rcc -binary``; all integers big-endian):

* Header: the magic ``b"qres"``, then ``version`` (u32, 1 to 3), ``tree`` offset, ``data``
  offset and ``names`` offset (u32 each, from the start of the file), and for version 3 one
  more u32 of global flags.
* Tree: an array of fixed-size nodes starting at the tree offset, 14 bytes each in version 1,
  22 in versions 2 and 3 (an extra u64 last-modified time in ms). Node 0 is the root folder.
  Every node starts with ``name_offset`` (u32, into the names block) and ``flags`` (u16:
  1 = zlib-compressed, 2 = directory, 4 = zstd-compressed). A directory then has
  ``child_count`` (u32) and ``first_child`` (u32, a node index: its children are the nodes
  ``first_child .. first_child + child_count - 1``, sorted by name hash); a file has
  ``territory`` (u16), ``language`` (u16) and ``data_offset`` (u32, into the data block).
* Names: at ``names + name_offset``, a u16 length in UTF-16 code units, a u32 hash
  (``qt_hash``, not needed to read), then the name in UTF-16-BE.
* Data: at ``data + data_offset``, a u32 byte count and that many bytes. A zlib-compressed
  entry holds Qt's ``qCompress`` form: a u32 uncompressed size followed by a zlib stream.
  A zstd-compressed entry is a zstd frame (read only when the ``zstandard`` module is
  installed; none of the GCompris 3.1 files uses it).

The same file may list one name several times under different locales; :func:`read_rcc`
keeps the first one (the default locale comes first in rcc's output).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RccEntry", "RccError", "entry_size", "list_rcc", "read_entry", "read_rcc", "read_rcc_file"]

MAGIC = b"qres"
FLAG_COMPRESSED = 0x01
FLAG_DIRECTORY = 0x02
FLAG_COMPRESSED_ZSTD = 0x04


class RccError(ValueError):
    """The bytes are not a readable Qt resource file."""


@dataclass(frozen=True)
class RccEntry:
    """One file of a resource archive: its path inside it ("a/b.png") and how it is stored."""

    path: str
    flags: int
    offset: int  # of the u32 size, from the start of the file

    @property
    def compression(self) -> str:
        if self.flags & FLAG_COMPRESSED_ZSTD:
            return "zstd"
        if self.flags & FLAG_COMPRESSED:
            return "zlib"
        return "none"


def _u16(buf: bytes, off: int) -> int:
    if off < 0 or off + 2 > len(buf):
        raise RccError(f"offset {off} out of range")
    return struct.unpack_from(">H", buf, off)[0]


def _u32(buf: bytes, off: int) -> int:
    if off < 0 or off + 4 > len(buf):
        raise RccError(f"offset {off} out of range")
    return struct.unpack_from(">I", buf, off)[0]


def _header(buf: bytes) -> tuple[int, int, int, int]:
    if len(buf) < 20 or buf[:4] != MAGIC:
        raise RccError("not a Qt resource file (no 'qres' magic)")
    version, tree, data, names = struct.unpack_from(">IIII", buf, 4)
    if version not in (1, 2, 3):
        raise RccError(f"unsupported rcc version {version}")
    return version, tree, data, names


def list_rcc(buf: bytes) -> list[RccEntry]:
    """All files of the archive in ``buf``, in tree order (depth first, by name hash)."""
    version, tree, data, names = _header(buf)
    node_size = 14 if version == 1 else 22

    def name_of(node: int) -> str:
        off = names + _u32(buf, tree + node * node_size)
        n = _u16(buf, off)
        if off + 6 + 2 * n > len(buf):
            raise RccError("name out of range")
        return buf[off + 6:off + 6 + 2 * n].decode("utf-16-be")

    out: list[RccEntry] = []
    seen: set[str] = set()
    stack: list[tuple[int, str]] = [(0, "")]
    visited: set[int] = set()
    while stack:
        node, prefix = stack.pop()
        if node in visited:  # only a corrupt file reaches a node twice
            raise RccError("corrupt tree (a node is reached twice)")
        visited.add(node)
        base = tree + node * node_size
        flags = _u16(buf, base + 4)
        if flags & FLAG_DIRECTORY:
            count, first = _u32(buf, base + 6), _u32(buf, base + 10)
            children = []
            for child in range(first, first + count):
                children.append((child, prefix + name_of(child) + "/"))
            stack.extend(reversed(children))
        else:
            path = prefix[:-1]
            if path in seen:
                continue
            seen.add(path)
            out.append(RccEntry(path, flags, data + _u32(buf, base + 10)))
    return out


def entry_size(buf: bytes, entry: RccEntry) -> int | None:
    """The uncompressed size of an entry without decompressing it (None for zstd entries)."""
    size = _u32(buf, entry.offset)
    if entry.flags & FLAG_COMPRESSED_ZSTD:
        return None
    if entry.flags & FLAG_COMPRESSED:
        return _u32(buf, entry.offset + 4) if size >= 4 else None
    return size


def read_entry(buf: bytes, entry: RccEntry) -> bytes:
    """The (uncompressed) content of one entry of the archive in ``buf``."""
    size = _u32(buf, entry.offset)
    start = entry.offset + 4
    if start + size > len(buf):
        raise RccError(f"{entry.path}: data out of range")
    raw = buf[start:start + size]
    if entry.flags & FLAG_COMPRESSED_ZSTD:
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError as e:
            raise RccError(f"{entry.path}: zstd-compressed and no zstandard module") from e
        return zstandard.ZstdDecompressor().decompress(raw)
    if entry.flags & FLAG_COMPRESSED:
        if size < 4:
            raise RccError(f"{entry.path}: truncated compressed entry")
        expect = _u32(raw, 0)
        try:
            out = zlib.decompress(raw[4:])
        except zlib.error as e:
            raise RccError(f"{entry.path}: {e}") from e
        if len(out) != expect:
            raise RccError(f"{entry.path}: {len(out)} bytes, header says {expect}")
        return out
    return raw


def read_rcc(buf: bytes) -> dict[str, bytes]:
    """Every file of the archive in ``buf``: {path inside the archive: content}."""
    return {e.path: read_entry(buf, e) for e in list_rcc(buf)}


def read_rcc_file(path: str | Path, members: set[str] | None = None) -> dict[str, bytes]:
    """The files of the archive at ``path`` (only those named in ``members`` if given)."""
    buf = Path(path).read_bytes()
    return {e.path: read_entry(buf, e) for e in list_rcc(buf)
            if members is None or e.path in members}
