"""Video decoding with PyAV: formats, the sampling policy, and a clear error for each kind of bad file."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from conftest import write_video
from fingereval.errors import VideoError
from fingereval.video import VideoConfig, load_video


@pytest.mark.parametrize("name,codec", [("a.mp4", "mpeg4"), ("a.webm", "libvpx"), ("a.mov", "mpeg4"),
                                        ("a.avi", "mpeg4"), ("a.gif", "gif")])
def test_formats_decode(tmp_path, name, codec):
    clip = load_video(write_video(tmp_path / name, codec=codec), VideoConfig(size=56))
    assert clip.frames.shape[1:] == (56, 56, 3) and clip.frames.dtype.name == "uint8"
    assert clip.num_frames == 4 and clip.fps == pytest.approx(2.0, rel=0.01)  # 2 s at 2 fps (gif times are centiseconds)


def test_sampling_follows_fps_and_budget(tmp_path):
    path = write_video(tmp_path / "long.mp4", frames=24, fps=4)  # 6 s
    assert load_video(path, VideoConfig(fps=2, size=112)).num_frames == 12
    capped = load_video(path, VideoConfig(fps=2, max_frames=4, size=112))
    assert capped.num_frames == 4 and capped.fps == pytest.approx(4 / 6)  # the real sampled rate travels along
    # frames are in time order: the red square moves right, so its centroid column grows
    cols = [np.nonzero((f[..., 0] > 150) & (f[..., 2] < 100))[1].mean() for f in capped.frames]
    assert cols == sorted(cols) and cols[-1] - cols[0] > 30


def test_odd_frame_count_is_padded_to_even(tmp_path):
    path = write_video(tmp_path / "odd.mp4", frames=12, fps=8)  # 1.5 s -> 3 frames at 2 fps -> padded to 4
    clip = load_video(path, VideoConfig(fps=2, size=56))
    assert clip.num_frames % 2 == 0
    assert (clip.frames[-1] == clip.frames[-2]).all()


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="not found"):
        load_video(tmp_path / "nope.mp4")


def test_empty_file(tmp_path):
    (tmp_path / "e.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        load_video(tmp_path / "e.mp4")


def test_not_a_video(tmp_path):
    (tmp_path / "t.mp4").write_text("this is a text file, not a video\n" * 20)
    with pytest.raises(VideoError, match="not a readable video"):
        load_video(tmp_path / "t.mp4")


def test_truncated_file(tmp_path):
    good = write_video(tmp_path / "g.mp4", frames=40)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(VideoError) as e:
        load_video(cut)
    assert "cut.mp4" in str(e.value)


def test_zero_frame_video(tmp_path):
    import av

    path = tmp_path / "zero.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=8)
        s.width = s.height = 32
    with pytest.raises(VideoError):
        load_video(path)


def test_audio_only_file(tmp_path):
    import av
    import numpy as np

    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for p in s.encode(frame):
            c.mux(p)
    with pytest.raises(VideoError, match="no video stream"):
        load_video(path)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(VideoError, match="folder"):
        load_video(tmp_path)


# --- decoding that scales with what is sampled (issue 13 §3) ---

def _write(path, frames=40, width=112, height=112, fps=8, codec="mpeg4", options=None):
    """A square sliding right over a background whose brightness follows the frame number: every frame differs."""
    import av

    with av.open(str(path), "w", options=options or {}) as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            f = np.full((height, width, 3), 20 + (i * 7) % 200, np.uint8)
            x = (i * 3) % (width - 16)
            f[height // 3: height // 3 + 16, x:x + 16] = (230, 30, 30)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _reference(path, config):
    """The specification, written plainly: decode and convert every frame, then pick (the pre-§3 algorithm)."""
    import av

    frames, times = [], []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        try:
            for f in c.decode(s):
                if not frames:
                    shape = config.frame_shape(f.height, f.width)
                rate = float(s.average_rate or 25)
                times.append(float(f.pts * s.time_base) if f.pts is not None else len(times) / rate)
                frames.append(f.to_ndarray(format="rgb24", width=shape[1], height=shape[0]))
        except av.error.FFmpegError:
            pass  # keep what decoded
    times = [t - times[0] for t in times]
    step = times[-1] / (len(times) - 1) if len(times) > 1 else 1 / 25
    duration = times[-1] + step
    n = min(max(2, round(duration * config.fps)), config.max_frames)
    idx = np.clip(np.searchsorted(times, (np.arange(n) + 0.5) * duration / n, side="right") - 1, 0, len(frames) - 1)
    picked = np.stack([frames[i] for i in idx])
    if len(picked) % 2:
        picked = np.concatenate([picked, picked[-1:]])
    return picked, duration, len(set(idx.tolist()))


@pytest.fixture
def conversions(monkeypatch):
    """Counts the frames converted to arrays (the costly step, and the memory held)."""
    import fingereval.video as video

    count = {"n": 0}
    real = video._to_rgb

    def counting(*a, **k):
        count["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(video, "_to_rgb", counting)
    return count


@pytest.mark.parametrize("name,codec", [("a.mp4", "libx264"), ("a.mkv", "libx264"), ("a.webm", "libvpx"),
                                        ("a.avi", "mpeg4"), ("a.mov", "mpeg4")])
@pytest.mark.parametrize("config", [VideoConfig(fps=2, size=56), VideoConfig(fps=2, max_frames=6, size=56),
                                    VideoConfig(fps=10, max_frames=64, size=56),  # above the source rate: frames repeat
                                    VideoConfig(fps=1.4, size=56)])  # 7 frames: padded
def test_selection_equals_decoding_everything(tmp_path, name, codec, config, conversions):
    path = _write(tmp_path / name, frames=41, codec=codec)
    clip = load_video(path, config)
    want, duration, distinct = _reference(path, config)
    assert np.array_equal(clip.frames, want) and clip.duration == pytest.approx(duration)
    assert not clip.truncated and clip.seconds_decoded == pytest.approx(41 / 8)
    assert conversions["n"] == distinct  # only the sampled frames were converted, each once


def test_conversions_follow_the_sample_not_the_clip_length(tmp_path, conversions):
    config = VideoConfig(fps=2, max_frames=8, size=56)
    for seconds in (2, 30):
        conversions["n"] = 0
        path = _write(tmp_path / f"{seconds}s.mp4", frames=seconds * 24, width=64, height=48, fps=24, codec="libx264")
        clip = load_video(path, config)
        assert conversions["n"] == clip.num_frames == (4 if seconds == 2 else 8)  # 720 frames decoded, 8 kept
        assert np.array_equal(clip.frames, _reference(path, config)[0])


def test_frames_without_timestamps_in_the_demuxer_still_match(tmp_path, monkeypatch, conversions):
    """When the demux pass cannot predict the frame times, the decoded times decide and a pass fetches those."""
    import fingereval.video as video

    real = video._scan
    monkeypatch.setattr(video, "_scan", lambda p: dataclasses.replace(real(p), times=None))
    config = VideoConfig(fps=2, max_frames=6, size=56)
    path = _write(tmp_path / "a.mkv", frames=64, codec="libx264")
    clip = load_video(path, config)
    assert np.array_equal(clip.frames, _reference(path, config)[0]) and conversions["n"] == 6


@pytest.mark.parametrize("odd_config", [VideoConfig(fps=1.4, size=56), VideoConfig(fps=2, max_frames=5, size=56)])
def test_fps_counts_the_frames_handed_over_padding_included(tmp_path, odd_config):
    from fingereval.answer.inputs import video_metadata

    clip = load_video(_write(tmp_path / "a.mp4", frames=40), odd_config)  # 5 s -> 7 or 5 frames, padded to even
    assert clip.num_frames % 2 == 0 and (clip.frames[-1] == clip.frames[-2]).all()
    assert clip.fps * clip.duration == pytest.approx(clip.num_frames)
    meta = video_metadata(clip)
    assert meta["total_num_frames"] / meta["fps"] == pytest.approx(meta["duration"])


# Qwen2-VL's rule, worked by hand for a 112 x 112 budget (12,544 pixels): each side rounded to a multiple of 28;
# over budget, both sides divided by sqrt(h w / 12,544) and floored to multiples of 28. 224x126: 112x224 is over,
# the factor is 1.5: 126 / 1.5 = 84, 224 / 1.5 = 149 -> 84 x 140. 160x120: 112x168 over, factor 1.237 -> 84 x 112. 96x200: 196x84
# over, factor 1.237 -> 140 x 56.
@pytest.mark.parametrize("width,height,want", [(224, 126, (84, 140)), (160, 120, (84, 112)),  # 16:9, 4:3
                                               (96, 200, (140, 56))])  # portrait
def test_keep_aspect_uses_multiples_of_28_within_the_budget(tmp_path, width, height, want):
    from types import SimpleNamespace

    from transformers import Qwen2VLVideoProcessor

    from fingereval.answer.inputs import video_pixels

    path = _write(tmp_path / "wide.mp4", frames=16, width=width, height=height)
    square = load_video(path, VideoConfig(size=112))
    assert square.frames.shape[1:3] == (112, 112) and square.resize == "square"
    clip = load_video(path, VideoConfig(size=112, keep_aspect=True))
    h, w = clip.frames.shape[1:3]
    assert clip.resize == "keep_aspect" and h % 28 == 0 and w % 28 == 0 and h * w <= 112 * 112
    assert (h, w) == want
    assert abs(w / h - width / height) < 0.35 * width / height  # the aspect survives, within 28-px rounding
    assert np.array_equal(clip.frames, _reference(path, VideoConfig(size=112, keep_aspect=True))[0])
    # the processor takes these frames as they are (no second resize): 14-px patches, 2 frames per patch
    longest = Qwen2VLVideoProcessor().size.longest_edge
    vp = Qwen2VLVideoProcessor(size={"shortest_edge": 56 * 56, "longest_edge": longest})
    _, grid = video_pixels(SimpleNamespace(video_processor=vp), clip)
    assert grid.tolist() == [[clip.num_frames // 2, h // 14, w // 14]]


@pytest.mark.parametrize("name,codec,options", [("a.mkv", "libx264", None), ("a.webm", "libvpx", None),
                                                ("a.mp4", "libx264", {"movflags": "faststart"})])
def test_truncated_file_is_scored_on_its_decoded_part_and_says_so(tmp_path, name, codec, options):
    config = VideoConfig(fps=2, size=56)
    good = _write(tmp_path / name, frames=80, codec=codec, options=options)  # 10 s
    whole = load_video(good, config)
    assert not whole.truncated and whole.seconds_decoded == pytest.approx(10.0)
    cut = tmp_path / f"cut{good.suffix}"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    clip = load_video(cut, config)
    assert clip.truncated and 2.0 < clip.seconds_decoded < 8.0
    want, duration, _ = _reference(cut, config)
    assert np.array_equal(clip.frames, want) and clip.seconds_decoded == pytest.approx(duration)


def test_result_records_policy_and_truncation(tmp_path):
    from fingereval.schema import RawAnswer
    from fingereval.schema import Question
    from fingereval.score import video_result

    good = _write(tmp_path / "a.mkv", frames=80, width=224, height=126, codec="libx264")
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    clip = load_video(cut, VideoConfig(size=112, keep_aspect=True))
    qs = [Question(id="1", dimension="visual_quality", text="Is it sharp?", good_answer="yes")]
    r = json.loads(video_result(str(cut), "p", qs, [RawAnswer("1", 0.8)], clip=clip).to_json())
    assert r["resize"] == "keep_aspect" and r["video_truncated"] is True
    assert r["video_seconds_decoded"] == pytest.approx(clip.duration) and r["video_seconds_decoded"] < 8
    r = json.loads(video_result("a.mkv", "p", qs, [RawAnswer("1", 0.8)], clip=load_video(good)).to_json())
    assert r["resize"] == "square" and r["video_truncated"] is False and r["video_seconds_decoded"] == pytest.approx(10)


def test_score_command_keep_aspect_reaches_the_result(tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from fingereval.cli import app

    path = _write(tmp_path / "wide.mp4", frames=16, width=224, height=126)
    r = CliRunner().invoke(app, ["score", str(path), "--prompt", "A red square slides to the right", "--model",
                                 str(tiny_model_dir), "--size", "112", "--max-frames", "4", "--keep-aspect", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["resize"] == "keep_aspect" and out["video_truncated"] is False
    assert out["video_seconds_decoded"] == pytest.approx(2.0)
