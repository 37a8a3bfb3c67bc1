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


def test_pretraining_fits_the_labels_and_leaves_the_language_model_alone(setup):
    root, probes, base = setup
    result = pretrain_vision(base, probes, root / "vis", epochs=4, lr=3e-3, batch_size=4, video_config=VC,
                             device="cpu", on_log=lambda m: None)
    losses = [e["loss"] for e in result.log]
    assert losses[-1] < losses[0]
    assert result.per_label and set(result.per_label) <= set(SCENE_LABELS) and 0 <= result.held_out_accuracy <= 1
    settings = json.loads((result.out_dir / "train_log.json").read_text())["settings"]
    assert (settings["train_videos"], settings["held_out_videos"]) == (12, 4)  # held-out videos never trained on

    from safetensors.torch import load_file

    before, after = load_file(base / "model.safetensors"), load_file(result.out_dir / "model.safetensors")
    assert set(before) == set(after)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(".visual." in k or k.startswith("visual.") for k in changed), sorted(changed)[:5]
    assert any("merger" in k for k in changed) and any("patch_embed" in k for k in changed)


def test_pretrained_checkpoint_answers_through_the_answerer(setup):
    root, probes, base = setup
    out = root / "vis2"
    pretrain_vision(base, probes, out, epochs=1, batch_size=8, video_config=VC, device="cpu", on_log=lambda m: None)
    answerer = TransformersAnswerer(out, video_config=VC)
    clip = load_video(next((probes / "videos").glob("*.mp4")), VC)
    from fingereval.schema import Question

    answers = answerer.answer(clip, [Question(id="q", dimension="dynamic_degree", text="Is the video nearly static?",
                                              good_answer="no")])
    assert 0.0 < answers[0].p_yes < 1.0


def test_missing_scene_labels_are_a_clear_error(setup, tmp_path):
    root, probes, base = setup
    with pytest.raises(DataError, match="no scenes.jsonl.*probes make"):
        pretrain_vision(base, tmp_path, tmp_path / "out", on_log=lambda m: None)
    (tmp_path / "scenes.jsonl").write_text(json.dumps({"video": "v.mp4", "labels": ["colour:red", "wings"]}) + "\n")
    with pytest.raises(DataError, match="line 1: unknown scene labels \\['wings'\\]"):
        pretrain_vision(base, tmp_path, tmp_path / "out", on_log=lambda m: None)


def test_pixel_cache_is_bounded_and_changes_nothing(setup, monkeypatch):
    import fingereval.tiny.vision as vision

    root, probes, base = setup
    cached = pretrain_vision(base, probes, root / "cached", epochs=2, batch_size=4, video_config=VC, device="cpu",
                             on_log=lambda m: None)
    monkeypatch.setattr(vision, "PIXEL_CACHE_BYTES", 0)  # nothing cached: pixels made again every epoch
    uncached = pretrain_vision(base, probes, root / "uncached", epochs=2, batch_size=4, video_config=VC, device="cpu",
                               on_log=lambda m: None)
    assert [e["loss"] for e in cached.log] == pytest.approx([e["loss"] for e in uncached.log], rel=1e-5)


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
