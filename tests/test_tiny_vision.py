"""Vision pretraining on scene labels: only the tower (and merger) learn, the checkpoint loads like any other."""
from __future__ import annotations

import json

import pytest
import torch

from fingereval.answer.transformers_backend import TransformersAnswerer
from fingereval.errors import DataError
from fingereval.probes.scene import SCENE_LABELS
from fingereval.tiny.vision import pretrain_vision
from conftest import probe_world
from fingereval.video import VideoConfig, load_video

VC = VideoConfig(fps=2.0, max_frames=8, size=112)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return probe_world(tmp_path_factory.mktemp("vision"), 16, seed=5)


@pytest.fixture(scope="module")
def pretrained(setup):
    """One pretraining run for the module (4 epochs, 12 training videos, 4 held out), and how many times it
    processed a video's pixels (the pixel cache holds every clip here: once per video)."""
    import fingereval.tiny.vision as vision

    root, probes, base = setup
    calls, real = [], vision.video_pixels
    vision.video_pixels = lambda processor, clip: calls.append(clip.path) or real(processor, clip)
    try:
        result = pretrain_vision(base, probes, root / "vis", epochs=4, lr=3e-3, batch_size=4, video_config=VC,
                                 device="cpu", on_log=lambda m: None)
    finally:
        vision.video_pixels = real
    return result, len(calls)


def test_pretraining_fits_the_labels_and_leaves_the_language_model_alone(setup, pretrained):
    root, probes, base = setup
    result, _ = pretrained
    losses = [e["loss"] for e in result.log]
    assert len(losses) == 4 and losses[-1] < 0.8 * losses[0], losses
    assert result.per_label and set(result.per_label) <= set(SCENE_LABELS)
    # the reported figure is the mean balanced accuracy of the last epoch, the same in the log and the file
    assert result.held_out_accuracy == pytest.approx(sum(result.per_label.values()) / len(result.per_label), abs=1e-4)
    assert result.log[-1]["held_out_accuracy"] == result.held_out_accuracy
    saved = json.loads((result.out_dir / "train_log.json").read_text())["settings"]
    assert saved["held_out_per_label"] == result.per_label
    assert (saved["train_videos"], saved["held_out_videos"]) == (12, 4)  # held-out videos never trained on

    from safetensors.torch import load_file

    before, after = load_file(base / "model.safetensors"), load_file(result.out_dir / "model.safetensors")
    assert set(before) == set(after)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(".visual." in k or k.startswith("visual.") for k in changed), sorted(changed)[:5]
    assert any("merger" in k for k in changed) and any("patch_embed" in k for k in changed)


def test_pretrained_checkpoint_answers_through_the_answerer(setup, pretrained):
    """The answerer loads the trained tower as saved (nothing re-initialised on load), and it moves the answers."""
    from safetensors.torch import load_file

    from fingereval.schema import Question

    root, probes, base = setup
    out = pretrained[0].out_dir
    saved = load_file(out / "model.safetensors")
    clip = load_video(next((probes / "videos").glob("*.mp4")), VC)
    question = [Question(id="q", dimension="dynamic_degree", text="Is the video nearly static?", good_answer="no")]
    p_yes = {}
    for name, folder in (("base", base), ("trained", out)):
        answerer = TransformersAnswerer(folder, video_config=VC)
        if name == "trained":
            loaded = {k.removeprefix("model."): v for k, v in answerer.model.state_dict().items()}
            tower = [k for k in saved if "visual." in k]
            assert tower and all(torch.equal(loaded[k], saved[k]) for k in tower)
        p_yes[name] = answerer.answer(clip, question)[0].p_yes
    assert abs(p_yes["trained"] - p_yes["base"]) > 1e-6, p_yes  # the trained tower reaches the slot


def test_missing_scene_labels_are_a_clear_error(setup, tmp_path):
    root, probes, base = setup
    with pytest.raises(DataError, match="no scenes.jsonl.*probes make"):
        pretrain_vision(base, tmp_path, tmp_path / "out", on_log=lambda m: None)
    (tmp_path / "scenes.jsonl").write_text(json.dumps({"video": "v.mp4", "labels": ["colour:red", "wings"]}) + "\n")
    with pytest.raises(DataError, match="line 1: unknown scene labels \\['wings'\\]"):
        pretrain_vision(base, tmp_path, tmp_path / "out", on_log=lambda m: None)


def test_pixel_cache_is_bounded_and_changes_nothing(setup, pretrained, monkeypatch):
    """Room for three clips: those three are processed once, every other video again each time it is asked for
    (12 training and 4 held-out videos an epoch, 4 epochs); the losses are those of the run that cached all."""
    import fingereval.tiny.vision as vision
    from fingereval.answer.inputs import video_pixels

    root, probes, base = setup
    unbounded, unbounded_calls = pretrained
    assert unbounded_calls == 16  # everything fit: each video processed once
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(base)
    one_clip = video_pixels(processor, load_video(next((probes / "videos").glob("*.mp4")), VC))[0].nbytes
    calls, real = [], vision.video_pixels
    monkeypatch.setattr(vision, "video_pixels", lambda processor, clip: calls.append(clip.path) or real(processor, clip))
    monkeypatch.setattr(vision, "PIXEL_CACHE_BYTES", 3 * one_clip + one_clip // 2)
    bounded = pretrain_vision(base, probes, root / "bounded", epochs=4, lr=3e-3, batch_size=4, video_config=VC,
                              device="cpu", on_log=lambda m: None)
    assert len(calls) == 16 * 4 - 3 * 3  # three videos answered from the cache in epochs 2-4
    assert len(set(calls)) == 16
    assert [e["loss"] for e in bounded.log] == pytest.approx([e["loss"] for e in unbounded.log], rel=1e-5)


def test_malformed_scene_line_names_its_line(setup, tmp_path):
    root, probes, base = setup
    (tmp_path / "scenes.jsonl").write_text(json.dumps({"video": "v.mp4", "labels": ["static"]}) + "\n{oops\n")
    with pytest.raises(DataError, match="line 2: not a scene row"):
        pretrain_vision(base, tmp_path, tmp_path / "out", on_log=lambda m: None)


def test_one_tower_call_pools_each_video_as_if_alone(setup):
    from fingereval.answer.inputs import video_pixels
    from fingereval.train.checkpoint import load_for_training
    from fingereval.tiny.vision import pooled_videos

    root, probes, base = setup
    net, processor, _ = load_for_training(base, "cpu")
    videos = [video_pixels(processor, load_video(p, VC)) for p in sorted((probes / "videos").glob("*.mp4"))[:3]]
    with torch.no_grad():
        batched = pooled_videos(net.model.visual, videos, "cpu")
        alone = torch.cat([pooled_videos(net.model.visual, [v], "cpu") for v in videos])
    assert batched.shape == (3, net.config.text_config.hidden_size)
    torch.testing.assert_close(batched, alone, rtol=1e-4, atol=1e-5)  # the tower's attention never crosses videos
    assert not torch.allclose(batched[0], batched[1])


def _square_clip(kind: str):
    """8 frames, 112 px: a red square on grey, moving right; clean, noisy (frozen grain) or blurred."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    from fingereval.video import VideoClip

    grain = np.random.default_rng(0).normal(0, 70, (40, 40, 1))
    frames = []
    for t in range(8):
        f = np.full((112, 112, 3), 128.0)
        x = 20 + 6 * t
        f[36:76, x:x + 40] = (200, 40, 40)
        if kind == "noise":
            f[36:76, x:x + 40] += grain
        if kind == "blur":
            f = gaussian_filter(f, sigma=(4, 4, 0))
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    return VideoClip(path=f"{kind}.mp4", frames=np.stack(frames), fps=2.0, duration=4.0)


def test_texture_filters_start_as_band_pass_and_see_grain_and_blur():
    """The probe tower's first filters respond to texture: more on grain, less on a blurred edge, than on a clean shape."""
    from fingereval.answer.inputs import video_pixels
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_in_memory

    model, processor = build_tiny_in_memory(PROBE_SHAPE, seed=0)
    weight = model.model.visual.patch_embed.proj.weight.detach()  # (out, colour, frame, h, w)
    k = PROBE_SHAPE.texture_filters
    assert 0 < k < weight.shape[0]
    texture = weight[:k]
    assert texture.sum(dim=(1, 2, 3, 4)).abs().max() < 1e-4  # no response to a flat patch
    frames_used = (texture.abs().sum(dim=(1, 3, 4)) > 0).sum(-1)
    assert (frames_used == 1).all()  # one frame each: a texture moving with its shape does not cancel
    norms = weight.flatten(1).norm(dim=1)
    assert torch.allclose(norms[:k], norms[k:].mean().expand(k), rtol=1e-3)  # as large as the random filters

    def response(kind: str) -> float:
        values, _ = video_pixels(processor, _square_clip(kind))
        with torch.no_grad():
            return float(model.model.visual.patch_embed(values)[:, :k].abs().mean())

    clean, noisy, blurred = response("clean"), response("noise"), response("blur")
    assert noisy > 1.5 * clean and blurred < clean, (clean, noisy, blurred)


def test_texture_filters_must_leave_random_filters_to_scale_by():
    from fingereval.tiny.model import start_texture_filters

    weight = torch.randn(8, 3, 2, 14, 14)
    for channels in (0, 8, 9):
        with pytest.raises(ValueError, match="between 1 and 7"):
            start_texture_filters(weight.clone(), channels)


def _changing_clip(change: bool):
    """8 frames, 112 px: a still square on grey that turns from red to green at frame 4, or stays red."""
    import numpy as np

    from fingereval.video import VideoClip

    frames = []
    for t in range(8):
        f = np.full((112, 112, 3), 128, dtype=np.uint8)
        f[28:84, 28:84] = (40, 200, 40) if change and t >= 4 else (200, 40, 40)
        frames.append(f)
    return VideoClip(path=f"change-{change}.mp4", frames=np.stack(frames), fps=2.0, duration=4.0)


def test_change_filters_start_as_temporal_steps_and_see_a_colour_change():
    """The probe tower's change filters ignore a still look and respond to a colour that turns into another."""
    import dataclasses

    from fingereval.answer.inputs import video_pixels
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_in_memory

    shape = dataclasses.replace(PROBE_SHAPE, change_filters=6)  # the demo leaves them off (docs/tiny-model.md)
    model, processor = build_tiny_in_memory(shape, seed=0)
    weight = model.model.visual.patch_embed.proj.weight.detach()
    first, k = shape.texture_filters, shape.change_filters
    change = weight[first:first + k]
    assert change.sum(dim=2).abs().max() < 1e-4  # summed over frames: nothing, so a still patch gives nothing
    colours_used = (change.abs().sum(dim=(2, 3, 4)) > 0).sum(-1)
    assert (colours_used == 1).all()  # one colour channel each: red -> green does not cancel
    norms = weight.flatten(1).norm(dim=1)
    assert torch.allclose(norms[first:first + k], norms[first + k:].mean().expand(k), rtol=1e-3)

    def response(changes: bool) -> float:
        values, _ = video_pixels(processor, _changing_clip(changes))
        with torch.no_grad():
            return float(model.model.visual.patch_embed(values)[:, first:first + k].abs().max())

    still, turned = response(False), response(True)
    assert still < 1e-3 < turned, (still, turned)


def test_change_filters_must_leave_random_filters_to_scale_by():
    from fingereval.tiny.model import start_change_filters

    weight = torch.randn(8, 3, 2, 14, 14)
    with pytest.raises(ValueError, match="at least one random filter"):
        start_change_filters(weight.clone(), 4, first=4)
    with pytest.raises(ValueError, match="at least 2 frames"):
        start_change_filters(torch.randn(8, 3, 1, 14, 14), 2)


def test_tiny_model_command_starts_change_filters(tmp_path):
    """`tiny-model --probes --change-filters N` writes a checkpoint whose tower starts with them; a bad N is refused."""
    from typer.testing import CliRunner

    from fingereval.cli import app
    from fingereval.tiny.model import PROBE_SHAPE

    runner = CliRunner()
    done = runner.invoke(app, ["tiny-model", str(tmp_path / "m"), "--probes", "--change-filters", "6"])
    assert done.exit_code == 0, done.output
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "m" / "model.safetensors"))
    embed = next(v for k, v in weights.items() if k.endswith("patch_embed.proj.weight"))
    first = PROBE_SHAPE.texture_filters
    assert embed[first:first + 6].sum(dim=2).abs().max() < 1e-4  # temporal steps: nothing for a still patch
    assert embed[first + 6:].sum(dim=2).abs().max() > 1e-2  # the random ones after them are untouched
    refused = runner.invoke(app, ["tiny-model", str(tmp_path / "n"), "--probes", "--change-filters", "200"])
    assert refused.exit_code != 0 and "random filter" in refused.output
    refused = runner.invoke(app, ["tiny-model", str(tmp_path / "o"), "--change-filters", "6"])
    assert refused.exit_code != 0 and "--probes" in refused.output


def test_a_low_res_copy_loses_fine_detail_and_keeps_the_size():
    import numpy as np

    from fingereval.tiny.vision import low_res_copy

    checker = (np.indices((112, 112)).sum(0) % 2 * 255).astype(np.uint8)  # one-pixel checkerboard: pure detail
    ramp = np.tile(np.linspace(0, 255, 112), (112, 1)).astype(np.uint8)  # a smooth ramp: no detail to lose
    frames = np.stack([np.repeat(img[..., None], 3, -1) for img in (checker, ramp)])
    out = low_res_copy(frames, 0.5)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert abs(out[0].mean() - 127.5) < 2 and out[0].std() < 10  # 2x2 boxes of a checkerboard average to grey
    assert np.abs(out[1].astype(int) - frames[1]).max() <= 4  # a ramp survives shrinking


def test_pretraining_with_low_res_copies_trains_on_them_and_measures_the_originals(setup):
    import numpy as np

    import fingereval.tiny.vision as vision

    root, probes, base = setup
    seen, real = [], vision.video_pixels
    vision.video_pixels = lambda processor, clip: seen.append(clip) or real(processor, clip)
    try:
        result = pretrain_vision(base, probes, root / "vis-low", epochs=1, lr=3e-3, batch_size=4, video_config=VC,
                                 device="cpu", low_res=1.0, on_log=lambda m: None)
    finally:
        vision.video_pixels = real
    held = {json.loads(line)["video"] for line in (probes / "qa_heldout.jsonl").read_text().splitlines()}
    for clip in seen:
        original = load_video(clip.path, VC).frames
        if any(clip.path.endswith(h) for h in held):  # measured as they are
            assert np.array_equal(clip.frames, original)
        else:  # trained on their low-resolution copy (every draw, at 1.0), never on the original
            expected = vision.low_res_copy(original, vision.low_res_scale(clip.path, 0))
            assert np.array_equal(clip.frames, expected) and not np.array_equal(clip.frames, original)
    assert len(seen) == 16
    assert json.loads((result.out_dir / "train_log.json").read_text())["settings"]["low_res"] == 1.0
    with pytest.raises(DataError, match="between 0 and 1"):
        pretrain_vision(base, probes, root / "vis-bad", low_res=1.5, on_log=lambda m: None)
