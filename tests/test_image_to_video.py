"""Image-to-video (issue 30, item 2): the conditioning image reaches the model before the video, in process and
through a served model, from the CLI, a manifest and the service; bad images are refused in one line.

The tiny random checkpoint's answers depend strongly on every input, so "only the image changed" shows up in p_yes;
the in-process reading is checked against the processor's own rendering of an image-then-video chat run through a
plain forward (transformers' positions and token types, not ours).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from conftest import write_video
from openai_server import ChatServer, ModelReply
from serving import SERVE_FRAMES, SERVE_SIZE, assert_error, files_in, serve_evaluator, served, wait_idle  # noqa: F401

from fingereval.answer.format import assistant_prefix, user_text
from fingereval.answer.openai_backend import OpenAIAnswerer
from fingereval.answer.transformers_backend import TransformersAnswerer
from fingereval.cli import app
from fingereval.image import MAX_IMAGE_PIXELS, ImageError, check_image, load_image
from fingereval.schema import Question, QuestionSet
from fingereval.video import VideoConfig, load_video

VC = VideoConfig(size=112)
PROMPT = "a red square slides right"
QUESTIONS = [Question(id="q1", dimension="text_alignment", text="Is there a red square?", good_answer="yes"),
             Question(id="q2", dimension="visual_quality", text="Is the video sharp?", good_answer="yes")]

pytestmark = pytest.mark.timeout(900)


def picture(path: Path, colour, size: int = 112, fmt: str | None = None) -> Path:
    """A square of `colour` on grey (the look of the test videos' first frame when `colour` is theirs)."""
    pixels = np.full((size, size, 3), 40, np.uint8)
    pixels[size // 3: size // 3 + size // 4, 8: 8 + size // 4] = colour
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` pixels and holds none (the bytes a pixel bomb needs)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("images")
    return {"red": picture(root / "red.png", (220, 30, 30)), "blue": picture(root / "blue.jpg", (30, 30, 220), fmt="JPEG"),
            "bomb": (root / "bomb.png"), "big": (root / "big.png"), "cut": (root / "cut.png"), "text": root / "notes.png"}


@pytest.fixture(scope="module", autouse=True)
def bad_images(images):
    images["bomb"].write_bytes(png_header(100_000, 100_000))  # 10^10 pixels declared in 57 bytes
    images["big"].write_bytes(png_header(8000, 5000))  # just over 8K UHD: refused before decoding
    images["cut"].write_bytes(images["red"].read_bytes()[:60])  # the header and a few bytes of pixels
    images["text"].write_text("not an image, whatever the name says")


@pytest.fixture(scope="module")
def local(tiny_model_dir):
    return TransformersAnswerer(tiny_model_dir, video_config=VC)


def log_odds(p: float) -> float:
    return math.log(p) - math.log1p(-p)


# ---- the image itself ----------------------------------------------------------------------------------------

def test_bad_images_are_refused_in_one_line_naming_the_file(images, tmp_path):
    for name, words in [("bomb", "more pixels than 8K UHD"), ("big", "8000x5000, more pixels than 8K UHD"),
                        ("cut", "cannot be decoded"), ("text", "not an image fingereval reads")]:
        with pytest.raises(ImageError) as e:
            load_image(images[name])
        message = str(e.value)
        assert "\n" not in message and message.startswith(str(images[name])) and words in message, message
    with pytest.raises(ImageError, match="not an image fingereval reads"):  # a GIF is a video's container here
        check_image(picture(tmp_path / "x.gif", (1, 2, 3), fmt="GIF"))
    with pytest.raises(ImageError, match="folder"):
        check_image(tmp_path)
    with pytest.raises(ImageError, match="not found"):
        check_image(tmp_path / "gone.png")
    assert 8000 * 5000 > MAX_IMAGE_PIXELS > 7000 * 4000
    check_image(images["cut"])  # its header is fine: only decoding finds the cut


def test_the_image_is_resized_as_the_frames_and_hashed_by_its_bytes(images):
    image = load_image(images["red"], VideoConfig(size=56).frame_shape)
    assert image.pixels.shape == (56, 56, 3) and image.pixels.dtype == np.uint8
    assert image.sha256 == hashlib.sha256(images["red"].read_bytes()).hexdigest()
    wide = load_image(images["red"], VideoConfig(size=56, keep_aspect=True).frame_shape)
    assert wide.pixels.shape == (56, 56, 3)  # a square image keeps its square within the frames' budget


def test_an_answerer_that_would_not_show_the_image_is_refused_one(red_video, images):
    from fingereval.answer.base import Answerer
    from fingereval.errors import ConfigError
    from fingereval.evaluator import Evaluator
    from fingereval.schema import RawAnswer

    class TextOnly(Answerer):  # another package's answerer, written before image-to-video
        name = "text-only"

        def answer(self, clip, questions, reason=False):
            return [RawAnswer(q.id, 0.5) for q in questions]

    evaluator = Evaluator(answerer=TextOnly())
    qs = QuestionSet(prompt=PROMPT, questions=QUESTIONS)
    assert evaluator.score(red_video, PROMPT, qs).image is None  # without an image it scores as before
    with pytest.raises(ConfigError, match="'text-only' answerer does not show the model a conditioning image"):
        evaluator.score(red_video, PROMPT, qs, image=images["red"])


# ---- in process ------------------------------------------------------------------------------------------------

def reference_logprobs(answerer, clip, image_pixels, user: str, prefix: str) -> torch.Tensor:
    """Next-token log-probs after one image-then-video prompt, as transformers itself renders and runs it: the
    processor's chat template, its placeholder expansion, token types and (inside the model) M-RoPE positions."""
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "video"}, {"type": "text", "text": user}]}]
    text = answerer.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False) + prefix
    n = clip.num_frames
    meta = {"fps": clip.fps, "total_num_frames": n, "frames_indices": list(range(n)), "duration": clip.duration,
            "width": clip.frames.shape[2], "height": clip.frames.shape[1]}
    inputs = answerer.processor(text=[text], images=[image_pixels], videos=[clip.frames], video_metadata=[meta],
                                do_sample_frames=False, cap_pixels_per_frame=True, return_tensors="pt")
    with torch.inference_mode():
        logits = answerer.model(**inputs).logits[0, -1]
    return torch.log_softmax(logits.double(), dim=-1)


def test_the_image_reaches_the_in_process_model_before_the_video(local, red_video, images):
    clip = load_video(red_video, VC)
    red = dataclasses.replace(clip, image=load_image(images["red"], VC.frame_shape))
    blue = dataclasses.replace(clip, image=load_image(images["blue"], VC.frame_shape))
    user, prefix = user_text(QUESTIONS[0].text), assistant_prefix(False)
    for shared_prefix in (True, False):  # the shared-prefix engine and the naive baseline
        local.shared_prefix = shared_prefix
        try:
            for with_image in (red, blue):
                got = local.slot_distributions(with_image, [user], [prefix])[1][0]
                want = reference_logprobs(local, clip, with_image.image.pixels, user, prefix)
                assert (got - want).abs().max() < 1e-4, shared_prefix
        finally:
            local.shared_prefix = True
    p = {name: [a.p_yes for a in local.answer(c, QUESTIONS)] for name, c in
         (("red", red), ("blue", blue), ("none", clip))}
    # a clip prepared ahead (decode ahead runs the processor) without the image, then given one: run again
    late = dataclasses.replace(local.prepare(clip), image=red.image)
    assert [a.p_yes for a in local.answer(late, QUESTIONS)] == pytest.approx(p["red"], rel=1e-6)
    assert [a.p_yes for a in local.answer(local.prepare(red), QUESTIONS)] == pytest.approx(p["red"], rel=1e-6)
    for q in range(len(QUESTIONS)):  # only the image changed: the answers moved (measured 1.2 in log-odds)
        assert abs(log_odds(p["red"][q]) - log_odds(p["blue"][q])) > 0.1
        assert abs(log_odds(p["red"][q]) - log_odds(p["none"][q])) > 0.1
    # the image sits in the prefix every question shares: one prefill for the video and its image together
    video = local.video_inputs(red)
    rows = local.prompt_rows(video, [user_text(q.text) for q in QUESTIONS], [prefix] * len(QUESTIONS))
    prefill = local.prefix_for(video, rows)
    image_at = [i for i, t in enumerate(rows[0]) if t == local.model.config.image_token_id]
    video_at = [i for i, t in enumerate(rows[0]) if t == local.model.config.video_token_id]
    assert image_at and max(image_at) < min(video_at) < max(video_at) < prefill.length


# ---- through a served model --------------------------------------------------------------------------------------

def test_the_served_answerer_sends_the_image_first_once_and_the_server_model_sees_it(local, red_video, images):
    clip = load_video(red_video, VC)
    with ChatServer(ModelReply(local, VC, model="tiny"), served=("tiny",)) as server:
        served_answerer = OpenAIAnswerer("tiny", base_url=server.url, video_config=VC, top_logprobs=len(local.tokenizer),
                                         retry_backoff=0.01, timeout=60)
        got, want = {}, {}
        for name in ("red", "blue"):
            with_image = dataclasses.replace(clip, image=load_image(images[name], VC.frame_shape))
            server.reset()
            got[name] = [a.p_yes for a in served_answerer.answer(with_image, QUESTIONS)]
            want[name] = [a.p_yes for a in local.answer(with_image, QUESTIONS)]
            assert got[name] == pytest.approx(want[name], rel=1e-3), name
            parts = [[p["type"] for p in b["messages"][0]["content"]] for b in server.bodies]
            assert parts and all(p == ["image_url", "video_url", "text"] for p in parts)
            # 2 requests per question, the image and the video decoded once each: uuids on both parts
            assert len(server.bodies) == 2 * len(QUESTIONS) and server.media_decoded == 2, name
            first = server.bodies[0]["messages"][0]["content"][0]
            assert first["image_url"]["url"].startswith("data:image/png;base64,") and first["uuid"]
        served_answerer.close()
    for q in range(len(QUESTIONS)):
        assert abs(log_odds(got["red"][q]) - log_odds(got["blue"][q])) > 0.1


# ---- the CLI, a manifest ---------------------------------------------------------------------------------------

def test_score_with_image_end_to_end_records_it_and_refuses_a_bad_one(tiny_model_dir, red_video, images, tmp_path):
    from fingereval.evaluator import Evaluator

    qfile = tmp_path / "q.json"
    qfile.write_text(QuestionSet(prompt=PROMPT, questions=QUESTIONS).model_dump_json())
    base = ["score", str(red_video), "--prompt", PROMPT, "--model", str(tiny_model_dir), "--size", "112",
            "--questions", str(qfile), "--json"]
    runs = {}
    for name in ("red", "blue"):
        run = CliRunner().invoke(app, [*base, "--image", str(images[name])])
        assert run.exit_code == 0, run.output
        runs[name] = json.loads(run.stdout)
        assert runs[name]["image"] == {"path": str(images[name]),
                                       "sha256": hashlib.sha256(images[name].read_bytes()).hexdigest()}
    evaluator = Evaluator(tiny_model_dir, video_config=VC)
    want = evaluator.score(red_video, PROMPT, QuestionSet(prompt=PROMPT, questions=QUESTIONS), image=images["red"])
    assert [q["p_yes"] for q in runs["red"]["questions"]] == pytest.approx([q.p_yes for q in want.questions], rel=1e-4)
    assert [q["p_yes"] for q in runs["red"]["questions"]] != pytest.approx([q["p_yes"] for q in runs["blue"]["questions"]],
                                                                             rel=1e-3)
    for bad in ("bomb", "text"):
        run = CliRunner().invoke(app, [*base, "--image", str(images[bad])])
        assert run.exit_code == 2 and run.output.count("\n") == 1 and str(images[bad]) in run.output, run.output
    # a manifest's image column, relative to the manifest as the video is; a bad image fails its item only
    folder = tmp_path / "batch"
    (folder / "clips").mkdir(parents=True)
    picture(folder / "first" / "red.png", (220, 30, 30))
    (folder / "first" / "bad.png").write_bytes(png_header(100_000, 100_000))
    (folder / "clips" / "red.mp4").write_bytes(red_video.read_bytes())
    same = {"prompt": PROMPT, "questions": str(qfile)}
    lines = [{"id": "i2v", "video": "clips/red.mp4", "image": "first/red.png", **same},
             {"id": "bad", "video": "clips/red.mp4", "image": "first/bad.png", **same},
             {"id": "t2v", "video": "clips/red.mp4", **same},
             {"id": "i2v-blue", "video": "clips/red.mp4", "image": str(images["blue"]), **same}]
    (folder / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    run = CliRunner().invoke(app, ["score", "--manifest", str(folder / "m.jsonl"), "--out", str(folder / "r.jsonl"),
                                   "--model", str(tiny_model_dir), "--size", "112"])
    assert run.exit_code == 1, run.output  # one item failed
    got = {r["id"]: r for r in map(json.loads, (folder / "r.jsonl").read_text().splitlines())}
    recorded = got["i2v"]  # the image's path is recorded as the video's (both relative to the results, or both not)
    assert (folder / recorded["image"]["path"]).resolve() == (folder / "first" / "red.png").resolve()
    assert (folder / recorded["video"]).resolve() == (folder / "clips" / "red.mp4").resolve()
    assert Path(recorded["image"]["path"]).is_absolute() == Path(recorded["video"]).is_absolute()
    assert got["t2v"]["image"] is None and "more pixels than 8K UHD" in got["bad"]["error"]["message"]
    assert [q["p_yes"] for q in got["i2v"]["questions"]] != pytest.approx([q["p_yes"] for q in got["t2v"]["questions"]],
                                                                          rel=1e-3)
    # decoded ahead with its image (the batch's default), each item reads what one video with --image reads
    for item, single in (("i2v", "red"), ("i2v-blue", "blue")):
        assert [q["p_yes"] for q in got[item]["questions"]] == \
            pytest.approx([q["p_yes"] for q in runs[single]["questions"]], rel=1e-4)


def test_the_plain_text_result_names_the_image_beside_the_video(tiny_model_dir, red_video, images, tmp_path):
    qfile = tmp_path / "q.json"
    qfile.write_text(QuestionSet(prompt=PROMPT, questions=QUESTIONS).model_dump_json())
    base = ["score", str(red_video), "--prompt", PROMPT, "--model", str(tiny_model_dir), "--size", "112",
            "--questions", str(qfile)]
    run = CliRunner().invoke(app, [*base, "--image", str(images["red"])])
    assert run.exit_code == 0, run.output
    said = " ".join(run.stdout.split())  # the console wraps long lines at spaces
    assert f"{red_video} image {images['red']} overall" in said
    plain = CliRunner().invoke(app, base)  # text-to-video: no image named
    assert plain.exit_code == 0 and f"{red_video} overall" in " ".join(plain.stdout.split())
    assert " image " not in " ".join(plain.stdout.split()).split(" overall")[0]


def test_the_i2v_rubric_asks_about_the_image_and_scores_its_dimension(tiny_model_dir, red_video, images, tmp_path):
    from fingereval.ask import get_generator
    from fingereval.rubric import load_rubric

    rubric = load_rubric("i2v")
    assert rubric.keys[0] == "image_consistency" and set(load_rubric("finger").keys) < set(rubric.keys)
    asked = [q for q in get_generator("templates", rubric="i2v").generate(PROMPT).questions
             if q.dimension == "image_consistency"]
    assert len(asked) >= 4 and all("image" in q.text for q in asked)
    assert None in {q.entity for q in asked} and any(q.entity for q in asked)  # the whole video, and an entity
    run = CliRunner().invoke(app, ["score", str(red_video), "--prompt", PROMPT, "--model", str(tiny_model_dir),
                                   "--size", "112", "--rubric", "i2v", "--image", str(images["red"]), "--json"])
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)
    assert result["rubric"] == {"name": "i2v", "sha256": rubric.sha256} and result["image"]["path"] == str(images["red"])
    ic = [q["score"] for q in result["questions"] if q["dimension"] == "image_consistency"]
    assert len(ic) == len(asked) and result["dimensions"]["image_consistency"] == pytest.approx(sum(ic) / len(ic))
    no_image = CliRunner().invoke(app, ["score", str(red_video), "--prompt", PROMPT, "--model", str(tiny_model_dir),
                                        "--size", "112", "--rubric", "i2v", "--json"])
    assert no_image.exit_code != 0 and "asks about the image the video was generated from" in no_image.output
    assert "Traceback" not in no_image.output and "--image" in no_image.output
    # in a batch the item without its image fails alone, recorded; the one with it is scored
    folder = tmp_path
    lines = [{"id": "with", "video": str(red_video), "image": str(images["red"]), "prompt": PROMPT},
             {"id": "without", "video": str(red_video), "prompt": PROMPT}]
    (folder / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    batch = CliRunner().invoke(app, ["score", "--manifest", str(folder / "m.jsonl"), "--out", str(folder / "r.jsonl"),
                                     "--model", str(tiny_model_dir), "--size", "112", "--rubric", "i2v"])
    assert batch.exit_code == 1, batch.output
    got = {r["id"]: r for r in map(json.loads, (folder / "r.jsonl").read_text().splitlines())}
    assert got["with"].get("error") is None and got["with"]["dimensions"]["image_consistency"] is not None
    assert "asks about the image" in got["without"]["error"]["message"]


def test_a_prompts_file_image_column_names_files_in_the_folder(tmp_path):
    from fingereval.batch import read_manifest
    from fingereval.folders import write_folder_manifest

    folder = tmp_path / "gen"
    for name in ("a.mp4", "b.mp4"):
        write_video(folder / name, frames=4, size=56)
    picture(folder / "firsts" / "a.png", (220, 30, 30), size=56)
    (tmp_path / "prompts.csv").write_text("video,prompt,image,seed\na.mp4,a red square,firsts/a.png,1\nb.mp4,a square,,2\n")
    manifest = write_folder_manifest(folder, tmp_path / "out" / "r.jsonl", tmp_path / "prompts.csv", on_warning=print)
    items = {item.id: item for _, item in read_manifest(manifest)}
    assert items["a.mp4"].image == str((folder / "firsts" / "a.png").resolve()) and items["b.mp4"].image is None
    assert Path(items["a.mp4"].image).read_bytes() == (folder / "firsts" / "a.png").read_bytes()


def test_ray_workers_score_the_image_column_as_one_process_does(tiny_model_dir, red_video, images, tmp_path):
    from conftest import local_ray, time_limit

    from fingereval.batch import run_manifest
    from fingereval.config import ScoringConfig
    from fingereval.ray_batch import run_manifest_ray

    (tmp_path / "clip.mp4").write_bytes(red_video.read_bytes())
    same = {"video": "clip.mp4", "prompt": PROMPT, "questions": [q.model_dump(mode="json") for q in QUESTIONS]}
    lines = [{"id": "red", "image": str(images["red"]), **same}, {"id": "blue", "image": str(images["blue"]), **same},
             {"id": "none", **same}, {"id": "bomb", "image": str(images["bomb"]), **same}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    config = ScoringConfig(model=str(tiny_model_dir), size=VC.size, max_frames=VC.max_frames, decode_ahead=2)
    run_manifest(config.evaluator(), tmp_path / "m.jsonl", tmp_path / "local.jsonl", decode_ahead=0, progress=False,
                 on_event=lambda m: None)
    with local_ray(num_cpus=2), time_limit(300, "Ray workers scoring images"):  # each lane decodes images ahead
        s = run_manifest_ray(config, tmp_path / "m.jsonl", tmp_path / "ray.jsonl", workers=2, progress=False,
                             on_event=lambda m: None)
    assert (s.done, s.failed) == (3, 1)
    local, remote = ({r["id"]: r for r in map(json.loads, (tmp_path / f).read_text().splitlines())}
                     for f in ("local.jsonl", "ray.jsonl"))
    for key in ("red", "blue", "none"):
        assert remote[key]["image"] == local[key]["image"]
        assert [q["p_yes"] for q in remote[key]["questions"]] == \
            pytest.approx([q["p_yes"] for q in local[key]["questions"]], abs=1e-6)
    assert remote["red"]["image"]["sha256"] != remote["blue"]["image"]["sha256"]
    assert [q["p_yes"] for q in remote["red"]["questions"]] != pytest.approx(
        [q["p_yes"] for q in remote["blue"]["questions"]], rel=1e-3)
    assert "more pixels than 8K UHD" in remote["bomb"]["error"]["message"]


# ---- the service ---------------------------------------------------------------------------------------------

TOKEN = "i2v-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Q_JSON = [q.model_dump(mode="json") for q in QUESTIONS]


def post(base: str, **body) -> httpx.Response:
    return httpx.post(base + "/v1/score", json=body, headers=AUTH, timeout=120)


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_the_service_takes_image_and_image_path_and_refuses_bad_images(serve_evaluator, images, tmp_path):
    from fingereval.serve import ServeSettings, create_app

    allowed = tmp_path / "allowed"
    write_video(allowed / "red.mp4", frames=8, size=SERVE_SIZE)
    picture(allowed / "first.png", (220, 30, 30), size=SERVE_SIZE)
    picture(tmp_path / "outside.png", (220, 30, 30), size=SERVE_SIZE)
    (allowed / "big.png").write_bytes(png_header(100_000, 100_000))
    temp = tmp_path / "uploads"
    temp.mkdir()
    app = create_app(serve_evaluator, ServeSettings(token=TOKEN, allow_dir=allowed, temp_dir=temp))
    with served(app) as base:
        by_path = post(base, prompt=PROMPT, video_path="red.mp4", image_path="first.png", questions=Q_JSON)
        assert by_path.status_code == 200, by_path.text
        by_bytes = post(base, prompt=PROMPT, video=b64(allowed / "red.mp4"), image=b64(allowed / "first.png"),
                        image_name="first.png", questions=Q_JSON).json()
        plain = post(base, prompt=PROMPT, video_path="red.mp4", questions=Q_JSON).json()
        from fingereval.client import ScoreClient

        with ScoreClient(base, TOKEN) as client:  # the Python client sends the image as it sends the video
            by_client = client.score(allowed / "red.mp4", PROMPT, QUESTIONS, image=allowed / "first.png")
            by_client_path = client.score("red.mp4", PROMPT, QUESTIONS, image="first.png", as_path=True)
        want = serve_evaluator.score(allowed / "red.mp4", PROMPT, QuestionSet(prompt=PROMPT, questions=QUESTIONS),
                                     image=allowed / "first.png")
        sha = hashlib.sha256((allowed / "first.png").read_bytes()).hexdigest()
        for got in (by_path.json(), by_bytes, json.loads(by_client.to_json()), json.loads(by_client_path.to_json())):
            assert got["image"] == {"path": "first.png", "sha256": sha}
            assert [q["p_yes"] for q in got["questions"]] == pytest.approx([q.p_yes for q in want.questions], abs=1e-5)
        assert plain["image"] is None
        assert [q["p_yes"] for q in plain["questions"]] != pytest.approx([q.p_yes for q in want.questions], rel=1e-3)
        # bad images: 422 in the error shape, one line naming the image; a path outside the allow-dir is 403
        for body, words in [(dict(image=base64.b64encode(b"GIF89a" + b"\0" * 40).decode(), image_name="x.gif"),
                             "image: x.gif: not an image"),
                            (dict(image=base64.b64encode(png_header(100_000, 100_000)).decode()),
                             "image: upload.png: the image declares more pixels"),
                            (dict(image_path="big.png"), "image: big.png: the image declares more pixels"),
                            (dict(image="%%%"), "`image` is not valid base64"),
                            (dict(image_path="gone.png"), "image: gone.png: image file not found")]:
            error = assert_error(post(base, prompt=PROMPT, video_path="red.mp4", questions=Q_JSON, **body), 422,
                                 "ImageError" if "base64" not in words else "VideoError")
            assert words in error["message"] and "\n" not in error["message"] and str(temp) not in error["message"]
        for outside in ("../outside.png", str(tmp_path / "outside.png")):
            error = assert_error(post(base, prompt=PROMPT, video_path="red.mp4", image_path=outside), 403, "Forbidden")
            assert "image_path" in error["message"]
        both = post(base, prompt=PROMPT, video_path="red.mp4", image_path="first.png", image=b64(allowed / "first.png"))
        assert both.status_code == 422 and "image_path" in both.json()["error"]["message"]
        assert wait_idle(base)["status"] == "ok" and files_in(temp) == []  # every uploaded image removed
    # a service whose rubric needs the image answers a request without one 422, in one line naming the fields
    from fingereval.evaluator import Evaluator

    i2v = Evaluator(answerer=serve_evaluator.answerer, rubric="i2v", limits=serve_evaluator.limits)
    with served(create_app(i2v, ServeSettings(token=TOKEN, allow_dir=allowed, temp_dir=temp))) as base:
        error = assert_error(post(base, prompt=PROMPT, video_path="red.mp4"), 422, "DataError")
        assert "asks about the image" in error["message"] and "image_path" in error["message"]
        assert post(base, prompt=PROMPT, video_path="red.mp4", image_path="first.png").status_code == 200


# ---- the report --------------------------------------------------------------------------------------------------

def report_with_images(root: Path) -> Path:
    """Results of two videos scored from images (paths relative to the results file, as a manifest records them
    when it sits beside its videos) and one text-to-video result; no model: the report reads records."""
    from fingereval.schema import VideoResult

    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        write_video(root / "clips" / f"{name}.mp4", frames=8, size=56, colour=colour)
        picture(root / "first" / f"{name}.png", colour, size=64)
    results = [VideoResult(id=name, video=f"clips/{name}.mp4", prompt=PROMPT, overall=0.5, model="m",
                           image={"path": f"first/{name}.png",
                                  "sha256": hashlib.sha256((root / "first" / f"{name}.png").read_bytes()).hexdigest()})
               for name in ("red", "blue")]
    results.append(VideoResult(id="t2v", video="clips/red.mp4", prompt=PROMPT, overall=0.5, model="m"))
    out = root / "results.jsonl"
    out.write_text("".join(r.to_json() + "\n" for r in results))
    return out


def test_the_report_shows_each_image_checked_against_its_hash(tmp_path):
    import re

    from fingereval.report import write_report

    results = report_with_images(tmp_path)
    picture(tmp_path / "first" / "blue.png", (30, 200, 30), size=64)  # replaced since scoring: not shown
    warnings: list[str] = []
    write_report(results, tmp_path / "report.html", frames=2, on_warning=warnings.append)
    text = (tmp_path / "report.html").read_text()
    found = re.findall(r'<script type="application/json" id="detail-(\d+)">(.*?)</script>', text, re.S)
    details = {int(i): json.loads(body) for i, body in found}
    red, blue, plain = details[0]["image"], details[1]["image"], details[2]["image"]
    assert red["path"] == "first/red.png" and red["note"] is None
    shown = Image.open(io_bytes(red["src"]))
    assert shown.size == (160, 160) and shown.getpixel((20, 60))[0] > 150  # the red square, 160 px wide
    assert blue["src"] is None and "sha256 differs" in blue["note"] and plain is None
    assert len(warnings) == 1 and "first/blue.png" in warnings[0]


def io_bytes(data_uri: str):
    import io

    head, _, data = data_uri.partition(",")
    assert head == "data:image/jpeg;base64"
    return io.BytesIO(base64.b64decode(data))


def test_in_chromium_the_image_stands_before_the_frames(tmp_path, page):
    from fingereval.report import write_report

    results = report_with_images(tmp_path)
    write_report(results, tmp_path / "report.html", frames=2, on_warning=lambda m: None)
    page.goto((tmp_path / "report.html").as_uri())
    page.click("#videos tr.video[data-i='0']")
    page.wait_for_selector("tr.detail .strip img")
    page.wait_for_function("[...document.querySelectorAll('tr.detail img')].every(i => i.complete)")
    figures = page.eval_on_selector_all("tr.detail .strip figure", "fs => fs.map(f => [f.className, "
                                        "f.querySelector('figcaption').textContent, f.querySelector('img').naturalWidth])")
    assert figures[0] == ["conditioning", "image", 160] and len(figures) == 3
    assert all(cls == "" and caption != "image" for cls, caption, _ in figures[1:])
    page.click("#videos tr.video[data-i='2']")  # text-to-video: frames only
    page.wait_for_function("document.querySelectorAll('#videos tr.video[data-i=\"2\"] + tr.detail .strip figure')"
                           ".length === 2")
    assert page.locator("#videos tr.video[data-i='2'] + tr.detail figure.conditioning").count() == 0
