"""The probe world's true answers hold in the DECODED frames (2 fps, as every model path samples).

One probe set is rendered per module; each check reads qa.jsonl, decodes the video with
fingereval.video.load_video and measures the asked entity by its colour. The plan (plan_probe with
the same seed and index) supplies only what the record does not say, such as the new colour.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fingereval.probes import make_probes, plan_probe
from fingereval.probes.render import shape_template
from fingereval.probes.world import BACKGROUND, COLOURS, SHAPES, ProbeEntity, ProbeSpec
from fingereval.video import VideoConfig, load_video

SEED = 3
N = 36


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("probes")
    make_probes(root, N, seed=SEED)
    return root


@pytest.fixture(scope="module")
def records(probe_dir) -> list[dict]:
    return [json.loads(line) for line in (probe_dir / "qa.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def colours(decoded) -> dict[str, np.ndarray]:
    return {video_id: _colour_map(frames) for video_id, frames in decoded.items()}


@pytest.fixture(scope="module")
def decoded(probe_dir) -> dict[str, np.ndarray]:
    clips = {}
    for path in sorted((probe_dir / "videos").glob("*.mp4")):
        clip = load_video(path, VideoConfig(fps=2.0, max_frames=32, size=112))
        clips[path.stem] = clip.frames.astype(np.float32)
    return clips


def _spec(record: dict) -> ProbeSpec:
    return plan_probe(SEED, int(record["video_id"][1:]))


def _entity(spec: ProbeSpec, record: dict) -> ProbeEntity:
    return next(e for e in spec.entities if e.named and e.name == record["entity"])


def _hue(rgb: np.ndarray) -> np.ndarray:
    """Hue in degrees; grey noise adds the same to every channel, which leaves hue (nearly) alone."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.degrees(np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b)) % 360


_PALETTE_HUES = {name: float(_hue(np.asarray(rgb, np.float32))) for name, rgb in COLOURS.items() if name != "white"}
_CODES = {name: code for code, name in enumerate(["", "white", *_PALETTE_HUES])}  # 0: background or dark


def _colour_map(frames: np.ndarray) -> np.ndarray:
    """(T, H, W) palette code per pixel (see _CODES): by hue where saturated, else white or background."""
    spread = frames.max(axis=-1) - frames.min(axis=-1)
    codes = np.zeros(frames.shape[:-1], dtype=np.int8)
    codes[(spread < 60) & (frames.mean(axis=-1) > 150)] = _CODES["white"]
    hue = _hue(frames)
    gaps = np.stack([np.abs((hue - h + 180) % 360 - 180) for h in _PALETTE_HUES.values()])
    nearest = np.asarray([_CODES[name] for name in _PALETTE_HUES], dtype=np.int8)[gaps.argmin(axis=0)]
    coloured = spread >= 60
    codes[coloured] = nearest[coloured]
    return codes


def _count(codes: np.ndarray, colour: str) -> np.ndarray:
    """Pixels per frame of this colour, from a colour map."""
    return (codes == _CODES[colour]).sum(axis=(1, 2))


def _centroids(codes: np.ndarray, colour: str) -> list[tuple[float, float] | None]:
    out = []
    for mask in codes == _CODES[colour]:
        ys, xs = np.nonzero(mask)
        out.append((float(xs.mean()), float(ys.mean())) if len(xs) >= 20 else None)
    return out


def _of_form(records: list[dict], form: str) -> list[dict]:
    found = [r for r in records if r["form"] == form]
    assert found, f"no {form} questions in the probe set"
    return found


def _colours_of(e: ProbeEntity) -> list[str]:
    return [e.drawn_colour] + ([e.new_colour] if e.change == "colour" else [])


def test_appear_answers_match_colour_pixels(records, colours):
    answers = set()
    for r in _of_form(records, "appear"):
        colour = r["entity"].split()[0]
        pixels = _count(colours[r["video_id"]], colour)
        if r["answer"] == "yes":
            assert pixels.max() > 100, r
        else:  # neither drawn nor recoloured into another entity's colour
            assert pixels.max() < 30, (r, pixels)  # a few stray noise pixels at most
        answers.add(r["answer"])
    assert answers == {"yes", "no"}


def test_static_answers_match_entity_motion(records, colours):
    for r in _of_form(records, "static"):
        spec = _spec(r)
        travels = [np.ptp(_track(colours[r["video_id"]], e), axis=0).max() for e in spec.entities if e.drawn]
        if r["answer"] == "yes":
            assert max(travels) < 6, (r, travels)  # centroid wobble of a noisy or changing shape
        else:  # a flickering entity may be seen over part of its path only
            assert max(travels) > 18 and min(travels) > 8, (r, travels)


def test_static_video_has_no_frame_differences(records, decoded):
    checked = 0
    for r in _of_form(records, "static"):
        spec = _spec(r)
        if r["answer"] == "yes" and all(e.change == "steady" for e in spec.entities):
            frames = decoded[r["video_id"]]
            assert np.abs(frames - frames[0]).mean() < 0.5
            checked += 1
        elif r["answer"] == "no":
            frames = decoded[r["video_id"]]
            assert np.abs(frames[-1] - frames[0]).mean() > 2.0
    assert checked


def _track(codes: np.ndarray, e: ProbeEntity) -> np.ndarray:
    """(n, 2) centroids of the entity in the frames where it is seen, in any colour it takes."""
    by_frame: list[tuple[float, float] | None] = [None] * len(codes)
    for colour in _colours_of(e):
        for i, p in enumerate(_centroids(codes, colour)):
            by_frame[i] = by_frame[i] or p
    return np.asarray([p for p in by_frame if p is not None])


def test_direction_answers_match_horizontal_travel(records, colours):
    answers = set()
    for r in _of_form(records, "direction"):
        track = _track(colours[r["video_id"]], _entity(_spec(r), r))
        dx = track[-1, 0] - track[0, 0]
        assert abs(dx) > 15, (r, dx)
        asked_right = r["question"].endswith("to the right?")
        assert (r["answer"] == "yes") == ((dx > 0) == asked_right), (r, dx)
        answers.add(r["answer"])
    assert answers == {"yes", "no"}


def test_gravity_answers_match_vertical_travel(records, colours):
    answers = set()
    for r in _of_form(records, "gravity"):
        track = _track(colours[r["video_id"]], _entity(_spec(r), r))
        dy = track[-1, 1] - track[0, 1]
        if r["answer"] == "yes":
            assert dy < -15, (r, dy)  # image y grows downward: rising is negative
        else:
            assert dy > -3, (r, dy)
        answers.add(r["answer"])
    assert answers == {"yes", "no"}


def test_flicker_answers_match_visibility(records, colours):
    for r in _of_form(records, "flicker"):
        pixels = _count(colours[r["video_id"]], r["entity"].split()[0])
        if r["answer"] == "yes":
            assert (pixels < 30).sum() >= 2 and (pixels > 50).sum() >= 3, (r, pixels)
        else:
            assert pixels.min() > 50, (r, pixels)


def test_change_answers_match_colour_or_shape(records, decoded, colours):
    kinds = set()
    for r in _of_form(records, "change"):
        spec = _spec(r)
        e = _entity(spec, r)
        frames = decoded[r["video_id"]]
        old = _count(colours[r["video_id"]], e.colour)
        if r["answer"] == "no":
            assert old.min() > 50, (r, old)
            continue
        kinds.add(e.change)
        if e.change == "colour":
            new = _count(colours[r["video_id"]], e.new_colour)
            assert old[: e.change_slot].min() > 50 and old[e.change_slot:].max() < 30, (r, old)
            assert new[e.change_slot:].min() > 50 and new[: e.change_slot].max() < 30, (r, new)
        else:  # same colour, a different outline
            shapes = _shapes_seen(spec, e, frames)
            assert shapes[: e.change_slot] == [e.shape] * e.change_slot, (r, shapes)
            assert shapes[e.change_slot:] == [e.new_shape] * (len(frames) - e.change_slot), (r, shapes)
    assert kinds  # at least one planted change was checked


def _own_region(spec: ProbeSpec, e: ProbeEntity, t: float, reach: float) -> np.ndarray:
    """(H, W) pixels within `reach` radii of the entity's planned centre and nearer it than any other's."""
    yy, xx = np.mgrid[: spec.size, : spec.size]

    def distance(x: ProbeEntity) -> np.ndarray:
        cx, cy = x.centre(t, spec.seconds)
        return np.hypot(xx - cx, yy - cy)

    mine = distance(e)
    others = [distance(x) for x in spec.entities if x.drawn and x is not e]
    return (mine < reach * spec.radius) & np.all([mine <= d for d in others], axis=0)


def _shape_seen(spec: ProbeSpec, e: ProbeEntity, frame: np.ndarray, t: float, half: int = 20) -> str:
    """The shape whose sharp outline best overlaps what is drawn around the entity's planned place.

    "Drawn" is any pixel far from the background in the entity's own region, so grey noise inside
    the shape does not punch holes in it.
    """
    drawn = (np.linalg.norm(frame - np.asarray(BACKGROUND, np.float32), axis=-1) > 50) & _own_region(spec, e, t, 1.6)
    ys, xs = np.nonzero(drawn)
    cy, cx = int(round(ys.mean())), int(round(xs.mean()))
    seen = np.pad(drawn, half)[cy:cy + 2 * half + 1, cx:cx + 2 * half + 1]

    def iou(shape: str) -> float:
        template = shape_template(shape, spec.radius, 2 * half + 1)
        return float((template & seen).sum() / (template | seen).sum())

    return max(SHAPES, key=iou)


def _shapes_seen(spec: ProbeSpec, e: ProbeEntity, frames: np.ndarray) -> list[str]:
    return [_shape_seen(spec, e, f, _sample_time(i, len(frames), spec)) for i, f in enumerate(frames)]


def test_steady_shapes_keep_their_outline(records, decoded):
    checked = 0
    for r in _of_form(records, "change"):
        spec = _spec(r)
        e = _entity(spec, r)
        if r["answer"] == "no" and e.quality != "blur":
            assert set(_shapes_seen(spec, e, decoded[r["video_id"]])) == {e.shape}, r
            checked += 1
    assert checked


def _steepness(frames: np.ndarray, spec: ProbeSpec, e: ProbeEntity) -> float:
    """Steepest edge around the entity, as a share of its contrast: about 1/2 sharp, far less blurred."""
    values = []
    for i, frame in enumerate(frames):
        t = _sample_time(i, len(frames), spec)
        if e.look(int(t / 0.5)) is None:
            continue
        contrast = np.linalg.norm(frame - np.asarray(BACKGROUND, np.float32), axis=-1)
        gy, gx = np.gradient(contrast)
        region = _own_region(spec, e, t, 2.2)
        values.append(np.hypot(gx, gy)[region].max() / contrast[region].max())
    return float(np.median(values))


def _sample_time(i: int, n: int, spec: ProbeSpec) -> float:
    """When the i-th of n frames sampled at 2 fps was rendered (the frame at or before the instant)."""
    return float(np.floor((i + 0.5) * spec.seconds / n * spec.fps + 1e-9) / spec.fps)


def test_blurred_entities_have_softer_edges_than_sharp_ones(records, decoded):
    sharp, blurred = [], []
    for r in _of_form(records, "blur"):
        spec = _spec(r)
        (sharp if r["answer"] == "yes" else blurred).append(_steepness(decoded[r["video_id"]], spec, _entity(spec, r)))
    assert sharp and blurred
    assert max(blurred) < 0.2 < 0.3 < min(sharp), (sorted(blurred), sorted(sharp))


def test_noisy_entities_have_speckle_and_clean_ones_do_not(records, decoded):
    noisy, clean = [], []
    for r in _of_form(records, "noise"):
        spec = _spec(r)
        e = _entity(spec, r)
        frames = decoded[r["video_id"]]
        # luminance spread inside the shape's inner disc, at the planned centre, in frames where it is drawn
        spreads = []
        for i, frame in enumerate(frames):
            t = _sample_time(i, len(frames), spec)
            if e.look(int(t / 0.5)) is None:
                continue
            cx, cy = e.centre(t, spec.seconds)
            yy, xx = np.mgrid[: frame.shape[0], : frame.shape[1]]
            inner = np.hypot(xx - cx, yy - cy) < 0.4 * spec.radius
            spreads.append(frame.mean(axis=-1)[inner].std())
        (noisy if r["answer"] == "yes" else clean).append(float(np.median(spreads)))
    assert noisy and clean
    assert max(clean) < 10 < 25 < min(noisy), (sorted(clean), sorted(noisy))


# --- scene labels (scenes.jsonl), the targets of vision pretraining --------------------------------

def _scenes(probe_dir) -> dict[str, list[str]]:
    return {row["video_id"]: row["labels"] for row in map(json.loads, (probe_dir / "scenes.jsonl").read_text().splitlines())}


def test_scene_colours_and_motion_hold_in_the_decoded_frames(probe_dir, colours):
    scenes = _scenes(probe_dir)
    assert len(scenes) == N
    for video_id, labels in scenes.items():
        codes = colours[video_id]
        for colour in COLOURS:
            seen = _count(codes, colour).max()
            if f"colour:{colour}" in labels:
                assert seen > 100, (video_id, colour, labels)
        spec = plan_probe(SEED, int(video_id[1:]))
        for e in spec.entities:
            if not e.drawn or e.change == "colour":
                continue
            track = _track(codes, e)
            dx = track[-1, 0] - track[0, 0]
            if "static" in labels:
                assert abs(dx) < 6, (video_id, labels)
            elif f"moves_{e.direction}" in labels and e.change != "flicker":
                assert (dx < -8) if e.direction == "left" else (dx > 8), (video_id, dx, labels)


def test_scene_labels_agree_with_every_true_answer(probe_dir, records):
    scenes = _scenes(probe_dir)
    for r in records:
        labels = scenes[r["video_id"]]
        if r["form"] == "static":
            assert ("static" in labels) == (r["answer"] == "yes"), r
        elif r["form"] in ("noise", "flicker") and r["answer"] == "yes":
            assert r["form"] in labels, r
        elif r["form"] == "blur" and r["answer"] == "no":  # "clearly visible without blur?" no: it is blurred
            assert "blur" in labels, r
        elif r["form"] == "gravity" and r["answer"] == "yes":
            assert "rises" in labels, r
        elif r["form"] == "appear" and r["answer"] == "yes":
            assert f"colour:{r['entity'].split()[0]}" in labels and f"shape:{r['entity'].split()[1]}" in labels, r
