"""Caption alignment: captions say what every probe reason's finding says; only the language model learns."""
from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from fingereval.answer.transformers_backend import TransformersAnswerer
from fingereval.data.instruct import load_instruct
from fingereval.probes.scene import scene_caption
from conftest import probe_world
from fingereval.video import VideoConfig

VC = VideoConfig(fps=2.0, max_frames=8, size=112)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return probe_world(tmp_path_factory.mktemp("align"), 12, seed=7)


def test_every_reason_opens_with_a_finding_its_videos_caption_states(setup):
    _, probes, _ = setup
    captions = {}
    for line in (probes / "scenes.jsonl").read_text().splitlines():
        row = json.loads(line)
        captions[str(probes / row["video"])] = scene_caption(row["labels"]).split(". ")
    records = load_instruct(probes / "qa.jsonl")
    assert records
    for r in records:
        opening, caption = r.reason.split(". ")[0], [c.rstrip(".") for c in captions[str(r.video)]]
        if r.model_extra["form"] == "appear":  # "Colour red vs green": the asked colour, then the caption's colours
            asked, seen = opening.split(" vs ")
            assert asked == f"Colour {r.entity.split()[0]}" and f"Colour {seen}" in caption, (r.question, caption)
            continue
        assert opening in caption, (r.question, r.reason, caption)


def test_scene_caption_states_each_finding_once_in_a_fixed_order():
    still = scene_caption(["colour:red", "shape:ball", "static"])
    assert still == ("Colour red. Shape ball. Edges sharp. Texture clean. Look steady. Visibility steady. "
                     "Scene still. Height steady. Heading none.")
    moving = scene_caption(["colour:blue", "shape:star", "noise", "flicker", "moves_left", "falls"])
    assert "Texture noisy" in moving and "Visibility flickers" in moving and "Scene moves" in moving
    assert "Height sinks" in moving and moving.endswith("Heading left.")


def test_caption_batches_carry_the_video_and_train_the_caption_only(setup):
    from fingereval.answer.inputs import VIDEO_PAD
    from fingereval.answer.transformers_backend import load_model_and_processor
    from fingereval.tiny.align import CaptionCollator, caption_rows
    from fingereval.train.collate import END_OF_TURN, IGNORE_INDEX
    from fingereval.train.examples import ClipCache

    _, probes, base = setup
    processor = load_model_and_processor(base)[1]
    rows = caption_rows(probes)[0][:2]
    batch = CaptionCollator(processor, ClipCache(VC))(rows)
    video_id = processor.tokenizer.convert_tokens_to_ids(VIDEO_PAD)
    assert batch["pixel_values_videos"].numel() > 0 and batch["video_grid_thw"].shape[0] == 2
    for i, row in enumerate(rows):
        ids, labels = batch["input_ids"][i], batch["labels"][i]
        assert int((batch["mm_token_type_ids"][i] == 2).sum()) == int((ids == video_id).sum()) > 0  # 3-D positions
        trained = processor.tokenizer.decode(ids[labels != IGNORE_INDEX])
        assert trained == row["caption"] + END_OF_TURN  # no prompt token, no padding, nothing cut off
        assert not (labels[ids == video_id] != IGNORE_INDEX).any()

    from fingereval.train.collate import with_video

    short = {"input_ids": batch["input_ids"].masked_fill(batch["input_ids"] == video_id, 0)}
    with pytest.raises(ValueError, match="number of video tokens"):  # frames that would land on the wrong tokens
        with_video(short, {k: batch[k] for k in ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")},
                   video_id, processor.video_processor.merge_size)


def test_alignment_trains_the_language_model_only_on_training_videos(setup):
    from safetensors.torch import load_file

    from fingereval.tiny.align import align_captions, caption_rows

    root, probes, base = setup
    result = align_captions(base, probes, root / "aligned", epochs=3, lr=3e-3, batch_size=3, video_config=VC,
                            device="cpu", log_every=1)
    losses = result.logged("loss")
    assert losses[-1] < 0.7 * losses[0], losses
    train, held = caption_rows(probes)
    held_videos = {json.loads(x)["video"] for x in (probes / "qa_heldout.jsonl").read_text().splitlines() if x.strip()}
    assert held and {r["video"] for r in held} == {str(probes / v) for v in held_videos}
    assert not {r["video"] for r in train} & {r["video"] for r in held}
    settings = json.loads((result.out_dir / "train_log.json").read_text())["settings"]
    assert settings["train_videos"] == len(train) == 9
    before, after = load_file(base / "model.safetensors"), load_file(result.out_dir / "model.safetensors")
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and not any("visual" in k for k in changed), sorted(changed)[:5]
    assert TransformersAnswerer(result.out_dir, video_config=VC).model is not None  # loads like any checkpoint


def test_cli_align_reports_a_probe_folder_without_scenes(setup, tmp_path):
    from fingereval.cli.train import train_app

    _, _, base = setup
    result = CliRunner().invoke(train_app, ["align", "--probes", str(tmp_path), "--model", str(base),
                                            "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "scenes.jsonl" in result.output and "probes make" in result.output
