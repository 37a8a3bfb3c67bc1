"""Prompts in other languages (issue 30 item 3): the templates generator refuses, in one line naming
`--generator llm`, a prompt it cannot parse; the llm generator reads a Chinese, Spanish or Japanese prompt
and writes the questions in English, or in the language of `--language`, through a real local server
speaking the OpenAI chat API; the same through the CLI and the scoring service."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import write_video
from openai_server import ChatServer, completion
from serving import served

from fingereval.ask import get_generator
from fingereval.ask.language import unreadable_reason
from fingereval.cli import app as cli_app
from fingereval.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

CHINESE = "一只橘猫在钢琴上弹奏,镜头缓慢推进"
SPANISH = "Un perro corre por la playa al atardecer mientras las olas rompen"
JAPANESE = "桜の木の下で黒い猫が眠っている"
OTHERS = {"zh": CHINESE, "es": SPANISH, "ja": JAPANESE, "de": "Ein Hund läuft über die Wiese",
          "ru": "Собака бежит по пляжу", "fr": "Un chat noir dort sur le canapé"}


@pytest.mark.parametrize("language", sorted(OTHERS))
def test_templates_refuse_a_prompt_they_cannot_parse_in_one_line_naming_the_llm_generator(language):
    with pytest.raises(DataError) as caught:
        get_generator("templates").generate(OTHERS[language])
    message = str(caught.value)
    assert "--generator llm" in message and "\n" not in message


def test_every_real_english_prompt_is_read():
    """No bundled VideoGen-Eval prompt, GenAI-Bench prompt or labelled prompt is refused, quoted texts to render
    in Arabic or Japanese included; GenAI-Bench's one Chinese prompt is."""
    prompts = [json.loads(line)["prompt"] for line in
               (ROOT / "src/fingereval/resources/t2v_prompts.jsonl").read_text().splitlines()]
    prompts += [json.loads(line)["prompt"] for line in
                (ROOT / "benchmarks/questions/entities_labelled.jsonl").read_text().splitlines()]
    pairs = json.loads((ROOT / "tests/data/genai_bench_video_test_pairs.json").read_text())
    prompts += sorted({p["prompt"] for p in pairs})
    refused = [p for p in prompts if unreadable_reason(p)]
    assert refused == ["一只猫咪在玩耍"]
    assert any("人工知能" in p for p in prompts)  # a Japanese text to render inside an English prompt is read


def _reply_by_step(language_of_questions: dict[str, str]):
    """A chat model stand-in: step 1 gets two entities, step 2 questions in every dimension, in the language
    the instruction names (so a test sees that the instruction reached the model)."""
    def reply(body: dict) -> dict:
        text = body["messages"][-1]["content"]
        language = next(name for name in language_of_questions if f"questions in {name};" in text)
        if "Step 1 of 2" in text:
            content = json.dumps({"entities": [{"name": "gato"}, {"name": "piano"}]})
        else:
            ask = language_of_questions[language]
            content = json.dumps({"questions": [
                {"dimension": d, "entity": "gato", "question": ask.format(n=n), "good_answer": "yes"}
                for n, d in enumerate(("visual_quality", "temporal_consistency", "dynamic_degree", "text_alignment",
                                       "factual_consistency"))]})
        return completion(body["model"], content, "stop")
    return reply


WRITTEN = {"English": "Is the cat clearly visible ({n})?", "Spanish": "¿Se ve el gato con claridad ({n})?",
           "Japanese": "猫ははっきり見えますか ({n})?"}


@pytest.mark.parametrize("prompt", [CHINESE, SPANISH, JAPANESE])
@pytest.mark.parametrize("language, name", [(None, "English"), ("es", "Spanish"), ("ja", "Japanese")])
def test_the_llm_generator_reads_any_language_and_writes_in_the_one_asked(prompt, language, name):
    with ChatServer(_reply_by_step(WRITTEN)) as server:
        qs = get_generator("llm", base_url=server.url, model="served", language=language).generate(prompt)
        bodies = server.bodies
    assert qs.prompt == prompt
    assert [q.text for q in qs.questions] == [WRITTEN[name].format(n=n) for n in range(5)]
    for body in bodies:  # both steps carry the prompt as given and the sentence naming the language
        text = body["messages"][-1]["content"]
        assert f"Prompt: {prompt}" in text and f"questions in {name};" in text


def test_an_unknown_language_is_a_config_error_before_any_call():
    with pytest.raises(ConfigError, match="unknown --language 'klingon'"):
        get_generator("llm", base_url="http://127.0.0.1:9/v1", model="m", language="klingon")


def test_cli_questions_refuses_in_one_line_and_writes_spanish_with_the_llm_generator(tmp_path):
    refused = runner.invoke(cli_app, ["questions", "--prompt", CHINESE])
    assert refused.exit_code == 2 and "--generator llm" in refused.output
    assert len([line for line in refused.output.splitlines() if line.strip()]) == 1
    wrong = runner.invoke(cli_app, ["questions", "--prompt", "A cat", "--language", "es"])
    assert wrong.exit_code == 2 and "needs --generator llm" in wrong.output
    with ChatServer(_reply_by_step(WRITTEN)) as server:
        out = tmp_path / "q.json"
        r = runner.invoke(cli_app, ["questions", "--prompt", JAPANESE, "-g", "llm", "--llm-base-url", server.url,
                                    "--llm-model", "served", "--language", "es", "--out", str(out)])
    assert r.exit_code == 0, r.output
    qs = json.loads(out.read_text())
    assert qs["prompt"] == JAPANESE and qs["questions"][0]["text"] == WRITTEN["Spanish"].format(n=0)


def test_the_service_refuses_with_a_422_or_asks_the_llm_in_the_language_it_was_started_with(tiny_model_dir, tmp_path):
    from fingereval.config import ScoringConfig
    from fingereval.serve import ServeSettings, create_app

    write_video(tmp_path / "clip.mp4", frames=4, size=56)
    settings = ServeSettings(allow_dir=tmp_path, temp_dir=tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    templates = ScoringConfig(model=str(tiny_model_dir), size=56, max_frames=2).evaluator()
    with served(create_app(templates, settings)) as base:
        r = httpx.post(base + "/v1/score", json={"prompt": CHINESE, "video_path": "clip.mp4"}, timeout=60)
    assert r.status_code == 422 and "--generator llm" in r.json()["error"]["message"]
    with ChatServer(_reply_by_step(WRITTEN)) as server:
        llm = ScoringConfig(model=str(tiny_model_dir), size=56, max_frames=2, generator="llm",
                            generator_options={"base_url": server.url, "model": "served", "language": "ja"}).evaluator()
        with served(create_app(llm, settings)) as base:
            r = httpx.post(base + "/v1/score", json={"prompt": SPANISH, "video_path": "clip.mp4"}, timeout=120)
    assert r.status_code == 200, r.text
    assert [q["question"] for q in r.json()["questions"]] == [WRITTEN["Japanese"].format(n=n) for n in range(5)]


def test_a_batch_records_the_prompt_it_cannot_parse_and_scores_the_others(tiny_model_dir, tmp_path):
    write_video(tmp_path / "a.mp4", frames=4, size=56)
    write_video(tmp_path / "b.mp4", frames=4, size=56)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "zh", "video": "a.mp4", "prompt": CHINESE}, ensure_ascii=False) + "\n"
                        + json.dumps({"id": "en", "video": "b.mp4", "prompt": "A red square slides right"}) + "\n",
                        encoding="utf-8")
    out = tmp_path / "r.jsonl"
    r = runner.invoke(cli_app, ["score", "--manifest", str(manifest), "--out", str(out), "--model", str(tiny_model_dir),
                                "--size", "56", "--max-frames", "2"])
    assert r.exit_code == 1, r.output  # a batch with a failed item
    records = {rec["id"]: rec for rec in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert set(records) == {"zh", "en"}
    assert records["zh"]["error"]["type"] == "DataError" and "--generator llm" in records["zh"]["error"]["message"]
    assert records["en"]["overall"] is not None
