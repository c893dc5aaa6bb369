"""redecode dataset: a tiny build checked array by array, determinism, split, codecs, manifest."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from redecode.cli import main as cli_main
from redecode.pipeline.samples import camera_frames, encode_frames, sample_photo
from redecode.training import dataset as ds
from redecode.training import sources as src_mod
from redecode.training import encodes
from redecode.training.camera import camera_clip, dead_leaves
from redecode.training.clips import load_clip, read_meta

QP_RANGE = (30, 34)
ARRAYS = ("src_y", "src_u", "src_v", "dec_y", "dec_u", "dec_v", "qp", "types", "l0", "l1", "l0_mask", "l1_mask")


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


def _args(photos: Path, out: Path, seed: int = 5, jobs: int = 1, codecs=("libx264",)) -> list[str]:
    return ["dataset", str(photos), "-o", str(out), "--clips", "3", "--val-clips", "1", "--frames", "8",
            "--size", "64x64", "--qp-range", f"{QP_RANGE[0]}:{QP_RANGE[1]}", "--seed", str(seed),
            "--jobs", str(jobs), "--codec", *codecs]


@pytest.fixture(scope="module")
def build(photos, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "data"
    assert cli_main(_args(photos, out)) == 0
    return out


def _clips(out: Path, split: str) -> list[tuple[Path, object, dict]]:
    return [(p, load_clip(p), read_meta(p)) for p in sorted((out / split).glob("*.npz"))]


def test_layout_shapes_and_the_training_reader(build):
    train, val = _clips(build, "train"), _clips(build, "val")
    assert [p.name for p, _, _ in train] == ["000000.npz", "000001.npz", "000002.npz"]
    assert len(val) == 1
    for _, clip, meta in train + val:
        assert clip.length == 8 and (clip.height, clip.width) == (64, 64)  # load_clip validated the rest
        assert sorted(meta["decode_order"]) == list(range(8))
        assert meta["types"] == "".join(clip.type_letters) and meta["types"][0] == "I"
    assert not list(build.glob("*/*partial*")) and not list(build.glob("*/*.tmp*"))


def test_metadata_follows_the_encoder(build):
    saw_b = n_vectors = 0
    for _, clip, meta in _clips(build, "train") + _clips(build, "val"):
        enc = meta["encoder"]
        if enc["bf"] == 0:
            assert "B" not in meta["types"]
        saw_b |= "B" in meta["types"]
        if enc["rc"] == "qp":
            assert QP_RANGE[0] <= enc["qp"] <= QP_RANGE[1]
            # x264's I/B offsets (ipratio, pbratio) move frame QPs a few steps around the value
            assert np.all(np.abs(clip.qp.astype(int) - enc["qp"]) <= 5), np.unique(clip.qp)
        for t, kind in enumerate(clip.types):
            for lst in ("l0", "l1"):
                vec, mask = getattr(clip, lst)[t], getattr(clip, f"{lst}_mask")[t]
                assert np.all(vec[:, ~mask] == 0)
            if kind == 0:
                assert not clip.l0_mask[t].any() and not clip.l1_mask[t].any()
            if kind == 1:
                assert not clip.l1_mask[t].any()
                n_vectors += int(clip.l0_mask[t].sum())
        assert not np.array_equal(clip.src_y, clip.dec_y)
        assert 22 < meta["psnr_y"] < 50
        assert not np.array_equal(clip.src_y[0], clip.src_y[-1])  # the camera moves
    assert saw_b and n_vectors > 0


def test_train_and_validation_sources_are_disjoint(build):
    train = {m["source"] for _, _, m in _clips(build, "train")}
    val = {m["source"] for _, _, m in _clips(build, "val")}
    assert train and val and not train & val
    manifest = json.loads((build / "manifest.json").read_text())
    listed = {sp: {s["key"] for s in manifest["sources"][sp]} for sp in ("train", "val")}
    assert not listed["train"] & listed["val"]
    assert len(listed["train"]) + len(listed["val"]) == 4  # notes.txt is no source
    s = manifest["splits"]["train"]
    files = sorted((build / "train").glob("*.npz"))
    assert s["clips"] == 3 == len(files) and s["frames"] == 24
    assert s["bytes"] == sum(f.stat().st_size for f in files) and s["failed"] == []


def test_same_seed_same_arrays_also_with_workers(build, photos, tmp_path):
    again = tmp_path / "again"
    assert cli_main(_args(photos, again, jobs=2)) == 0
    for split in ("train", "val"):
        for (_, a, ma), (_, b, mb) in zip(_clips(build, split), _clips(again, split), strict=True):
            assert ma == mb
            for key in ARRAYS:
                assert np.array_equal(getattr(a, key), getattr(b, key)), key
    other = tmp_path / "other"
    assert cli_main(_args(photos, other, seed=6)) == 0
    assert not np.array_equal(_clips(build, "train")[0][1].src_y, _clips(other, "train")[0][1].src_y)


def test_resume_keeps_finished_clips(build, photos, tmp_path):
    out = tmp_path / "resume"
    assert cli_main(_args(photos, out)) == 0
    first = out / "train" / "000000.npz"
    stamp = first.stat().st_mtime_ns
    (out / "train" / "000002.npz").unlink()
    assert cli_main(_args(photos, out) + ["--resume"]) == 0
    assert first.stat().st_mtime_ns == stamp
    assert np.array_equal(load_clip(out / "train" / "000002.npz").dec_y, load_clip(build / "train" / "000002.npz").dec_y)


def test_mpeg2_and_mpeg4_clips(photos, tmp_path):
    out = tmp_path / "mpeg"
    assert cli_main(_args(photos, out, codecs=("mpeg2video", "mpeg4")) + ["--clips", "4"]) == 0
    seen = set()
    for _, clip, meta in _clips(out, "train"):
        enc = meta["encoder"]
        seen.add(enc["codec"])
        assert enc["rc"] == "qscale" and 1 <= enc["qscale"] <= 31
        assert clip.l0_mask[clip.types == 1].any()  # MPEG vectors are exported too
        assert 20 < meta["psnr_y"] < 50
    assert seen == {"mpeg2video", "mpeg4"}


def test_validation_ladder(photos, tmp_path):
    out = tmp_path / "ladder"
    args = _args(photos, out)
    args[args.index("--clips") + 1] = "0"
    args[args.index("--val-clips") + 1] = "0"
    assert cli_main(args + ["--val-ladder", "--ladder-scenes", "1"]) == 0
    clips = _clips(out, "val_ladder")
    assert [p.name for p, _, _ in clips] == [f"000_qp{q}.npz" for q in (22, 27, 32, 37, 42)]
    psnrs = []
    for q, (_, clip, meta) in zip((22, 27, 32, 37, 42), clips, strict=True):
        enc = meta["encoder"]
        assert (enc["qp"], enc["preset"], enc["bf"], enc["refs"]) == (q, "medium", 3, 3)
        assert np.array_equal(clip.src_y, clips[0][1].src_y)  # same scene at every QP
        psnrs.append(meta["psnr_y"])
    assert psnrs == sorted(psnrs, reverse=True)


def test_lossless_encode_returns_the_source_planes():
    """The stored source planes are exactly what the encoder was given."""
    frames, _ = camera_clip(sample_photo(), 48, 32, 4, seed=1)
    src = encodes.to_yuv420(frames)
    clip, _ = encodes.encode_decode(src, encodes.x264_settings("qp", 0, "medium", 0, 1, 250))
    for t, (y, u, v) in enumerate(src):
        assert np.array_equal(y, clip.dec_y[t]) and np.array_equal(u, clip.dec_u[t]) and np.array_equal(v, clip.dec_v[t])


def test_camera_clip_is_deterministic_and_moves():
    img = sample_photo()
    a, info = camera_clip(img, 96, 64, 6, seed=11)
    b, _ = camera_clip(img, 96, 64, 6, seed=11)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0].shape == (64, 96, 3) and a[0].dtype == np.uint8
    assert set(info) >= {"scale", "speed", "objects", "centre"}


def test_user_split_depends_on_file_names_only(photos):
    a, _ = src_mod.user_sources([str(photos)], 0.1)
    b, _ = src_mod.user_sources([str(photos)], 0.1)
    assert [(s.key, s.split) for s in a] == [(s.key, s.split) for s in b]
    assert sum(s.split == "val" for s in a) == 1


def test_a_catalogued_real_video_gives_a_training_and_a_held_out_span(tmp_path):
    root = tmp_path / "imageio"
    root.mkdir()
    encode_frames(root / "cockatoo.mp4", camera_frames(320, 256, 60, seed=2), options={"crf": "10"})
    sources, notes = src_mod.builtin_sources(["imageio"], tmp_path / "cache", roots={"imageio": root})
    spans = {s.split: s.span for s in sources if s.key == "imageio/cockatoo.mp4"}
    assert spans == {"train": (0.0, 0.75), "val": (0.75, 1.0)}
    assert any("realshort" in n for n in notes)  # the other catalogued file is missing
    val = next(s for s in sources if s.split == "val")
    opts = ds.DatasetOptions(out=tmp_path / "o", frames=8, size=((128, 96), (128, 96)))
    spec = ds.plan_ladder(0, val, opts)
    assert spec["start_s"] >= 0.75 * val.duration - 1e-6  # validation frames come from the held-out end
    frames, info = src_mod.video_clip(val, spec["width"], spec["height"], 8, spec["start_s"], 1)
    assert len(frames) == 8 and frames[0].shape == (96, 128, 3) and info["scale"] >= 2.0


@pytest.mark.parametrize("bad", [["--size", "100x64"], ["--size", "64"], ["--qp-range", "40:20"],
                                 ["/no/such/folder"], ["--codec", "vp9"], ["--builtin", "nope"]])
def test_user_mistakes_are_one_line_errors(bad, photos, tmp_path, capsys):
    args = ["dataset", "-o", str(tmp_path / "x")] + (bad if bad[0].startswith("/") else [str(photos), *bad])
    assert cli_main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("redecode: error: "), err
    assert not (tmp_path / "x" / "train").exists() or not list((tmp_path / "x" / "train").iterdir())


def test_dead_leaves_pictures_are_deterministic_and_cover_the_frame():
    a = dead_leaves(np.random.default_rng(3), width=320, height=240)
    b = dead_leaves(np.random.default_rng(3), width=320, height=240)
    c = dead_leaves(np.random.default_rng(4), width=320, height=240)
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    _, counts = np.unique(a.reshape(-1, 3) // 8, axis=0, return_counts=True)
    assert counts.max() < 0.1 * a.shape[0] * a.shape[1]  # no flat background over large areas
    assert a.std() > 20


def test_dead_leaves_sources_are_drawn_once(tmp_path, monkeypatch):
    monkeypatch.setattr(src_mod, "DEAD_LEAVES_IMAGES", 3)
    monkeypatch.setattr(src_mod, "DEAD_LEAVES_SIZE", (160, 128))
    leaves = src_mod.dead_leaves_sources(tmp_path, seed=1)
    assert len(leaves) == 3 and all(s.split == "train" for s in leaves)
    assert abs(sum(s.weight for s in leaves) - 4.0) < 1e-9
    stamp = Path(leaves[0].path).stat().st_mtime_ns
    again = src_mod.dead_leaves_sources(tmp_path, seed=1)
    assert [s.path for s in again] == [s.path for s in leaves]
    assert Path(leaves[0].path).stat().st_mtime_ns == stamp


def test_manifest_summary_leaves_lossless_clips_out_of_the_mean_psnr():
    from redecode.training.manifest import summarize

    def rec(psnr):
        return {"bytes": 10, "meta": {"frames": 4, "encoder": {"codec": "libx264", "rc": "qp", "qp": 30, "preset": "fast", "bf": 1},
                                      "mean_qp": 30.0, "types": "IPBP", "psnr_y": psnr,
                                      "source": "a", "source_kind": "image"}}

    s = summarize([rec(30.0), rec(float("inf")), rec(40.0), {"error": "x: failed"}], {}, 0)
    assert s["psnr_y_mean"] == 35.0 and s["lossless_clips"] == 1 and s["clips"] == 3
    assert s["failed"] == ["x: failed"] and json.loads(json.dumps(s, allow_nan=False))["frame_types"]["P"] == 6


def test_encode_decode_keeps_the_mpeg4_b_motion_warning_out_of_a_build(caplog) -> None:
    import logging

    from redecode.pipeline.samples import camera_frames
    from redecode.training.encodes import encode_decode, to_yuv420

    pristine = to_yuv420(list(camera_frames(64, 48, 6, seed=1)))
    enc = {"codec": "mpeg4", "options": {"qmin": "6", "qmax": "6", "bf": "2", "g": "6"}}
    with caplog.at_level(logging.WARNING, logger="redecode"):
        clip, _ = encode_decode(pristine, enc)
    assert "B" in clip.type_letters
    assert not [r for r in caplog.records if "carry no motion vectors" in r.getMessage()]
