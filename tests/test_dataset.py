"""tools/make_dataset.py: a tiny build checked array by array, determinism, split, manifest."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from redecode.pipeline.samples import sample_photo

ROOT = Path(__file__).resolve().parents[1]


def _load_tool():
    name = "make_dataset"
    if name not in sys.modules:  # registered, so that worker processes can unpickle its tasks
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "make_dataset.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


md = _load_tool()
lib = sys.modules["datasets_lib"]

KEYS = ("src_y", "src_u", "src_v", "dec_y", "dec_u", "dec_v", "qp", "types", "decode_order",
        "l0", "l1", "l0_mask", "l1_mask", "meta")
QP_RANGE = (30, 34)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """Four distinct photographs (pieces of the shipped CC0 sample photo), as user sources."""
    d = tmp_path_factory.mktemp("photos")
    img = sample_photo()[:, :, ::-1]  # BGR for OpenCV
    cv2.imwrite(str(d / "a.png"), img[:200, :300])
    cv2.imwrite(str(d / "b.png"), img[200:, :300])
    cv2.imwrite(str(d / "c.jpg"), img[:200, 300:], [cv2.IMWRITE_JPEG_QUALITY, 98])
    cv2.imwrite(str(d / "d.png"), np.ascontiguousarray(img[200:, 300:][:, ::-1]))
    (d / "notes.txt").write_text("not a source")
    return d


def _args(photos: Path, out: Path, seed: int = 5, jobs: int = 1) -> list[str]:
    return ["--out", str(out), "--no-builtin", "--source", str(photos), "--clips-train", "3",
            "--clips-val", "1", "--frames", "8", "--size", "64x64", "--qp-range",
            f"{QP_RANGE[0]}:{QP_RANGE[1]}", "--seed", str(seed), "--jobs", str(jobs)]


@pytest.fixture(scope="module")
def build(photos, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "data"
    assert md.main(_args(photos, out)) == 0
    return out


def _clips(out: Path, split: str) -> list[dict]:
    clips = []
    for path in sorted((out / split).glob("*.npz")):
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["meta"] = json.loads(str(arrays["meta"]))
        arrays["path"] = path
        clips.append(arrays)
    return clips


def test_layout_shapes_and_dtypes(build):
    train, val = _clips(build, "train"), _clips(build, "val")
    assert [c["path"].name for c in train] == ["000000.npz", "000001.npz", "000002.npz"]
    assert len(val) == 1
    t, h, w = 8, 64, 64
    expected = {
        "src_y": ((t, h, w), np.uint8), "src_u": ((t, h // 2, w // 2), np.uint8),
        "src_v": ((t, h // 2, w // 2), np.uint8), "dec_y": ((t, h, w), np.uint8),
        "dec_u": ((t, h // 2, w // 2), np.uint8), "dec_v": ((t, h // 2, w // 2), np.uint8),
        "qp": ((t, h // 16, w // 16), np.int16), "types": ((t,), np.uint8),
        "decode_order": ((t,), np.int32), "l0": ((t, 2, h // 8, w // 8), np.float32),
        "l1": ((t, 2, h // 8, w // 8), np.float32), "l0_mask": ((t, h // 8, w // 8), np.bool_),
        "l1_mask": ((t, h // 8, w // 8), np.bool_),
    }
    for clip in train + val:
        assert set(clip) - {"path"} == set(KEYS)
        for key, (shape, dtype) in expected.items():
            assert clip[key].shape == shape, (key, clip[key].shape)
            assert clip[key].dtype == dtype, (key, clip[key].dtype)
        assert sorted(clip["decode_order"].tolist()) == list(range(t))
    assert not list(build.glob("*/*.tmp"))


def test_the_training_loader_reads_the_shards(build):
    from redecode.models.clips import load_clip

    for path in sorted(build.glob("*/*.npz")):
        clip = load_clip(path)
        assert clip.length == 8 and (clip.height, clip.width) == (64, 64)


def test_frame_types_follow_the_encoder_settings(build):
    clips = _clips(build, "train") + _clips(build, "val")
    saw_b = False
    for clip in clips:
        types = "".join("IPB"[c] for c in clip["types"])
        enc = clip["meta"]["encoder"]
        assert types[0] == "I" and "P" in types, types
        assert types == clip["meta"]["types"]
        if enc["bf"] == 0:
            assert "B" not in types
        saw_b |= "B" in types
    assert saw_b, "no clip with B-frames: pick another test seed"


def test_qp_maps_match_the_rate_control(build):
    for clip in _clips(build, "train") + _clips(build, "val"):
        enc, qp = clip["meta"]["encoder"], clip["qp"]
        assert qp.min() >= 0 and qp.max() <= 51
        if enc["rc"] == "qp":
            assert QP_RANGE[0] <= enc["qp"] <= QP_RANGE[1]
            # x264's I/B offsets (ipratio, pbratio) move frame QPs a few steps around the value.
            assert np.all(np.abs(qp.astype(int) - enc["qp"]) <= 5), np.unique(qp)
        else:
            assert abs(float(qp.mean()) - enc["crf"]) < 12


def test_motion_vectors_and_masks_agree(build):
    n_vectors = 0
    for clip in _clips(build, "train") + _clips(build, "val"):
        for t, kind in enumerate(clip["types"]):
            for lst in ("l0", "l1"):
                vec, mask = clip[lst][t], clip[f"{lst}_mask"][t]
                assert np.all(vec[:, ~mask] == 0)
                assert np.all(np.isfinite(vec))
            if kind == 0:  # I
                assert not clip["l0_mask"][t].any() and not clip["l1_mask"][t].any()
            if kind == 1:  # P: list 0 only
                assert not clip["l1_mask"][t].any()
                n_vectors += int(clip["l0_mask"][t].sum())
    assert n_vectors > 0


def test_decoded_differs_from_source_with_a_sensible_psnr(build):
    for clip in _clips(build, "train") + _clips(build, "val"):
        assert not np.array_equal(clip["src_y"], clip["dec_y"])
        assert 22 < clip["meta"]["psnr_y"] < 50
        mse = np.mean((clip["src_y"].astype(float) - clip["dec_y"].astype(float)) ** 2, (1, 2))
        assert np.isclose(np.mean(10 * np.log10(255 ** 2 / mse)), clip["meta"]["psnr_y"],
                          atol=1e-3)
        # The source moves: camera motion over the still photograph.
        assert not np.array_equal(clip["src_y"][0], clip["src_y"][-1])


def test_train_and_validation_sources_are_disjoint(build):
    train = {c["meta"]["source"] for c in _clips(build, "train")}
    val = {c["meta"]["source"] for c in _clips(build, "val")}
    assert train and val and not train & val
    manifest = json.loads((build / "manifest.json").read_text())
    listed = {sp: {s["key"] for s in manifest["sources"][sp]} for sp in ("train", "val")}
    assert not listed["train"] & listed["val"]
    assert train <= listed["train"] and val <= listed["val"]
    assert len(listed["train"]) + len(listed["val"]) == 4  # notes.txt is no source


def test_manifest_counts_and_sizes(build):
    m = json.loads((build / "manifest.json").read_text())
    assert m["format"] == md.FORMAT
    for split, n in (("train", 3), ("val", 1)):
        s = m["splits"][split]
        files = sorted((build / split).glob("*.npz"))
        assert s["clips"] == n == len(files)
        assert s["frames"] == 8 * n
        assert s["bytes"] == sum(f.stat().st_size for f in files)
        assert sum(s["qp_hist"].values()) + sum(s["crf_hist"].values()) == n
        assert sum(s["frame_types"].values()) == 8 * n
        assert s["failed"] == [] and s["seed"] == 5
    assert m["total_bytes"] == m["splits"]["train"]["bytes"] + m["splits"]["val"]["bytes"]


def test_same_seed_same_arrays_also_with_workers(build, photos, tmp_path):
    again = tmp_path / "again"
    assert md.main(_args(photos, again, jobs=2)) == 0
    for split in ("train", "val"):
        for a, b in zip(_clips(build, split), _clips(again, split), strict=True):
            for key in KEYS:
                if key == "meta":
                    assert a["meta"] == b["meta"]
                else:
                    assert np.array_equal(a[key], b[key]), (split, a["path"].name, key)
    other = tmp_path / "other"
    assert md.main(_args(photos, other, seed=6)) == 0
    assert not np.array_equal(_clips(build, "train")[0]["src_y"],
                              _clips(other, "train")[0]["src_y"])


def test_resume_keeps_finished_clips(build, photos, tmp_path):
    out = tmp_path / "resume"
    assert md.main(_args(photos, out)) == 0
    first = out / "train" / "000000.npz"
    stamp = first.stat().st_mtime_ns
    (out / "train" / "000002.npz").unlink()
    assert md.main(_args(photos, out) + ["--resume"]) == 0
    assert first.stat().st_mtime_ns == stamp
    with np.load(out / "train" / "000002.npz") as a, np.load(build / "train" / "000002.npz") as b:
        assert np.array_equal(a["dec_y"], b["dec_y"])


def test_validation_ladder(photos, tmp_path):
    out = tmp_path / "ladder"
    args = _args(photos, out)
    args[args.index("--clips-train") + 1] = "0"
    args[args.index("--clips-val") + 1] = "0"
    assert md.main(args + ["--val-ladder", "--ladder-scenes", "1"]) == 0
    files = sorted((out / "val_ladder").glob("*.npz"))
    assert [f.name for f in files] == [f"000_qp{q}.npz" for q in (22, 27, 32, 37, 42)]
    clips = _clips(out, "val_ladder")
    psnrs = []
    for q, clip in zip((22, 27, 32, 37, 42), clips, strict=True):
        enc = clip["meta"]["encoder"]
        assert (enc["qp"], enc["preset"], enc["bf"]) == (q, "medium", 3)
        assert np.array_equal(clip["src_y"], clips[0]["src_y"])  # same scene at every QP
        assert clip["meta"]["split"] == "val_ladder"
        psnrs.append(clip["meta"]["psnr_y"])
    assert psnrs == sorted(psnrs, reverse=True)
    m = json.loads((out / "manifest.json").read_text())
    assert m["splits"]["val_ladder"]["clips"] == 5 and "train" not in m["splits"]


def test_lossless_encode_returns_the_source_planes():
    """The stored source planes are exactly what the encoder was given."""
    frames, _ = lib.camera_clip(sample_photo(), 48, 32, 4, seed=1)
    src = lib.to_yuv420(frames)
    dec = lib.encode_decode(src, {"qp": "0", "bf": "0", "threads": "1"})
    for s, key in zip(src, ("dec_y", "dec_u", "dec_v"), strict=True):
        assert np.array_equal(s, dec[key])


def test_camera_clip_is_deterministic_and_moves():
    img = sample_photo()
    a, info = lib.camera_clip(img, 96, 64, 6, seed=11)
    b, _ = lib.camera_clip(img, 96, 64, 6, seed=11)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0].shape == (64, 96, 3) and a[0].dtype == np.uint8
    assert set(info) >= {"scale", "speed", "objects", "centre"}


def test_user_split_depends_on_file_names_only(photos):
    a, _ = lib.user_sources([str(photos)], 0.1, 8)
    b, _ = lib.user_sources([str(photos)], 0.1, 8)
    assert [(s.key, s.split) for s in a] == [(s.key, s.split) for s in b]
    assert sum(s.split == "val" for s in a) == 1


@pytest.mark.parametrize("bad", [["--size", "100x64"], ["--size", "64"], ["--qp-range", "40:20"],
                                 ["--source", "/no/such/folder"]])
def test_user_mistakes_are_one_line_errors(bad, tmp_path, capsys):
    assert md.main(["--out", str(tmp_path / "x"), "--no-builtin"] + bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("make_dataset: ")


def test_dead_leaves_pictures_are_deterministic_and_cover_the_frame():
    a = lib.dead_leaves(np.random.default_rng(3), width=320, height=240)
    b = lib.dead_leaves(np.random.default_rng(3), width=320, height=240)
    c = lib.dead_leaves(np.random.default_rng(4), width=320, height=240)
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # leaves cover the frame: no flat background colour shows through over large areas
    _, counts = np.unique(a.reshape(-1, 3) // 8, axis=0, return_counts=True)
    assert counts.max() < 0.1 * a.shape[0] * a.shape[1]
    assert a.std() > 20


def test_builtin_collections_lomiri_and_dead_leaves(tmp_path, monkeypatch):
    monkeypatch.setattr(lib, "DEAD_LEAVES_IMAGES", 3)
    monkeypatch.setattr(lib, "DEAD_LEAVES_SIZE", (160, 128))
    lomiri = tmp_path / "backgrounds"
    lomiri.mkdir()
    cv2.imwrite(str(lomiri / lib.LOMIRI_PHOTOS[0].file), sample_photo()[:, :, ::-1])
    gen = tmp_path / "sources"
    sources, missing = lib.builtin_sources(("lomiri", "deadleaves"), None, lomiri, gen, seed=1)
    photos = [s for s in sources if s.key.startswith("lomiri/")]
    leaves = [s for s in sources if s.key.startswith("deadleaves/")]
    assert [s.licence for s in photos] == [lib.LOMIRI_PHOTOS[0].licence]
    assert len(missing) == len(lib.LOMIRI_PHOTOS) - 1
    assert all(p.licence in ("CC0-1.0", "CC-BY-4.0") for p in lib.LOMIRI_PHOTOS)
    assert len(leaves) == lib.DEAD_LEAVES_IMAGES and all(s.split == "train" for s in leaves)
    assert abs(sum(s.weight for s in leaves) - 4.0) < 1e-9
    first = Path(leaves[0].path)
    stamp = first.stat().st_mtime_ns
    again, _ = lib.builtin_sources(("deadleaves",), None, None, gen, seed=1)
    assert [s.path for s in again] == [s.path for s in leaves]
    assert first.stat().st_mtime_ns == stamp  # drawn once, then reused
