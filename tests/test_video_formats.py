"""A video is a video (issue 26 §1, §3): one gate, check_video_container, decides the container from the file's
bytes through an allow-list before anything is decoded; files that refer to other files, other formats and
paths that are not regular files each get a one-line VideoError naming the file and what was found.

Every input goes through it because the decoder itself does (load_video, check_video), so these tests call those.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import write_video
from fingereval.errors import VideoError
from fingereval.limits import InputLimits, LimitExceeded
from fingereval.video import VideoConfig, VideoFormatError, check_video, check_video_container, load_video

SMALL = VideoConfig(size=56)


def _one_line(e: pytest.ExceptionInfo, name: str) -> str:
    message = str(e.value)
    assert "\n" not in message and message.startswith(name), message
    return message


def _playlist(target) -> str:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\n{target}\n#EXT-X-ENDLIST\n"


def test_an_hls_playlist_naming_a_video_elsewhere_is_refused_not_decoded(tmp_path):
    """The attack: bytes that are an HLS playlist naming a real mp4 elsewhere on disk. FFmpeg's hls demuxer would
    open and decode that other file, so any readable video becomes answerable through an upload."""
    secret = write_video(tmp_path / "elsewhere" / "secret.mp4", frames=8, size=56)
    for name in ("evil.m3u8", "evil.mp4", "evil"):
        playlist = tmp_path / "upload" / name
        playlist.parent.mkdir(exist_ok=True)
        playlist.write_text(_playlist(secret))
        for gate in (check_video_container, check_video, lambda p: load_video(p, SMALL)):
            with pytest.raises(VideoFormatError) as e:
                gate(playlist)
            assert "HLS playlist" in _one_line(e, str(playlist))
    relative = tmp_path / "elsewhere" / "list.m3u8"  # a segment beside it, named relatively
    relative.write_text(_playlist("secret.mp4"))
    with pytest.raises(VideoFormatError):
        load_video(relative, SMALL)


def test_concat_scripts_and_image_sequences_are_refused(tmp_path):
    secret = write_video(tmp_path / "secret.mp4", frames=8, size=56)
    script = tmp_path / "list.ffconcat"
    script.write_text(f"ffconcat version 1.0\nfile '{secret.name}'\n")
    with pytest.raises(VideoFormatError) as e:
        load_video(script, SMALL)
    assert "concat found" in _one_line(e, str(script))
    import av

    for i in range(3):  # an image2 sequence: the "file" is a pattern naming other files
        with av.open(str(tmp_path / f"frame{i:03d}.png"), "w", format="image2") as c:
            s = c.add_stream("png", rate=1)
            s.width = s.height = 32
            s.pix_fmt = "rgb24"
            for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                c.mux(p)
    with pytest.raises(VideoError, match="not found"):
        load_video(tmp_path / "frame%03d.png", SMALL)
    with pytest.raises(VideoFormatError, match="png_pipe found"):  # one image is not a video either
        load_video(tmp_path / "frame000.png", SMALL)


@pytest.mark.parametrize("name,codec,found", [("a.mp4", "mpeg4", "mov,mp4,m4a,3gp,3g2,mj2"),
                                              ("a.mkv", "libx264", "matroska,webm"), ("a.webm", "libvpx", "matroska,webm"),
                                              ("a.avi", "mpeg4", "avi"), ("a.gif", "gif", "gif"), ("a.ts", "mpeg4", "mpegts")])
def test_the_bytes_decide_the_format_never_the_name(tmp_path, name, codec, found):
    real = write_video(tmp_path / name, codec=codec, frames=8, size=56)
    assert check_video_container(real) == found
    renamed = tmp_path / "renamed.m3u8"  # a playlist's name, a video's bytes
    shutil.copy(real, renamed)
    assert check_video_container(renamed) == found
    assert np.array_equal(load_video(renamed, SMALL).frames, load_video(real, SMALL).frames)


def test_other_formats_are_named_in_the_refusal(tmp_path):
    import av

    flv = tmp_path / "clip.mp4"  # an flv under an mp4 name
    with av.open(str(flv), "w", format="flv") as c:
        s = c.add_stream("flv", rate=8)
        s.width = s.height = 32
        s.pix_fmt = "yuv420p"
        for i in range(4):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 50, np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(VideoFormatError) as e:
        check_video_container(flv)
    assert "flv found" in _one_line(e, str(flv)) and "mp4/mov" in str(e.value)
    text = tmp_path / "notes.mp4"
    text.write_text("just some words\n" * 10)
    with pytest.raises(VideoError, match=r"not a readable video \(a text file found\)"):
        load_video(text, SMALL)


def test_paths_that_are_not_regular_files_get_a_one_line_video_error(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(tmp_path / "loop2.mp4")
    (tmp_path / "loop2.mp4").symlink_to(loop)
    sock_path = tmp_path / "s.mp4"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    video = write_video(tmp_path / "v.mp4", frames=8, size=56)
    cases = {fifo: "not a regular file", "/dev/zero": "not a regular file", sock_path: "cannot be opened",
             loop: "symbolic links", tmp_path / ("x" * 300 + ".mp4"): "too long", video / "inner.mp4": "Not a directory",
             tmp_path: "folder", tmp_path / "gone.mp4": "not found"}
    try:
        for path, says in cases.items():
            for gate in (check_video_container, lambda p: load_video(p, SMALL)):
                with pytest.raises(VideoError) as e:
                    gate(path)  # a FIFO without a writer would block an open for ever: refused at once
                assert says in _one_line(e, str(path)), str(e.value)
    finally:
        server.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode; the other OSErrors take this path")
def test_an_unreadable_file_is_a_video_error(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=8, size=56)
    video.chmod(0)
    with pytest.raises(VideoError, match="Permission denied"):
        load_video(video, SMALL)


def test_decoded_length_caps_refuse_before_any_frame_is_decoded(tmp_path, monkeypatch):
    import fingereval.video as video

    path = write_video(tmp_path / "v.mp4", frames=16, fps=8, size=56)  # 2 s, 16 frames
    decoded = []
    monkeypatch.setattr(video, "_decode", lambda *a, **k: decoded.append(1))
    with pytest.raises(LimitExceeded) as e:
        load_video(path, SMALL, InputLimits(max_video_frames=15))
    assert "16 frames, over the cap of 15 decoded frames per video (--max-video-frames)" in str(e.value)
    with pytest.raises(LimitExceeded, match=r"1\.9 s of video, over the cap of 1\.5 seconds .*--max-video-seconds"):
        check_video(path, InputLimits(max_video_seconds=1.5))
    assert decoded == []
    monkeypatch.undo()
    assert load_video(path, SMALL, InputLimits(max_video_frames=16, max_video_seconds=2)).num_frames == 4


def test_the_pixel_cap_counts_frames_times_their_size_before_any_frame_is_decoded(tmp_path, monkeypatch):
    """Frames alone do not bound the decoder's work: 16 frames of 56x56 are 50,176 pixels (by hand)."""
    import fingereval.video as video

    path = write_video(tmp_path / "v.mp4", frames=16, fps=8, size=56)
    decoded = []
    monkeypatch.setattr(video, "_decode", lambda *a, **k: decoded.append(1))
    with pytest.raises(LimitExceeded, match=r"5\.02e\+04 decoded pixels, over the cap of 50175 pixels .*--max-video-pixels"):
        load_video(path, SMALL, InputLimits(max_video_frames=16, max_video_pixels=50_175))
    with pytest.raises(LimitExceeded, match="--max-video-pixels"):
        check_video(path, InputLimits(max_video_pixels=50_175))
    assert decoded == []
    monkeypatch.undo()
    assert load_video(path, SMALL, InputLimits(max_video_pixels=50_176)).num_frames == 4


def test_a_refusal_in_another_process_names_its_format(tmp_path):
    """The format's name comes from FFmpeg's log of its refusal; PyAV's logging stays as it was (off)."""
    wav = tmp_path / "sound.mp4"
    code = f"""
import av, numpy as np
with av.open({str(wav)!r}, "w", format="wav") as c:
    s = c.add_stream("pcm_s16le", rate=8000)
    f = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono"); f.sample_rate = 8000
    [c.mux(p) for p in s.encode(f)]
import av.logging
from fingereval.video import check_video_container
for _ in range(2):  # twice: the second refusal is not held back as a repeat of the first
    try:
        check_video_container({str(wav)!r})
    except Exception as e:
        print(e)
print(av.logging.get_level())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert len(lines) == 3 and all("has no video stream (wav found)" in line for line in lines[:2]), lines
    assert lines[2] == "None"


def test_frames_larger_than_8k_are_refused_before_decoding(tmp_path):
    """A few hundred KB can declare frames of 35 megapixels, which every decoder thread would hold."""
    import av

    path = tmp_path / "huge.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=1, options={"preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = 8192, 4320, "yuv420p"
        frame = av.VideoFrame(8192, 4320, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for p in [*s.encode(frame), *s.encode()]:
            c.mux(p)
    assert path.stat().st_size < 1_000_000
    for gate in (check_video, lambda p: load_video(p, SMALL)):
        with pytest.raises(VideoError) as e:
            gate(path)
        assert "8192x4320 frames are larger than 8K UHD" in _one_line(e, str(path))
