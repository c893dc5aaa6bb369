"""One restoration step: the pipeline and the training unroll restore a clip to the same frames,
and a frame's output does not depend on what it is batched with."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from redecode.models import RestorationConfig, RestorationNet
from redecode.pipeline.engine import Engine, Packed
from redecode.pipeline.scheduler import restore_frames
from redecode.training.sampler import ClipTensors, make_run
from redecode.training.unroll import restore_group
from redecode.training.validate import clip_frames

TINY = RestorationConfig(widths=(8, 12), enc_blocks=(1, 1), dec_blocks=(1,), ref_blocks=1, cond_width=8)


def _model(seed: int = 0) -> RestorationNet:
    torch.manual_seed(seed)
    model = RestorationNet(TINY).eval()
    for p in model.parameters():  # a "trained" network: every weight matters
        torch.nn.init.normal_(p, std=0.05)
    return model


@pytest.fixture(scope="module")
def clip(training_clip):
    """14 frames of x264 with 3 B-frames and 3 references (list-0 vectors past the nearest anchor)."""
    c = training_clip("step.mp4", 96, 64, 14, seed=3, speed=2.0,
                      options={"qp": "36", "bf": "3", "refs": "3", "g": "10", "b-pyramid": "none"})
    assert set(c.type_letters) == {"I", "P", "B"}
    return c


class Recording(Engine):
    """An engine that keeps every restored tensor by frame index."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tensors: dict[int, torch.Tensor] = {}

    def restore(self, items: list[Packed], l0: list[Packed], l1: list[Packed]) -> None:
        super().restore(items, l0, l1)
        for it in items:
            self.tensors[it.frame.index] = it.restored.clone()


def test_pipeline_and_training_unroll_agree(clip) -> None:
    model = _model()
    engine = Recording(model, torch.device("cpu"), tile=0)
    assert len(list(restore_frames(clip_frames(clip), engine))) == clip.length

    tensors = ClipTensors.from_clip(clip)
    run = make_run(tensors, 0, clip.length)
    restored: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for t in run.order:  # one frame at a time, in the unroll's order
            restored[t] = restore_group(model, [run], [restored], [(0, t)], torch.device("cpu"))[0]
    assert sorted(restored) == list(range(clip.length))
    worst = max(float((restored[t] - engine.tensors[t]).abs().max()) for t in range(clip.length))
    assert worst <= 1e-5
    # the step really used references: without them the P/B frames come out differently
    with torch.no_grad():
        intra = {t: restore_group(model, [run], [restored], [(0, t)], torch.device("cpu"),
                                  references=False)[0] for t in range(clip.length)}
    pb = [t for t, k in enumerate(clip.type_letters) if k != "I"]
    assert max(float((intra[t] - restored[t]).abs().max()) for t in pb) > 1e-3


def test_packed_clip_equals_planes_to_tensor(clip) -> None:
    from redecode.models import planes_to_tensor

    tensors = ClipTensors.from_clip(clip)
    for t in (0, clip.length - 1):
        want = planes_to_tensor(clip.dec_y[t], clip.dec_u[t], clip.dec_v[t])
        assert torch.equal(tensors.decoded_frame(t), want)


def test_output_does_not_depend_on_batch(clip) -> None:
    model = _model(1)
    engine = Engine(model, torch.device("cpu"), tile=0)
    frames = clip_frames(clip)
    letters = clip.type_letters
    anchors = [i for i, k in enumerate(letters) if k != "B"]
    b_run = next(i for i in range(len(letters) - 1) if letters[i] == letters[i + 1] == "B")
    prev = max(a for a in anchors if a < b_run)
    nxt = min(a for a in anchors if a > b_run)
    bs = [i for i in range(prev + 1, nxt)]
    assert len(bs) >= 2
    items = {i: engine.pack(frames[i]) for i in [*anchors, *bs]}
    for a in anchors:
        items[a].restored = items[a].decoded
    # one B-frame loses its list-1 vectors and another all its motion: they must be restored
    # as if alone, whatever their batch-mates have
    from dataclasses import replace

    m = frames[bs[0]].motion
    no_l1 = replace(frames[bs[0]], motion=replace(m, l1_mask=np.zeros_like(m.l1_mask)))
    no_motion = replace(frames[bs[1]], motion=None)
    odd = [engine.pack(no_l1), engine.pack(no_motion)] + [items[i] for i in bs[2:]]
    past, future = [items[prev]], [items[nxt]]
    engine.restore(odd, past, future)
    together = [it.restored.clone() for it in odd]
    for it, want in zip(odd, together):
        engine.restore([it], past, future)
        assert float((it.restored - want).abs().max()) <= 1e-5
    # and a frame without motion equals the same frame restored with no references at all
    alone = engine.pack(no_motion)
    engine.restore([alone], [], [])
    assert float((alone.restored - together[1]).abs().max()) <= 1e-5


def test_gate_and_strength_scale_the_correction_per_macroblock() -> None:
    from redecode.models import restore_step
    from redecode.models.gate import Gate

    model = _model(2)
    decoded = torch.rand(2, 6, 16, 16)
    qp = torch.tensor([22.0, 42.0]).view(2, 1, 1, 1).expand(2, 1, 2, 2).clone()
    qp[0, 0, 0, 0] = 37.0  # one macroblock in another band
    ftype = torch.tensor([0, 2])
    with torch.no_grad():
        full = restore_step(model, decoded, qp, ftype)
        half = restore_step(model, decoded, qp, ftype, strength=0.5)
        rows = ((1.0, 1.0, 1.0, 0.0, 1.0), (1.0,) * 5, (1.0, 1.0, 1.0, 1.0, 0.25))
        model.gate = Gate((rows, ((0.0,) * 5,) * 3))  # the MPEG family keeps nothing
        gated = restore_step(model, decoded, qp, ftype)
        mpeg = restore_step(model, decoded, qp, ftype, family=torch.tensor([1, 1]))
    raw = model(decoded, qp, ftype)  # unclamped correction
    want_half = (decoded + 0.5 * (raw - decoded)).clamp(0, 1)
    torch.testing.assert_close(half, want_half)
    assert torch.equal(gated[0, :, :8, :8], decoded[0, :, :8, :8])  # I-frame, QP 37: alpha 0
    torch.testing.assert_close(gated[0, :, 8:, 8:], full[0, :, 8:, 8:])  # I-frame, QP 22: alpha 1
    torch.testing.assert_close(gated[1], (decoded[1] + 0.25 * (raw[1] - decoded[1])).clamp(0, 1))
    assert torch.equal(mpeg, decoded.clamp(0, 1))
    assert Gate.from_meta(model.gate.to_meta()) == model.gate


def test_gate_fit_maximises_the_mean_per_frame_gain() -> None:
    import numpy as np

    from redecode.training.gate import GRID, _FrameSums, _optimise

    def frame(cell: int, sse, ee: float, clip: int) -> _FrameSums:
        return _FrameSums(np.array([cell]), np.asarray(sse, float)[None], ee, clip)

    # cell 0: error smallest at alpha 0.5; cell 1: the correction only hurts (best 0);
    # cell 2: shared by a noisy frame it helps a little and a clean one it hurts a lot (best 0)
    frames = [frame(0, 1.0 + (GRID - 0.5) ** 2, 1.25, 0), frame(1, 1.0 + GRID, 1.0, 1),
              frame(2, 100.0 - GRID, 100.0, 2), frame(2, 1.0 + GRID, 1.0, 3)]
    alpha = _optimise(frames, 4)
    assert alpha[0] == 0.5 and alpha[1] == 0.0 and alpha[2] == 0.0 and alpha[3] == 1.0  # untouched cell


def test_gate_left_out_per_source_is_the_gate_fitted_without_it(training_clip) -> None:
    from redecode.training.gate import fit_gate, fit_gate_leaving_out

    clips = [training_clip(f"gate{qp}.mp4", 64, 48, 6, seed=qp, speed=1.5, options={"qp": str(qp), "bf": "2"})
             for qp in (24, 33, 42)]
    model = _model(1)
    gate, held_out = fit_gate_leaving_out(model, clips, ["a", "b", None], iterations=1)
    assert model.gate == gate == fit_gate(_model(1), clips, iterations=1)
    assert set(held_out) == {"a", "b"}
    assert held_out["a"] == fit_gate(_model(1), clips[1:], iterations=1)
    assert held_out["b"] == fit_gate(_model(1), [clips[0], clips[2]], iterations=1)
    # a cell only "a" has frames in: fitted without "a", it keeps alpha 1 (no frames, no change)
    gate_a = held_out["a"]
    band_a = int(np.searchsorted(gate_a.bands, 24.0))
    assert gate_a.levels == 4  # the default gate reads macroblock activity
    assert gate_a.alpha[0][0][band_a * gate_a.levels:(band_a + 1) * gate_a.levels] == (1.0,) * gate_a.levels


def test_gate_folds_file_is_read_from_any_checkout(training_clip, tmp_path) -> None:
    """fit_gate.py --leave-out-sources writes folds.json with paths relative to its folder, so a
    committed fold set is found by bench_quality.py from another directory and checkout."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from redecode.models import save
    from redecode.training.clips import save_clip

    tools = Path(__file__).resolve().parents[1] / "tools"
    work = tmp_path / "checkout"
    (work / "ladder").mkdir(parents=True)
    for qp, source in ((24, "a"), (33, "b")):
        clip = training_clip(f"gate{qp}.mp4", 64, 48, 6, seed=qp, speed=1.5, options={"qp": str(qp), "bf": "2"})
        save_clip(work / "ladder" / f"{source}_qp{qp}.npz", clip, {"source_kind": "video", "source": source})
    save(_model(1), work / "model.pt")
    subprocess.run([sys.executable, str(tools / "fit_gate.py"), "model.pt", "--ladder", "ladder/*.npz",
                    "-o", "gated.pt", "--leave-out-sources", "folds"], cwd=work, check=True, capture_output=True)
    written = json.loads((work / "folds" / "folds.json").read_text())
    assert sorted(written) == ["a", "b"]
    assert not any(Path(f["model"]).is_absolute() or Path(f["clips"][0]).is_absolute() for f in written.values())
    moved = shutil.move(work, tmp_path / "elsewhere")  # another checkout, read from another directory
    code = ("import json, sys, bench_quality; spec, scenes = bench_quality.folds(sys.argv[1]); "
            "print(json.dumps({'spec': spec, 'qps': sorted(scenes)}))")
    out = subprocess.run([sys.executable, "-c", code, str(Path(moved) / "folds" / "folds.json")], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(tools)}, check=True,
                         capture_output=True, text=True).stdout
    read = json.loads(out)
    assert read["qps"] == [24, 33]
    for clip, model in read["spec"].items():
        assert Path(clip).is_file() and Path(model).is_file()
        assert Path(model).name == ("a.pt" if "a_qp24" in clip else "b.pt")


def test_macroblock_activity_reads_texture_per_macroblock() -> None:
    from redecode.models.gate import macroblock_activity

    luma = torch.full((1, 1, 18, 32), 0.5)  # 18 rows: a second, partial macroblock row
    luma[0, 0, :16, 16:] += torch.tensor([[(i + j) % 2 for j in range(16)] for i in range(16)]) * (8 / 255)
    decoded = torch.cat([F.pixel_unshuffle(luma, 2), torch.full((1, 2, 9, 16), 0.5)], dim=1)
    act = macroblock_activity(decoded)
    assert act.shape == (1, 1, 2, 2)
    assert float(act[0, 0, 0, 0]) < 0.5 and float(act[0, 0, 1, 0]) == 0.0  # flat
    # a +-8 checkerboard: |4 x 8| away from its edges, less along them and where it meets the flat
    assert 20.0 < float(act[0, 0, 0, 1]) <= 32.0


@pytest.mark.parametrize("h,w", [(9, 16), (5, 7), (1, 1), (23, 40)])
def test_macroblock_activity_on_packed_phases_matches_the_luma_plane(h: int, w: int) -> None:
    """The packed-phase Laplacian equals the one of the assembled luma plane (edges replicated)."""
    from redecode.models.gate import macroblock_activity

    torch.manual_seed(h * w)
    decoded = torch.randint(0, 256, (2, 6, h, w)).float() / 255
    luma = F.pixel_shuffle(decoded[:, :4], 2) * 255.0
    y = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    lap = (4 * luma - y[..., :-2, 1:-1] - y[..., 2:, 1:-1] - y[..., 1:-1, :-2] - y[..., 1:-1, 2:]).abs()
    gh, gw = -(-2 * h // 16), -(-2 * w // 16)
    want = torch.stack([torch.stack([lap[:, 0, 16 * i:16 * i + 16, 16 * j:16 * j + 16].mean(dim=(1, 2))
                                     for j in range(gw)], -1) for i in range(gh)], -2)[:, None]
    torch.testing.assert_close(macroblock_activity(decoded), want)


def test_activity_gate_scales_flat_and_detailed_macroblocks_apart() -> None:
    from redecode.models import restore_step
    from redecode.models.gate import Gate, cell_map

    model = _model(3)
    luma = torch.full((1, 1, 16, 32), 0.5)
    luma[0, 0, :, 16:] += torch.rand(16, 16) * 0.3  # right macroblock detailed
    decoded = torch.cat([F.pixel_unshuffle(luma, 2), torch.full((1, 2, 8, 16), 0.5)], dim=1)
    qp = torch.full((1, 1, 1, 2), 22.0)
    ftype = torch.tensor([0])
    gate = Gate(((((1.0, 0.0) + (0.5, 0.5) * 4),) * 3,) * 2, activity=(8.0,))  # band 0: flat 1, detailed 0
    assert cell_map(qp, decoded, gate.bands, gate.activity).flatten().tolist() == [0, 1]
    with torch.no_grad():
        full = restore_step(model, decoded, qp, ftype)
        model.gate = gate
        gated = restore_step(model, decoded, qp, ftype)
    assert not torch.equal(full[..., :8], decoded[..., :8])
    torch.testing.assert_close(gated[..., :8], full[..., :8])
    assert torch.equal(gated[..., 8:], decoded[..., 8:].clamp(0, 1))
    assert Gate.from_meta(gate.to_meta()) == gate
    # a gate written before activity levels existed (no "activity" key) still loads, as one level
    old = {"bands": [24.5, 29.5, 34.5, 39.5], "alpha": {f: {t: [1.0] * 5 for t in "IPB"} for f in ("DEBLOCKED", "MPEG")}}
    assert Gate.from_meta(old).levels == 1
    # bench_quality's printout: one row per family and frame type, a cell per band, its levels in order
    lines = gate.describe()
    assert lines[0] == "alpha per macroblock activity < 8 / >= 8 in each cell"
    assert len(lines) == 3 + 6 and lines[1].count("| QP ") == 5
    assert lines[3] == "| DEBLOCKED | I | 1.00 0.00 | 0.50 0.50 | 0.50 0.50 | 0.50 0.50 | 0.50 0.50 |"
    assert Gate.from_meta(old).describe()[2].startswith("| DEBLOCKED | I | 1.00 | 1.00 |")


def test_gate_fit_weighs_clips() -> None:
    from redecode.training.gate import GRID, _FrameSums, _optimise

    # one cell, two clips: clip 0 wants alpha 0.2, clip 1 alpha 0.8 (equal curvature)
    frames = [_FrameSums(np.array([0]), (1.0 + (GRID - 0.2) ** 2)[None], 2.0, 0),
              _FrameSums(np.array([0]), (1.0 + (GRID - 0.8) ** 2)[None], 2.0, 1)]
    assert _optimise(frames, 1)[0] == pytest.approx(0.5)
    assert _optimise(frames, 1, clip_weights=[9.0, 1.0])[0] < 0.3
    assert _optimise(frames, 1, clip_weights=[1.0, 9.0])[0] > 0.7


def test_gate_keeps_the_decode_where_the_correction_gains_too_little() -> None:
    from redecode.training.gate import GRID, _FrameSums, _optimise

    def cell_gaining(cell: int, db: float, clip: int) -> _FrameSums:
        # error falls linearly with alpha, by ``db`` on the cell's pixels at alpha 1
        return _FrameSums(np.array([cell]), (1000.0 - 1000.0 * (1 - 10 ** (-db / 10)) * GRID)[None], 1000.0, clip)

    frames = [cell_gaining(0, 0.005, 0), cell_gaining(1, 0.05, 1)]
    assert list(_optimise(frames, 2, min_gain_db=0.01)) == [0.0, 1.0]
    assert list(_optimise(frames, 2)) == [1.0, 1.0]  # the default keeps every cell that gains


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (the GPU path is checked on a GPU machine)")
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_cuda_engine_restores_like_the_cpu(clip, precision) -> None:
    model = _model(2)
    cpu = [f.planes for f in restore_frames(clip_frames(clip), Engine(model, torch.device("cpu"), tile=0))]
    gpu_engine = Engine(model, torch.device("cuda"), tile=0, precision=precision)
    gpu = [f.planes for f in restore_frames(clip_frames(clip), gpu_engine)]
    assert len(gpu) == len(cpu) == clip.length
    tolerance = 1 if precision == "fp32" else 4  # code values after rounding
    for a, b in zip(cpu, gpu):
        for pa, pb in zip(a, b):
            assert pa.dtype == pb.dtype and int(np.abs(pa.astype(int) - pb.astype(int)).max()) <= tolerance
