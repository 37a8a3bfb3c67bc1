"""The `llm` question generator against a real local HTTP server speaking the OpenAI chat API."""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
from openai_server import LoopbackHTTPServer

from fingereval.ask import get_generator
from fingereval.ask.prompts import EXAMPLE_PROMPT
from fingereval.errors import ConfigError, ModelOutputError

PROMPT = "A red fox jumps over a wooden fence in the snow"

ENTITIES_REPLY = """```json
{"entities": [{"name": "red fox", "description": "the animal"}, {"name": "wooden fence"}, "snow"]}
```"""

QUESTIONS = [
    {"dimension": "visual_quality", "entity": "red fox", "question": "Is the red fox sharp and clear?",
     "good_answer": "yes"},
    {"dimension": "visual quality", "entity": "red fox", "question": "Are the fox's legs deformed?",
     "good_answer": "No."},
    {"dimension": "temporal_consistency", "entity": "wooden fence",
     "question": "Does the fence flicker or change shape?", "good_answer": "no"},
    {"dimension": "dynamic_degree", "entity": None, "question": "Is the video nearly static?", "good_answer": "no"},
    {"dimension": "text_alignment", "entity": "red fox", "question": "Is the red fox jumping over the fence?",
     "good_answer": "Yes"},
    {"dimension": "factual_consistency", "entity": "snow",
     "question": "Does the fox leave no marks in fresh snow?", "good_answer": "no"},
]
QUESTIONS_REPLY = json.dumps({"questions": QUESTIONS})


@dataclass
class FakeServer:
    """Answers each chat request with the next scripted reply and records the request bodies.

    A reply is the assistant's text, or ("status", code) for an HTTP error, or ("sleep", seconds).
    """

    url: str
    replies: list = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)


@pytest.fixture
def server():
    state = FakeServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the stdlib's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "body": body})
            reply = state.replies.pop(0) if state.replies else "no more scripted replies"
            if isinstance(reply, tuple) and reply[0] == "sleep":
                time.sleep(reply[1])
                reply = "too late"
            if isinstance(reply, tuple) and reply[0] == "status":
                self._send(reply[1], {"error": {"message": f"scripted error {reply[1]}", "type": "invalid_request"}})
                return
            self._send(200, {
                "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": reply}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep pytest output clean
            pass

    httpd = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_llm_env(monkeypatch):
    for name in ("FINGEREVAL_LLM_BASE_URL", "FINGEREVAL_LLM_MODEL", "FINGEREVAL_LLM_API_KEY",
                 "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def _generator(server: FakeServer, **options):
    return get_generator("llm", base_url=server.url, model="test-model", timeout=5, **options)


def _messages_text(request: dict) -> str:
    return "\n".join(m["content"] for m in request["body"]["messages"])


def test_good_run_extracts_entities_then_writes_questions(server):
    server.replies = [ENTITIES_REPLY, QUESTIONS_REPLY]
    qs = _generator(server).generate(PROMPT)

    assert len(server.requests) == 2
    first, second = server.requests
    assert first["path"] == "/v1/chat/completions"
    assert first["body"]["model"] == "test-model" and first["body"]["temperature"] == 0
    assert PROMPT in _messages_text(first) and EXAMPLE_PROMPT in _messages_text(first)
    assert "entities" in _messages_text(first)
    # Step 2 carries the prompt, the entities found, the dimensions and the in-context examples.
    text = _messages_text(second)
    assert PROMPT in text and '"red fox"' in text and '"wooden fence"' in text
    assert "Is the overall dynamic range of the video relatively small?" in text
    assert all(key in text for key in ("visual_quality", "temporal_consistency", "dynamic_degree",
                                       "text_alignment", "factual_consistency"))

    assert qs.prompt == PROMPT and qs.generator == "llm:test-model"
    assert [e.name for e in qs.entities] == ["red fox", "wooden fence", "snow"]
    assert [q.id for q in qs.questions] == [
        "visual_quality-1", "visual_quality-2", "temporal_consistency-1", "dynamic_degree-1",
        "text_alignment-1", "factual_consistency-1"]
    assert [q.good_answer for q in qs.questions] == ["yes", "no", "no", "no", "yes", "no"]
    assert qs.questions[1].dimension == "visual_quality"
    assert qs.questions[3].entity is None


def test_invalid_json_is_retried_once_with_the_error(server):
    server.replies = ["Sure! The entities are a fox and a fence.", ENTITIES_REPLY, QUESTIONS_REPLY]
    qs = _generator(server).generate(PROMPT)
    assert len(server.requests) == 3
    retry = server.requests[1]["body"]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "Sure! The entities are a fox and a fence."}
    assert retry[-1]["role"] == "user" and "not valid JSON" in retry[-1]["content"]
    assert retry[:-2] == server.requests[0]["body"]["messages"]
    assert len(qs.questions) == len(QUESTIONS)


def test_a_missing_dimension_is_sent_back_to_the_model(server):
    partial = json.dumps({"questions": [q for q in QUESTIONS if q["dimension"] != "dynamic_degree"]})
    server.replies = [ENTITIES_REPLY, partial, QUESTIONS_REPLY]
    qs = _generator(server).generate(PROMPT)
    assert "no questions for dimension(s) dynamic_degree" in server.requests[2]["body"]["messages"][-1]["content"]
    assert qs.by_dimension()["dynamic_degree"]


def test_two_invalid_replies_raise_model_output_error(server):
    server.replies = [ENTITIES_REPLY, '{"questions": [{"dimension": "sharpness"}]}', "still not json"]
    with pytest.raises(ModelOutputError) as info:
        _generator(server).generate(PROMPT)
    message = str(info.value)
    assert PROMPT[:40] in message and "questions" in message and "twice" in message
    assert "sharpness" in message and "not valid JSON" in message
    assert len(server.requests) == 3


def test_options_default_to_the_environment(server, monkeypatch):
    monkeypatch.setenv("FINGEREVAL_LLM_BASE_URL", server.url)
    monkeypatch.setenv("FINGEREVAL_LLM_MODEL", "env-model")
    server.replies = [ENTITIES_REPLY, QUESTIONS_REPLY]
    assert get_generator("llm").generate(PROMPT).generator == "llm:env-model"
    assert server.requests[0]["body"]["model"] == "env-model"


def test_openai_base_url_is_a_fallback(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    server.replies = [ENTITIES_REPLY, QUESTIONS_REPLY]
    assert len(get_generator("llm", model="m").generate(PROMPT).questions) == len(QUESTIONS)


def test_no_endpoint_configured_is_a_config_error():
    with pytest.raises(ConfigError, match="FINGEREVAL_LLM_BASE_URL"):
        get_generator("llm", model="m")
    with pytest.raises(ConfigError, match="FINGEREVAL_LLM_MODEL"):
        get_generator("llm", base_url="http://127.0.0.1:1/v1")


def test_unreachable_endpoint_is_a_config_error_naming_the_url():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    generator = get_generator("llm", base_url=url, model="m", timeout=2)
    with pytest.raises(ConfigError, match=f"cannot reach LLM endpoint {url}"):
        generator.generate(PROMPT)


def test_slow_endpoint_times_out_with_a_config_error(server):
    server.replies = [("sleep", 2.0)]
    generator = get_generator("llm", base_url=server.url, model="m", timeout=0.3)
    with pytest.raises(ConfigError, match="did not answer within 0.3 s"):
        generator.generate(PROMPT)
    assert len(server.requests) == 1  # max_retries=0: no silent second try


def test_unknown_model_is_a_config_error(server):
    server.replies = [("status", 404)]
    with pytest.raises(ConfigError, match="has no model 'test-model'"):
        _generator(server).generate(PROMPT)


# ---------------------------------------------------------------- reply parsing, without a server


@pytest.mark.parametrize("reply", [
    '{"entities": ["fox"]}',
    '```json\n{"entities": ["fox"]}\n```',
    '<think>The prompt names a fox.</think>\n{"entities": [{"name": "fox"}]}',
    'Here is the JSON you asked for: {"entities": ["fox"]} Hope it helps!',
    '["fox"]',
])
def test_replies_in_common_wrappings_parse(reply):
    from fingereval.ask.replies import EntitiesReply, parse_reply

    assert [e.name for e in parse_reply(reply, EntitiesReply).entities] == ["fox"]


@pytest.mark.parametrize("reply, error", [
    ("", "empty"),
    ("no json here", "not valid JSON"),
    ('{"entities": []}', "entities: List should have at least 1 item"),
    ('{"entities": [""]}', "empty name"),
])
def test_unusable_entity_replies_say_what_is_wrong(reply, error):
    from fingereval.ask.replies import EntitiesReply, ReplyError, parse_reply

    with pytest.raises(ReplyError, match=error):
        parse_reply(reply, EntitiesReply)


def test_question_reply_errors_name_the_field():
    from fingereval.ask.replies import QuestionsReply, ReplyError, parse_reply

    bad = dict(QUESTIONS[0], good_answer="maybe")
    with pytest.raises(ReplyError, match=r"questions\.0\.good_answer: expected yes or no, got 'maybe'"):
        parse_reply(json.dumps({"questions": [bad, *QUESTIONS[1:]]}), QuestionsReply)


# ---------------------------------------------------------------- the paper's path on the labelled prompts


def test_llm_generator_on_labelled_prompts_through_the_local_chat_server():
    """The `llm` generator (the paper's path) on the labelled report prompts, through the OpenAI-compatible test
    server answering with the hand labels: step 1 carries the prompt verbatim (quotes, dashes, non-ASCII), step 2
    the prompt, step 1's entities and all five dimensions; the questions come back in order."""
    from pathlib import Path

    from fingereval.dimensions import DIMENSION_KEYS
    from openai_server import ChatServer, completion

    labels = Path(__file__).resolve().parents[1] / "benchmarks" / "questions" / "entities_labelled.jsonl"
    # the 60 prompts the templates generator is measured on (benchmarks/bench_questions.py)
    rows = [r for r in map(json.loads, labels.read_text().splitlines()) if r["split"] == "report"]
    assert len(rows) == 60

    def reply(body: dict) -> dict:
        user = body["messages"][-1]["content"]
        prompt = user.rsplit("Prompt: ", 1)[1].split("\n", 1)[0]
        row = next(r for r in rows if r["prompt"] == prompt)
        heads = [e["head"] for e in row["entities"]]
        if user.startswith("Step 1 of 2"):
            return completion("q-model", json.dumps({"entities": heads}), "stop")
        questions = [{"dimension": key, "entity": heads[0], "question": f"{key}: is the {heads[0]} right?",
                      "good_answer": "yes"} for key in DIMENSION_KEYS]
        return completion("q-model", json.dumps({"questions": questions}), "stop")

    with ChatServer(reply, served=("q-model",)) as server:
        generator = get_generator("llm", base_url=server.url, model="q-model", timeout=10)
        for row in rows:
            server.reset()
            qs = generator.generate(row["prompt"])
            step1, step2 = server.bodies
            assert row["prompt"] in step1["messages"][-1]["content"]
            text = step2["messages"][-1]["content"]
            assert row["prompt"] in text
            assert all(key in text for key in DIMENSION_KEYS)
            assert all(f'"{e["head"]}"' in text for e in row["entities"])  # the entities of step 1
            assert [e.name for e in qs.entities] == [e["head"] for e in row["entities"]]
            assert [q.dimension for q in qs.questions] == list(DIMENSION_KEYS)
            assert qs.generator == "llm:q-model" and qs.questions[0].text.startswith("visual_quality: is the")
