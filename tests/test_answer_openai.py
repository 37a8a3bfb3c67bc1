"""The 'openai' answerer against a real local HTTP server (tests/openai_server.py) speaking the chat API.

The model servers run a tiny Qwen2.5-VL for real (the video decoded from its data URL, the chat template with the
assistant message continued, the top-k log-probs of the next token), so p_yes through HTTP is compared with the
in-process backend on the same checkpoint: the rigged bigram models with a known exact p_yes (the merged `>No`
token included) and the random tiny model. The fixed server (no model) checks the protocol and the failures.
"""
from __future__ import annotations

import base64
import io
import json
import math

import pytest
from typer.testing import CliRunner

from fingereval.answer import get_answerer
from fingereval.answer.format import user_text
from fingereval.answer.inputs import chat_text
from fingereval.answer.openai_backend import OpenAIAnswerer, SlotReading, slot_p_yes
from fingereval.answer.transformers_backend import TransformersAnswerer
from fingereval.cli import app
from fingereval.config import ScoringConfig
from fingereval.errors import ConfigError, ModelOutputError
from fingereval.evaluator import Evaluator
from fingereval.schema import Question, QuestionSet
from fingereval.score.aggregate import video_result
from fingereval.video import VideoConfig, load_video
from openai_server import FIXED_P_YES, ChatServer, FixedReply, ModelReply
from rigged import rig
from test_answer_slot import chain, exact_p_yes

VC = VideoConfig(size=112)
QUESTIONS = [Question(id=f"q{i}", dimension="text_alignment", text=t, good_answer="yes")
             for i, t in enumerate(["Does a red square appear?", "Is the square moving?", "Is it sharp?"])]


def client(server: ChatServer, model: str = "served", **options) -> OpenAIAnswerer:
    """An answerer on `server` with short backoffs, so retries stay fast."""
    kw = dict(base_url=server.url, video_config=VC, retry_backoff=0.01, timeout=10, max_retries=2)
    return OpenAIAnswerer(model, **{**kw, **options})


# Each test here takes seconds (its module fixtures, the rigged models, a minute or two on a busy machine):
# a hang fails it instead of the suite (pytest-timeout; setup counts too).
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def fixed_server():
    with ChatServer(FixedReply()) as server:
        yield server


@pytest.fixture
def fixed(fixed_server):
    fixed_server.reset()
    fixed_server.reply = FixedReply()
    fixed_server.api_key = None
    yield fixed_server


@pytest.fixture(scope="module")
def clip(red_video):
    return load_video(red_video, VC)


@pytest.fixture(scope="module")
def rigs(tmp_path_factory):
    """(in-process answerer, server running the same checkpoint, exact p_yes) for `>` first and `>No` first."""
    out = {}
    with ChatServer(lambda body: None, served=("rig",)) as gt, ChatServer(lambda body: None, served=("rig",)) as merged:
        for name, server, bigrams in (("gt", gt, chain(0.60, 0.35)), ("merged", merged, chain(0.35, 0.60))):
            path = rig(bigrams, tmp_path_factory.mktemp("rig") / name)
            local = TransformersAnswerer(path, video_config=VC, max_new_tokens=6)
            server.reply = ModelReply(local, VC, model="rig")  # one model: the test and the server take turns
            out[name] = (local, server, exact_p_yes(bigrams, local.model.config.text_config.vocab_size))
        yield out


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    local = TransformersAnswerer(tiny_model_dir, video_config=VC)
    with ChatServer(ModelReply(local, VC, model="tiny"), served=("tiny",)) as server:
        yield local, server


# ---- exactness: through the server equals in-process -----------------------------------------------------


def test_direct_p_yes_through_the_server_equals_the_in_process_backend_on_the_rigged_models(rigs, clip):
    for name, (local, server, exact) in rigs.items():
        want = [a.p_yes for a in local.answer(clip, QUESTIONS)]
        got = client(server, "rig").answer(clip, QUESTIONS)
        assert [a.p_yes for a in got] == pytest.approx(want, abs=1e-4), name
        assert [a.p_yes for a in got] == pytest.approx([exact] * len(QUESTIONS), abs=1e-4), name
        assert not any(a.answer_unreadable for a in got)
        # the server rendered exactly the in-process prompt: the assistant text continued, not a new turn
        rendered = set(server.reply.prompts[-2 * len(QUESTIONS):])
        for q in QUESTIONS:
            assert chat_text(local.processor, user_text(q.text), "<answer") in rendered
            assert chat_text(local.processor, user_text(q.text), "<answer>") in rendered
    assert rigs["merged"][2] < 0.3 < 0.35 < rigs["gt"][2]  # the merged `>No` path matters: the rigs differ


def test_reason_mode_through_the_server_equals_the_in_process_backend_on_the_rigged_models(rigs, clip):
    for name, (local, server, exact) in rigs.items():
        want = local.answer(clip, QUESTIONS, reason=True)
        got = client(server, "rig").answer(clip, QUESTIONS, reason=True)
        assert [a.p_yes for a in got] == pytest.approx([a.p_yes for a in want], abs=1e-4), name
        assert [a.p_yes for a in got] == pytest.approx([exact] * len(QUESTIONS), abs=1e-4), name
        assert [(a.output, a.reason, a.forced) for a in got] == [(a.output, a.reason, a.forced) for a in want]
        gen = [b for b in server.bodies if not b.get("continue_final_message")]
        assert gen and all(b["stop"] == ["<answer"] and b["max_tokens"] == 128 for b in gen)


def test_tiny_model_equals_in_process_with_the_whole_vocabulary_and_is_unreadable_in_the_top_20(tiny, clip):
    """On a random model the yes/no tokens rank in the thousands: with every token's log-prob the server gives the
    in-process p_yes (relative 1e-4, p_yes being about 1e-5); with the top 20 neither word is there."""
    local, server = tiny
    qs = QUESTIONS[:2]
    want = [a.p_yes for a in local.answer(clip, qs)]
    vocab = len(local.tokenizer)
    got = client(server, "tiny", top_logprobs=vocab).answer(clip, qs)
    assert [a.p_yes for a in got] == pytest.approx(want, rel=1e-4)
    assert not any(a.answer_unreadable for a in got)
    top20 = client(server, "tiny").answer(clip, qs)
    assert all(a.answer_unreadable and a.p_yes == 0.5 for a in top20)


def test_the_slot_reading_counts_the_merged_tokens_and_normalises_like_in_process():
    lp = math.log
    # merged `>Yes` and `> no`-like tokens are read before the slot's last token; `" >"` is not the slot's token
    r = slot_p_yes([(">", lp(0.5)), (">Yes", lp(0.2)), (" >", lp(0.2))], [(" YES", lp(0.3)), ('"no.', lp(0.3))])
    assert r.p_yes == pytest.approx((0.5 * 0.3 + 0.2) / (0.5 * 0.3 + 0.2 + 0.5 * 0.3))
    assert slot_p_yes([(">", 0.0)], [("No", lp(0.9))]) == SlotReading(0.0, False)  # only a no token: p_yes 0, readable
    assert slot_p_yes([(">No", lp(0.9))], [("Yes", lp(0.9))]).p_yes == 0.0  # no `>`: the split path is 0
    assert slot_p_yes([("x", 0.0)], [("maybe", 0.0)]) == SlotReading(0.5, True)


def test_answer_unreadable_when_no_yes_or_no_token_is_in_the_top_20(fixed, clip):
    fixed.reply = FixedReply(before=[(">", -0.1), ("answer", -3.0)], at=[("Maybe", -0.2), ("\n", -2.0)])
    answers = client(fixed).answer(clip, QUESTIONS)
    assert all(a.answer_unreadable and a.p_yes == 0.5 for a in answers)
    result = video_result("v.mp4", "p", QUESTIONS, answers)
    assert all(q.answer_unreadable for q in result.questions)
    assert json.loads(result.to_json())["questions"][0]["answer_unreadable"] is True
    assert json.loads(result.to_json())["answers_unreadable"] == len(QUESTIONS)  # counted in the result
    fixed.reply = FixedReply()
    answers = client(fixed).answer(clip, QUESTIONS)
    result = video_result("v.mp4", "p", QUESTIONS, answers)
    assert not any(q.answer_unreadable for q in result.questions) and result.answers_unreadable == 0
    assert [q.p_yes for q in result.questions] == pytest.approx([FIXED_P_YES] * 3, abs=1e-12)


# ---- the requests ----------------------------------------------------------------------------------------


def test_requests_carry_the_video_once_then_its_uuid_and_concurrency_is_bounded(fixed, clip, red_video):
    fixed.reply = FixedReply(latency=0.05)
    qs = [Question(id=f"q{i}", dimension="text_alignment", text=f"Question {i}?", good_answer="yes") for i in range(6)]
    client(fixed, concurrency=3).answer(clip, qs)
    assert len(fixed.bodies) == 12 and fixed.max_in_flight == 3  # two requests per question, three at a time
    video_url = "data:video/mp4;base64," + base64.b64encode(red_video.read_bytes()).decode()
    first = fixed.bodies[0]["messages"][0]["content"][0]
    uuid = first["uuid"]
    assert first == {"type": "video_url", "video_url": {"url": video_url}, "uuid": uuid}  # sent alone, with the video
    assert isinstance(uuid, str) and 8 < len(uuid) < 200 and str(red_video) not in uuid
    prefixes = set()
    for raw, body in zip(fixed.raw_bodies[1:], fixed.bodies[1:]):
        user, assistant = body["messages"]
        assert user["content"][0] == {"type": "video_url", "video_url": None, "uuid": uuid}  # the uuid alone
        assert user["content"][1]["text"].startswith(user_text(""))
        assert assistant == {"role": "assistant", "content": assistant["content"]}
        assert assistant["content"] in ("<answer", "<answer>")
        assert (body["continue_final_message"], body["add_generation_prompt"]) == (True, False)
        assert (body["max_tokens"], body["logprobs"], body["top_logprobs"], body["temperature"]) == (1, True, 20, 0.0)
        prefixes.add(raw[: raw.index(b'"text"')])  # everything up to the instruction: byte for byte the same
    assert len(prefixes) == 1
    assert (fixed.media_decoded, fixed.cache_hits, fixed.cache_misses) == (1, 11, 0)
    assert len(fixed.raw_bodies[0]) > len(video_url) and all(len(r) < 2000 for r in fixed.raw_bodies[1:])


def test_frames_mode_sends_the_sampled_frames_as_jpeg_images_once(fixed, clip):
    from PIL import Image

    answers = client(fixed, video_as="frames").answer(clip, QUESTIONS[:1])
    assert answers[0].p_yes == pytest.approx(FIXED_P_YES)
    parts = fixed.bodies[0]["messages"][0]["content"]
    images, text = parts[:-1], parts[-1]
    assert len(images) == clip.num_frames and text["type"] == "text"
    for p in images:
        head, _, data = p["image_url"]["url"].partition(",")
        assert p["type"] == "image_url" and head == "data:image/jpeg;base64"
        assert Image.open(io.BytesIO(base64.b64decode(data))).size == (112, 112)
    uuids = [p["uuid"] for p in images]
    assert len(set(uuids)) == len(uuids)  # the frames differ (the square moves), so do their uuids
    assert fixed.bodies[1]["messages"][0]["content"][:-1] == [{"type": "image_url", "image_url": None, "uuid": u}
                                                               for u in uuids]
    assert fixed.media_decoded == clip.num_frames and fixed.cache_hits == clip.num_frames
    with pytest.raises(ConfigError, match="video_as"):
        client(fixed, video_as="gif")


# ---- each video over the wire once -------------------------------------------------------------------------


def media_forms(server: ChatServer) -> list[str]:
    """How each request received carried its video: "with_uuid", "uuid_only" or "plain"."""
    forms = []
    for body in server.bodies:
        part = body["messages"][0]["content"][0]
        forms.append("plain" if "uuid" not in part else "uuid_only" if part[part["type"]] is None else "with_uuid")
    return forms


def test_p_yes_is_the_same_whether_the_server_keeps_videos_by_uuid_refuses_uuids_or_gets_them_every_time(
        rigs, tiny, clip, blue_static_video):
    """The same p_yes to 1e-6 through a server that keeps media by uuid, one that refuses uuid-only parts, and with
    the media in every request (media_uuids=False): on the rigged model (exact p_yes known), and on the tiny model
    with every token's log-prob for two different videos, each equal to in-process. Were two videos to share a
    uuid, the second would be answered on the first one's cached frames and differ from in-process."""
    local, keeping, exact = rigs["merged"]
    with ChatServer(ModelReply(local, VC, model="rig"), served=("rig",), uuids="refuse") as refusing:
        rig = {name: [a.p_yes for a in client(server, "rig", **options).answer(clip, QUESTIONS)]
               for name, server, options in (("kept", keeping, {}), ("refused", refusing, {}),
                                             ("every time", keeping, {"media_uuids": False}))}
        assert refusing.uuid_refused == 1
    for name in ("refused", "every time"):
        assert rig[name] == pytest.approx(rig["kept"], abs=1e-6), name
    assert rig["kept"] == pytest.approx([exact] * len(QUESTIONS), abs=1e-4)

    local, keeping = tiny
    blue = load_video(blue_static_video, VC)
    qs = QUESTIONS[:1]  # every token's log-prob is a 150k-entry reply: one question, two requests per video
    want = {name: [a.p_yes for a in local.answer(c, qs)] for name, c in (("red", clip), ("blue", blue))}
    assert want["red"] != pytest.approx(want["blue"], rel=1e-3)  # the videos matter to this model
    runs = {}
    for name, options in (("kept", {}), ("every time", {"media_uuids": False})):
        keeping.reset()
        answerer = client(keeping, "tiny", top_logprobs=len(local.tokenizer), timeout=120, **options)
        runs[name] = {v: [a.p_yes for a in answerer.answer(c, qs)] for v, c in (("red", clip), ("blue", blue))}
        runs[name]["forms"] = media_forms(keeping)
    assert runs["kept"]["forms"] == ["with_uuid", "uuid_only"] * 2 and runs["every time"]["forms"] == ["plain"] * 4
    for video in ("red", "blue"):
        assert runs["kept"][video] == pytest.approx(want[video], rel=1e-4)
        assert runs["every time"][video] == pytest.approx(runs["kept"][video], rel=1e-6, abs=1e-6), video


def test_reason_mode_reads_the_same_through_a_server_that_refuses_uuids(rigs, clip):
    local, keeping, exact = rigs["merged"]
    with ChatServer(ModelReply(local, VC, model="rig"), served=("rig",), uuids="refuse") as refusing:
        got = {name: client(server, "rig").answer(clip, QUESTIONS, reason=True)
               for name, server in (("kept", keeping), ("refused", refusing))}
        assert refusing.uuid_refused == 1
    assert [(a.p_yes, a.output, a.forced) for a in got["kept"]] == \
        [(pytest.approx(b.p_yes, abs=1e-6), b.output, b.forced) for b in got["refused"]]
    assert [a.p_yes for a in got["kept"]] == pytest.approx([exact] * len(QUESTIONS), abs=1e-4)


def test_each_video_goes_over_the_wire_once_to_a_server_that_keeps_media_by_uuid(fixed, tmp_path):
    from conftest import write_video

    clips = [load_video(write_video(tmp_path / f"v{i}.mp4", colour=(200, 40 * i, 30)), VC) for i in range(2)]
    qs = [Question(id=f"q{i}", dimension="text_alignment", text=f"Question {i}?", good_answer="yes") for i in range(6)]
    sizes = [len(base64.b64encode(open(c.path, "rb").read())) for c in clips]
    every_time = client(fixed, concurrency=4, media_uuids=False)
    for c in clips:
        assert [a.p_yes for a in every_time.answer(c, qs)] == pytest.approx([FIXED_P_YES] * 6, abs=1e-12)
    before = (fixed.bytes_received, fixed.media_decoded, len(fixed.bodies))
    assert media_forms(fixed) == ["plain"] * 24 and before[1:] == (24, 24)
    fixed.reset()
    once = client(fixed, concurrency=4)
    for c in clips:
        assert [a.p_yes for a in once.answer(c, qs)] == pytest.approx([FIXED_P_YES] * 6, abs=1e-12)
    after = (fixed.bytes_received, fixed.media_decoded, len(fixed.bodies))
    forms = media_forms(fixed)
    assert forms == ["with_uuid"] + ["uuid_only"] * 11 + ["with_uuid"] + ["uuid_only"] * 11
    assert after[1:] == (2, 24) and (fixed.cache_hits, fixed.cache_misses) == (22, 0)
    assert once.media_once.support == "yes" and once.media_once.refusals == once.media_once.misses == 0
    assert before[0] > 12 * sum(sizes) and after[0] < sum(sizes) + 24 * 2000  # each video once, not 12 times


def test_a_server_that_refuses_uuid_only_parts_is_detected_once_and_then_gets_the_media(tmp_path, clip):
    from conftest import write_video
    from fingereval.batch import run_manifest

    with ChatServer(FixedReply(latency=0.02), uuids="refuse") as refusing:
        answerer = client(refusing, concurrency=8)
        answers = answerer.answer(clip, QUESTIONS + QUESTIONS[:1])  # 8 requests: the first alone, then 7 at once
        assert [a.p_yes for a in answers] == pytest.approx([FIXED_P_YES] * 4, abs=1e-12)
        # one probe while the other six wait: refused once, re-sent with the video; the rest carry it, no uuid
        assert media_forms(refusing) == ["with_uuid", "uuid_only"] + ["plain"] * 7
        assert refusing.uuid_refused == 1 and answerer.media_once.support == "no"
        answerer.answer(clip, QUESTIONS)
        assert media_forms(refusing)[9:] == ["plain"] * 6 and refusing.uuid_refused == 1  # remembered
        assert answerer.media_once.refusals == 1

        # several videos at once, from threads, on a fresh answerer: still detected once
        refusing.reset()
        rows = []
        for i in range(4):
            write_video(tmp_path / f"v{i}.mp4", frames=8, size=56, colour=(200, 40 * i, 30))
            rows.append({"id": f"v{i}", "video": f"v{i}.mp4", "prompt": "a red square",
                         "questions": [q.model_dump() for q in QUESTIONS]})
        (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        ev = Evaluator(answerer=client(refusing, concurrency=8))
        summary = run_manifest(ev, tmp_path / "m.jsonl", tmp_path / "r.jsonl", videos_at_once=4, progress=False,
                               on_event=lambda m: None)
        assert summary.done == 4 and summary.failed == 0
        results = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
        assert all(q["p_yes"] == pytest.approx(FIXED_P_YES) for r in results for q in r["questions"])
        forms = media_forms(refusing)
        assert refusing.uuid_refused == 1 and forms.count("uuid_only") == 1 and len(forms) == 4 * 6 + 1
        assert 1 <= forms.count("with_uuid") <= 4  # first requests sent before the refusal came back


def test_a_server_that_rejects_the_uuid_key_itself_gets_the_media_without_one(fixed, clip):
    fixed.faults.append(("status", 400, "messages.0.content.0.uuid: Extra inputs are not permitted"))
    answerer = client(fixed)
    assert [a.p_yes for a in answerer.answer(clip, QUESTIONS)] == pytest.approx([FIXED_P_YES] * 3, abs=1e-12)
    assert media_forms(fixed) == ["with_uuid"] + ["plain"] * 6
    assert answerer.media_once.support == "no" and answerer.media_once.refusals == 1


def test_a_probe_refused_for_another_reason_fails_with_the_servers_message_and_decides_nothing(fixed, clip):
    fixed.faults.extend([None, ("status", 400, "This model's maximum context length is 32768 tokens."),
                         ("status", 400, "This model's maximum context length is 32768 tokens.")])
    answerer = client(fixed)
    with pytest.raises(ModelOutputError, match="maximum context length"):
        answerer.answer(clip, QUESTIONS[:1])
    assert media_forms(fixed) == ["with_uuid", "uuid_only", "plain"]  # the plain re-send was refused too
    assert answerer.media_once.support == "unknown" and answerer.media_once.refusals == 0
    fixed.reset()
    assert answerer.answer(clip, QUESTIONS[:1])[0].p_yes == pytest.approx(FIXED_P_YES)  # the server was reset
    assert answerer.media_once.support == "yes"


def test_an_evicted_video_is_sent_again_for_that_request_only(tmp_path):
    from conftest import write_video

    a, b = (load_video(write_video(tmp_path / f"{n}.mp4", colour=c), VC) for n, c in (("a", (220, 30, 30)),
                                                                                     ("b", (30, 220, 30))))
    with ChatServer(FixedReply(), uuids="honour", media_cache=1) as server:  # room for one video
        answerer = client(server, concurrency=4)
        for c in (a, b, a):  # b evicts a; the answerer still believes the server holds a
            assert [x.p_yes for x in answerer.answer(c, QUESTIONS)] == pytest.approx([FIXED_P_YES] * 3, abs=1e-12)
        forms = media_forms(server)
        assert forms == (["with_uuid"] + ["uuid_only"] * 5) * 2 + ["uuid_only", "with_uuid"] + ["uuid_only"] * 5
        assert server.cache_misses == 1 and server.media_decoded == 3
        assert answerer.media_once.misses == 1 and answerer.media_once.support == "yes"
        assert answerer.media_once.refusals == 0


def test_the_uuid_is_the_content_not_the_path_or_the_name(tmp_path, red_video, blue_static_video):
    import shutil

    from fingereval.answer.openai_media import media_uuid

    copy = tmp_path / "elsewhere" / "renamed.mp4"
    copy.parent.mkdir()
    shutil.copy(red_video, copy)
    same_name = tmp_path / "red.mp4"
    shutil.copy(blue_static_video, same_name)  # another video under the first one's file name
    with ChatServer(FixedReply()) as server:
        answerer = client(server)
        uuids = {p: answerer._media(load_video(p, VC)).uuids for p in (red_video, copy, blue_static_video, same_name)}
        frames = client(server, video_as="frames")._media(load_video(red_video, VC)).uuids
    assert uuids[red_video] == uuids[copy] and uuids[blue_static_video] == uuids[same_name]
    assert uuids[red_video] != uuids[blue_static_video]
    assert not set(frames) & set(uuids[red_video])  # the file and its frames are different media
    data = red_video.read_bytes()
    one_byte = "data:video/mp4;base64," + base64.b64encode(data[:-1] + bytes([data[-1] ^ 1])).decode()
    assert media_uuid(one_byte) != uuids[red_video][0]
    assert media_uuid(one_byte.replace("video/mp4", "video/webm", 1)) != media_uuid(one_byte)


# ---- failures --------------------------------------------------------------------------------------------


def test_503_and_429_then_success_are_retried(fixed, clip):
    fixed.faults.extend([("status", 503), ("status", 429, "rate limited")])
    answers = client(fixed).answer(clip, QUESTIONS[:1])
    assert answers[0].p_yes == pytest.approx(FIXED_P_YES)
    assert len(fixed.bodies) == 4  # 2 refused + the 2 requests of the question
    fixed.reset()
    fixed.faults.extend([("status", 502)] * 3)
    with pytest.raises(ConfigError, match=r"answered HTTP 502.*2 tries") as e:
        client(fixed, max_retries=1).answer(clip, QUESTIONS[:1])
    assert "\n" not in str(e.value)


def test_another_4xx_fails_at_once_with_the_servers_message(fixed, clip):
    fixed.faults.append(("status", 400, "This model's maximum context length is 32768 tokens."))
    with pytest.raises(ModelOutputError, match=r"HTTP 400\): This model's maximum context length is 32768 tokens"):
        client(fixed).answer(clip, QUESTIONS)
    assert len(fixed.bodies) == 1  # not retried; the first request goes alone, so nothing else was sent


def test_a_reply_without_logprobs_is_a_clear_error(fixed, clip):
    """An error, not an unreadable answer: a server that sends no logprobs is misconfigured for every question."""
    fixed.faults.append(("no_logprobs",))
    with pytest.raises(ModelOutputError, match="sent no logprobs.*--max-logprobs"):
        client(fixed).answer(clip, QUESTIONS)


def test_a_timeout_is_retried_then_a_clear_error(fixed, clip):
    fixed.faults.append(("sleep", 1.0))
    answers = client(fixed, timeout=0.3).answer(clip, QUESTIONS[:1])
    assert answers[0].p_yes == pytest.approx(FIXED_P_YES) and len(fixed.bodies) == 3  # two tries timed out
    fixed.reset()
    fixed.faults.extend([("sleep", 1.0)] * 2)
    with pytest.raises(ConfigError, match=r"did not answer within 0.3 s, 2 tries") as e:
        client(fixed, timeout=0.3, max_retries=1).answer(clip, QUESTIONS[:1])
    assert "\n" not in str(e.value)


def test_a_dropped_connection_is_retried_then_a_clear_error(fixed, clip):
    fixed.faults.append(("drop",))
    assert client(fixed).answer(clip, QUESTIONS[:1])[0].p_yes == pytest.approx(FIXED_P_YES)
    assert len(fixed.bodies) == 3
    fixed.reset()
    fixed.faults.extend([("drop",)] * 2)
    with pytest.raises(ConfigError, match="dropped the connection"):
        client(fixed, max_retries=1).answer(clip, QUESTIONS[:1])


def test_a_wrong_key_is_one_line_before_any_work(fixed, clip, red_video, tmp_path, monkeypatch):
    fixed.api_key = "secret"
    with pytest.raises(ConfigError, match="refused the API key \\(HTTP 401\\)") as e:
        client(fixed, api_key="wrong")
    assert "\n" not in str(e.value) and fixed.bodies == [] and fixed.model_list_calls == 1
    assert client(fixed, api_key="secret").answer(clip, QUESTIONS[:1])[0].p_yes == pytest.approx(FIXED_P_YES)
    monkeypatch.setenv("FINGEREVAL_ANSWER_API_KEY", "secret")
    assert client(fixed).answer(clip, QUESTIONS[:1])[0].p_yes == pytest.approx(FIXED_P_YES)
    # a batch stops with one line and a non-zero exit before any item is scored
    manifest = tmp_path / "m.jsonl"
    q = [x.model_dump() for x in QUESTIONS]
    manifest.write_text(json.dumps({"id": "a", "video": str(red_video), "prompt": "p", "questions": q}) + "\n")
    fixed.reset()
    r = CliRunner().invoke(app, ["score", "--manifest", str(manifest), "--out", str(tmp_path / "r.jsonl"),
                                 "--answerer", "openai", "--model", "served", "--base-url", fixed.url,
                                 "--api-key", "wrong", "--size", "112"])
    assert r.exit_code == 2, r.output
    assert "refused the API key" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "r.jsonl").exists() or (tmp_path / "r.jsonl").read_text() == ""
    assert fixed.bodies == []


def test_an_unreachable_server_a_wrong_url_or_model_are_one_line_config_errors(fixed):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(ConfigError, match="cannot reach the answer server") as e:
        OpenAIAnswerer("served", base_url=f"http://127.0.0.1:{port}/v1", retry_backoff=0.01)
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="serves served, not 'other'"):
        client(fixed, "other")
    with pytest.raises(ConfigError, match="HTTP 404.*end in /v1"):
        OpenAIAnswerer("served", base_url=fixed.url[: -len("/v1")], retry_backoff=0.01)
    with pytest.raises(ConfigError, match="needs the server's URL"):
        OpenAIAnswerer("served")


# ---- every path: CLI single and batch, Python API, ScoringConfig, Ray -------------------------------------


def test_cli_single_and_batch_and_python_api_read_the_exact_p_yes(rigs, red_video, tmp_path):
    _, server, exact = rigs["merged"]
    qfile = tmp_path / "q.json"
    qs = QuestionSet(prompt="a red square", questions=QUESTIONS)
    qfile.write_text(qs.model_dump_json())
    common = ["--answerer", "openai", "--model", "rig", "--base-url", server.url, "--concurrency", "4", "--size", "112"]
    r = CliRunner().invoke(app, ["score", str(red_video), "--questions", str(qfile), "--json", *common])
    assert r.exit_code == 0, r.output
    assert [q["p_yes"] for q in json.loads(r.stdout)["questions"]] == pytest.approx([exact] * 3, abs=1e-4)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": f"v{i}", "video": str(red_video), "prompt": "a red square",
                                            "questions": [q.model_dump() for q in QUESTIONS]}) + "\n" for i in range(2)))
    r = CliRunner().invoke(app, ["score", "--manifest", str(manifest), "--out", str(tmp_path / "r.jsonl"), *common])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [q["p_yes"] for row in rows for q in row["questions"]] == pytest.approx([exact] * 6, abs=1e-4)
    ev = Evaluator(answerer="openai", model="rig", base_url=server.url, video_config=VC, concurrency=2)
    assert [q.p_yes for q in ev.score(red_video, questions=qs).questions] == pytest.approx([exact] * 3, abs=1e-4)
    config = ScoringConfig(answerer="openai", model="rig", size=112, answerer_options={"base_url": server.url})
    assert [q.p_yes for q in config.evaluator().score(red_video, questions=qs).questions] == pytest.approx([exact] * 3, abs=1e-4)
    assert get_answerer("openai", model="rig", base_url=server.url).concurrency == 8


def test_ray_workers_answer_through_the_server(fixed, red_video, tmp_path):
    from conftest import local_ray

    from fingereval.ray_batch import run_manifest_ray

    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": f"v{i}", "video": str(red_video), "prompt": "a red square",
                                            "questions": [q.model_dump() for q in QUESTIONS]}) + "\n" for i in range(2)))
    config = ScoringConfig(answerer="openai", model="served", size=112, answerer_options={"base_url": fixed.url})
    with local_ray():
        summary = run_manifest_ray(config, manifest, tmp_path / "r.jsonl", workers=1, gpus_per_worker=0.0,
                                   on_event=lambda m: None)
    assert summary.ok and summary.done == 2
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [q["p_yes"] for row in rows for q in row["questions"]] == pytest.approx([FIXED_P_YES] * 6)
    assert len(fixed.bodies) == 12


def test_the_key_in_the_environment_does_not_reach_other_answerers(red_video, tmp_path, monkeypatch):
    monkeypatch.setenv("FINGEREVAL_ANSWER_API_KEY", "secret")
    r = CliRunner().invoke(app, ["score", str(red_video), "-p", "a red square", "--model", str(tmp_path / "none")])
    assert r.exit_code == 2 and "no such directory" in r.output and "api_key" not in r.output, r.output


def test_a_batch_scores_several_videos_at_once_within_one_request_bound(fixed, tmp_path):
    """--videos-at-once: videos from threads, the answerer's --concurrency bounding all their requests together."""
    from conftest import write_video
    from fingereval.batch import run_manifest

    fixed.reply = FixedReply(latency=0.05)
    rows = []
    for i in range(4):
        write_video(tmp_path / f"v{i}.mp4", frames=8, size=56)
        rows.append({"id": f"v{i}", "video": f"v{i}.mp4", "prompt": "a red square",
                     "questions": [q.model_dump() for q in QUESTIONS]})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ev = Evaluator(answerer=client(fixed, concurrency=8))
    summary = run_manifest(ev, manifest, tmp_path / "r.jsonl", videos_at_once=4, progress=False, on_event=lambda m: None)
    assert summary.done == 4 and summary.failed == 0
    results = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in results) == ["v0", "v1", "v2", "v3"]
    assert all(q["p_yes"] == pytest.approx(FIXED_P_YES) for r in results for q in r["questions"])
    assert fixed.max_in_flight == 8  # one video alone has at most 5 in flight (6 requests, the first sent alone)
