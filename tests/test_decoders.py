"""The decoder contract: every field, every codec family, determinism and the error cases."""

from __future__ import annotations

import io
import logging
import math
from fractions import Fraction

import av
import numpy as np
import pytest

from redecode.decoders import DecodeError, open_video, predict_from_reference
from redecode.decoders.metadata import mpeg_step_to_qp, motion_grid
from redecode.pipeline.samples import camera_frames, encode_frames



def yuv420_of(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U, V planes PyAV makes of an RGB frame of even size (the encoder's exact input)."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    h, w = rgb.shape[:2]
    a = frame.to_ndarray()
    ch, cw = (h + 1) // 2, (w + 1) // 2
    y = a[:h]
    rest = a[h:].reshape(-1)
    return y, rest[: ch * cw].reshape(ch, cw), rest[ch * cw:].reshape(ch, cw)


def decode_all(source, **kw):
    with open_video(source, **kw) as video:
        return video.info, list(video), video.stats


def test_h264_contract(clips):
    info, frames, stats = decode_all(clips.h264())
    assert (info.width, info.height) == (160, 96)
    assert info.frame_rate == Fraction(25)
    assert info.codec == "h264" and info.pix_fmt == "yuv420p" and info.bit_depth == 8
    assert info.frame_count == 24 and info.has_motion and info.has_qp
    assert isinstance(info.time_base, Fraction)
    assert {info.color_range, info.color_matrix} <= {"unknown", "tv", "pc", "bt709", "smpte170m"}
    assert len(frames) == 24 and stats.frames == 24 and stats.errors == 0
    assert [f.index for f in frames] == list(range(24))
    pts = [f.pts for f in frames]
    assert pts == sorted(pts) and len(set(pts)) == 24
    assert {f.pict_type for f in frames} == {"I", "P", "B"}
    assert sorted(f.decode_index for f in frames) == list(range(24))
    for f in frames:
        y, u, v = f.planes
        assert y.shape == (96, 160) and u.shape == v.shape == (48, 80)
        assert y.dtype == u.dtype == np.uint8 and y.flags.c_contiguous
        assert f.qp.shape == (6, 10) and f.qp.dtype == np.int16
        assert 20 <= f.qp.min() and f.qp.max() <= 40
        assert f.size_bits > 0 and f.time_base == info.time_base
        if f.pict_type == "I":
            assert f.motion is None
            continue
        m = f.motion
        assert m.block_size == 8
        assert m.l0.shape == m.l1.shape == (2, 12, 20) and m.l0.dtype == np.float32
        assert m.l0_mask.shape == (12, 20) and m.l0_mask.dtype == bool
        if f.pict_type == "P":
            assert not m.l1_mask.any() and not m.l1.any()
        assert not m.l0[:, ~m.l0_mask].any()
    b_frames = [f for f in frames if f.pict_type == "B"]
    assert any(f.motion.l1_mask.any() for f in b_frames)
    # x264 applies its I/P and P/B quantizer offsets: I < P < B on average.
    mean = {t: np.mean([f.qp.mean() for f in frames if f.pict_type == t]) for t in "IPB"}
    assert mean["I"] < mean["P"] < mean["B"]


@pytest.mark.parametrize("which,size,chroma", [("odd", (65, 37), (37, 65)),
                                                ("unaligned", (66, 38), (19, 33))])
def test_odd_size_grids(clips, which, size, chroma):
    info, frames, _ = decode_all(getattr(clips, which)())
    assert (info.width, info.height) == size
    assert {f.pict_type for f in frames} == {"I", "P", "B"}
    for f in frames:
        assert f.planes[0].shape == size[::-1]
        assert f.planes[1].shape == f.planes[2].shape == chroma
        assert f.qp.shape == (3, 5)
        if f.motion is not None:
            assert f.motion.l0.shape == (2, 5, 9) and f.motion.l0_mask.shape == (5, 9)


def test_ten_bit_planes(clips):
    info, frames, _ = decode_all(clips.tenbit())
    assert info.bit_depth == 10 and info.pix_fmt == "yuv420p10le"
    y = frames[0].planes[0]
    assert y.dtype == np.uint16 and 255 < int(y.max()) <= 1023
    assert frames[0].qp is not None


@pytest.mark.parametrize("which", ["mpeg2", "mpeg4"])
def test_mpeg_quantiser_mapped_to_h264_scale(clips, which):
    info, frames, _ = decode_all(getattr(clips, which)())
    assert info.has_qp and info.has_motion
    expected = round(4 + 6 * math.log2(10))  # quantiser scale code 5 -> step 10 -> QP 24
    for f in frames:
        assert f.qp.shape == (4, 6)
        assert (f.qp == expected).all()
    assert {f.pict_type for f in frames} == {"I", "P", "B"}
    assert all(f.motion is not None for f in frames if f.pict_type == "P")
    # MPEG-4 Part 2 B-frames: FFmpeg exports no vectors for them (metadata.py), so none are
    # handed out; MPEG-2 B-frames have theirs
    b_motion = [f.motion is not None for f in frames if f.pict_type == "B"]
    assert all(b_motion) if which == "mpeg2" else not any(b_motion)


def test_mpeg_step_mapping_is_monotonic_and_anchored():
    steps = np.array([2, 4, 10, 62])
    assert mpeg_step_to_qp(steps).tolist() == [10, 16, 24, 40]


def test_hevc_decodes_without_metadata_and_warns_once(clips, caplog):
    with caplog.at_level(logging.WARNING, logger="redecode"):
        info, frames, _ = decode_all(clips.hevc())
    assert info.codec == "hevc" and not info.has_motion and not info.has_qp
    assert len(frames) == 6
    assert all(f.qp is None and f.motion is None for f in frames)
    assert len([r for r in caplog.records if "no motion vectors" in r.message]) == 1


def test_metadata_off_decodes_the_same_pixels(clips):
    _, with_meta, _ = decode_all(clips.h264())
    info, plain, _ = decode_all(clips.h264(), metadata=False)
    assert not info.has_motion and not info.has_qp
    assert len(plain) == len(with_meta)
    for a, b in zip(plain, with_meta):
        assert a.qp is None and a.motion is None
        assert a.pict_type == b.pict_type and a.pts == b.pts
        for pa, pb in zip(a.planes, b.planes):
            np.testing.assert_array_equal(pa, pb)


def test_metadata_is_deterministic(clips):
    runs = [decode_all(clips.h264())[1] for _ in range(3)]
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a.qp, b.qp)
            if a.motion is None:
                assert b.motion is None
                continue
            for name in ("l0", "l1", "l0_mask", "l1_mask"):
                np.testing.assert_array_equal(getattr(a.motion, name), getattr(b.motion, name))


def test_motion_compensation_proves_the_vectors(clips):
    """Predicting each P-frame from the previous decoded frame with its l0 vectors."""
    _, frames, _ = decode_all(clips.pan())
    checked = 0
    for prev, cur in zip(frames, frames[1:]):
        assert cur.pict_type == "P"
        m = cur.motion
        mask = np.kron(m.l0_mask, np.ones((8, 8), bool))[: cur.height, : cur.width]
        target = cur.planes[0].astype(np.float32)
        predicted = predict_from_reference(prev.planes[0], m.l0)
        mse_mc = ((predicted - target) ** 2)[mask].mean()
        mse_still = ((prev.planes[0] - target) ** 2)[mask].mean()
        assert mask.mean() > 0.8
        assert mse_mc < 0.15 * mse_still, (cur.index, mse_mc, mse_still)
        # chroma follows the same vectors at half scale
        pc = predict_from_reference(prev.planes[1], m.l0, block=4, scale=0.5)
        cmask = np.kron(m.l0_mask, np.ones((4, 4), bool))[: pc.shape[0], : pc.shape[1]]
        tc = cur.planes[1].astype(np.float32)
        assert ((pc - tc) ** 2)[cmask].mean() < ((prev.planes[1] - tc) ** 2)[cmask].mean()
        checked += 1
    assert checked == 11


def test_predict_integer_and_subpel_vectors():
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 255, (32, 48)).astype(np.float32)
    vec = np.zeros((2, 4, 6), np.float32)
    vec[0], vec[1] = 3, -2
    pred = predict_from_reference(ref, vec)
    np.testing.assert_array_equal(pred[2:, :45], ref[:30, 3:48])
    vec[0], vec[1] = 0.5, 0
    pred = predict_from_reference(ref, vec)
    np.testing.assert_allclose(pred[:, :47], (ref[:, :47] + ref[:, 1:]) / 2, atol=1e-3)


def test_motion_grid_block_layout():
    dtype = np.dtype([("source", "i4"), ("w", "u1"), ("h", "u1"), ("dst_x", "i2"),
                      ("dst_y", "i2"), ("motion_x", "i4"), ("motion_y", "i4"),
                      ("motion_scale", "u2")])
    mvs = np.array([(-1, 16, 16, 8, 8, 4, -8, 4),     # 16x16 at MB (0,0): 2x2 cells
                    (-1, 8, 8, 20, 4, 1, 0, 4),       # 8x8 at cell (0, 2)
                    (1, 16, 8, 24, 12, 6, 2, 2)],     # list 1, 16x8 at cells (1, 2..3)
                   dtype)
    m = motion_grid(mvs, 32, 16)
    assert m.l0_mask.tolist() == [[True, True, True, False], [True, True, False, False]]
    assert m.l1_mask.tolist() == [[False] * 4, [False, False, True, True]]
    np.testing.assert_array_equal(m.l0[:, 0, 0], [1.0, -2.0])
    np.testing.assert_array_equal(m.l0[:, 0, 2], [0.25, 0.0])
    np.testing.assert_array_equal(m.l1[:, 1, 3], [3.0, 1.0])


def _reference_grid(mvs: np.ndarray, width: int, height: int):
    """motion_grid written as the obvious loop: each block fills the 8x8 cells it covers."""
    gh, gw = -(-height // 8), -(-width // 8)
    vec = np.zeros((2, 2, gh, gw), np.float32)
    mask = np.zeros((2, gh, gw), bool)
    for e in mvs:
        li = int(e["source"] > 0)
        left, top = int(e["dst_x"]) - int(e["w"]) // 2, int(e["dst_y"]) - int(e["h"]) // 2
        for y in range(top // 8, min(gh, (top + max(int(e["h"]), 8) - 1) // 8 + 1)):
            for x in range(left // 8, min(gw, (left + max(int(e["w"]), 8) - 1) // 8 + 1)):
                scale = max(int(e["motion_scale"]), 1)
                vec[li, :, y, x] = (e["motion_x"] / scale, e["motion_y"] / scale)
                mask[li, y, x] = True
    return vec, mask


@pytest.mark.parametrize("which", ["h264", "unaligned", "mpeg2", "mpeg4"])
def test_motion_grid_matches_a_plain_loop_on_real_streams(clips, which):
    import av

    with av.open(str(getattr(clips, which)())) as c:
        stream = c.streams.video[0]
        stream.codec_context.options = {"export_side_data": "mvs"}
        checked = 0
        for frame in c.decode(stream):
            side = frame.side_data.get("MOTION_VECTORS")
            if side is None:
                continue
            mvs = side.to_ndarray()
            got = motion_grid(mvs, frame.width, frame.height)
            vec, mask = _reference_grid(mvs, frame.width, frame.height)
            for li, (v, m) in enumerate(((got.l0, got.l0_mask), (got.l1, got.l1_mask))):
                np.testing.assert_array_equal(m, mask[li])
                np.testing.assert_array_equal(v, vec[li])
                assert v.flags.c_contiguous and m.flags.c_contiguous
            checked += len(mvs)
    assert checked > 50


def test_encode_frames_takes_packed_yuv420p(tmp_path):
    y = np.tile(np.arange(64, dtype=np.uint8) * 3, (48, 1))
    packed = np.concatenate([y, np.full((24, 64), 100, np.uint8)])  # (H * 3/2, W)
    path = encode_frames(tmp_path / "p.mkv", [packed] * 3, input_format="yuv420p",
                         options={"qp": "0"})
    with open_video(path) as video:
        assert (video.info.width, video.info.height) == (64, 48)
        np.testing.assert_array_equal(next(iter(video)).planes[0], y)


def test_lossless_planes_are_exact(tmp_path):
    rgb = list(camera_frames(96, 64, 5, seed=7))
    path = encode_frames(tmp_path / "lossless.mkv", rgb, options={"qp": "0", "bf": "2"})
    _, frames, _ = decode_all(path)
    assert len(frames) == 5
    for f, src in zip(frames, rgb):
        for got, want in zip(f.planes, yuv420_of(src)):
            np.testing.assert_array_equal(got, want)
        assert (f.qp == 0).all()


def test_file_objects_and_pipes(clips):
    _, by_path, _ = decode_all(clips.h264())
    data = clips.h264().read_bytes()
    _, by_bytes, _ = decode_all(io.BytesIO(data))
    assert [f.pts for f in by_bytes] == [f.pts for f in by_path]
    np.testing.assert_array_equal(by_bytes[-1].planes[0], by_path[-1].planes[0])


def test_raw_elementary_stream_through_a_pipe(tmp_path):
    import os
    import threading

    path = encode_frames(tmp_path / "raw.h264", camera_frames(64, 48, 10), container_format="h264",
                         options={"bf": "2", "g": "12"})
    r, w = os.pipe()
    data = open(path, "rb").read()

    def feed():
        with os.fdopen(w, "wb") as out:
            out.write(data)

    threading.Thread(target=feed, daemon=True).start()
    with os.fdopen(r, "rb") as pipe:
        info, frames, _ = decode_all(pipe, format="h264")
    assert info.frame_count is None
    assert len(frames) == 10
    pts = [f.pts for f in frames]
    assert pts == sorted(pts) and len(set(pts)) == 10
    assert all(f.qp is not None for f in frames)


def test_unknown_frame_count_does_not_crash(clips):
    info, frames, _ = decode_all(clips.mpeg2())
    assert info.frame_count is None and len(frames) == 10


# -- errors -------------------------------------------------------------------------------

def test_error_missing_file(tmp_path):
    with pytest.raises(DecodeError, match="no such file"):
        open_video(tmp_path / "nope.mp4")


def test_error_folder(tmp_path):
    with pytest.raises(DecodeError, match="folder"):
        open_video(tmp_path)


def test_error_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(DecodeError, match="empty"):
        open_video(tmp_path / "empty.mp4")


def test_error_not_a_video(tmp_path):
    (tmp_path / "notes.mp4").write_text("these are not the frames you are looking for\n" * 50)
    with pytest.raises(DecodeError, match="not a video"):
        open_video(tmp_path / "notes.mp4")


def test_error_garbage_stream():
    garbage = io.BytesIO(np.random.default_rng(0).integers(0, 256, 20000, np.uint8).tobytes())
    with pytest.raises(DecodeError):
        open_video(garbage)


def test_error_no_video_stream(tmp_path):
    import av

    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16",
                                           layout="mono")
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(DecodeError, match="no video stream"):
        open_video(path)


def test_error_unreadable(tmp_path):
    import os

    path = tmp_path / "locked.mp4"
    path.write_bytes(b"x" * 100)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads everything
        pytest.skip("running as root: permissions are not enforced")
    with pytest.raises(DecodeError, match="permission"):
        open_video(path)


def test_truncated_stream_keeps_what_it_can(clips, tmp_path):
    data = clips.h264().read_bytes()
    raw = tmp_path / "cut.h264"
    # an elementary stream cut in the middle of a frame
    from redecode.pipeline.samples import make_clip

    make_clip(raw, width=160, height=96, frames=24, qp=30, container_format="h264")
    full = raw.read_bytes()
    raw.write_bytes(full[: int(len(full) * 0.6)])
    _, frames, stats = decode_all(raw)
    assert 5 <= len(frames) < 24
    assert data  # the mp4 itself is intact


def test_corrupt_packets_keep_decoding(tmp_path):
    from redecode.pipeline.samples import make_clip

    ts = make_clip(tmp_path / "clip.ts", width=160, height=96, frames=30, qp=30,
                   container_format="mpegts")
    data = bytearray(open(ts, "rb").read())
    rng = np.random.default_rng(5)
    # damage payload bytes (not the 4-byte TS packet headers) in the middle third
    for pos in rng.integers(len(data) // 3, 2 * len(data) // 3, 40):
        if pos % 188 > 8:
            data[pos] ^= 0xFF
    bad = tmp_path / "bad.ts"
    bad.write_bytes(bytes(data))
    _, frames, stats = decode_all(bad)
    assert len(frames) >= 20
    assert stats.damaged + stats.errors > 0
