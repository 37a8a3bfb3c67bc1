"""Video decoding with PyAV: formats, the sampling policy, and a clear error for each kind of bad file."""
from __future__ import annotations

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
