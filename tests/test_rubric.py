"""Rubric files (fingereval.rubric, docs/rubric.md): the shipped default is FingER's five, a custom rubric's
dimensions reach the question generators, and a bad file is one line naming the file, the line and the field."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from fingereval.ask import get_generator
from fingereval.errors import DataError
from fingereval.rubric import default_rubric, load_rubric, shipped_rubrics
from fingereval.schema import QuestionSet

from openai_server import ChatServer, FixedReply

ROOT = Path(__file__).resolve().parents[1]
CAMERA = ROOT / "src" / "fingereval" / "rubrics" / "camera_motion.yaml"

# A small rubric written here, independently of the shipped files: two dimensions, weights 3 and 1.
SMALL = """\
name: small
prompt_questions:
  dimension: alignment
  include: [presence]
dimensions:
  - key: camera_motion
    name: camera motion
    description: the camera moves smoothly
    weight: 3
    entity_questions:
      any:
        - {text: "{Do} {the} stay in frame?", good_answer: "yes"}
    per_entity_questions: 1
    video_questions:
      - {text: "Does the camera shake?", good_answer: "no"}
  - key: alignment
    name: alignment
    description: the prompt's things are there
    weight: 1
"""


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_rubric_is_fingers_five_from_the_shipped_file():
    from fingereval.dimensions import DIMENSION_KEYS, normalize_dimension

    shipped = yaml.safe_load((ROOT / "src" / "fingereval" / "rubrics" / "finger.yaml").read_text())
    assert [d["key"] for d in shipped["dimensions"]] == list(DIMENSION_KEYS) == [
        "visual_quality", "temporal_consistency", "dynamic_degree", "text_alignment", "factual_consistency"]
    assert default_rubric().weights() == {k: 1.0 for k in DIMENSION_KEYS}
    assert normalize_dimension("Text-to-video alignment") == "text_alignment" == normalize_dimension("ta")
    assert {"finger", "camera_motion"} <= set(shipped_rubrics())


def test_a_custom_rubric_reads_with_its_keys_weights_and_a_content_hash(tmp_path):
    rubric = load_rubric(write(tmp_path, SMALL))
    assert rubric.keys == ("camera_motion", "alignment")
    assert rubric.weights() == {"camera_motion": 3.0, "alignment": 1.0}
    assert rubric.normalize("Camera Motion") == "camera_motion"
    # the hash is of the content: the same rubric written as JSON hashes the same, a changed weight does not
    as_json = write(tmp_path, json.dumps(yaml.safe_load(SMALL)), "r.json")
    assert load_rubric(as_json).sha256 == rubric.sha256
    assert load_rubric(write(tmp_path, SMALL.replace("weight: 3", "weight: 2"), "w.yaml")).sha256 != rubric.sha256
    content = rubric.model_dump(mode="json", exclude={"needs_image"})  # not set: hashed as before the field
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert rubric.sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    # a rubric that needs the image hashes differently from the same rubric without it
    needing = load_rubric(write(tmp_path, SMALL + "needs_image: true\n", "n.yaml"))
    assert needing.needs_image and needing.sha256 != rubric.sha256


def test_the_shipped_rubric_hashes_as_results_recorded_it_before_needs_image_existed():
    # recorded by results scored before the needs_image field (commit a0d871b): the same rubric, the same hash
    assert default_rubric().sha256 == "f10a7efd6d36536a3de1e3798ca7a2776574a6332fedcd98500a6654541a877a"


def test_the_templates_generator_asks_in_the_rubrics_dimensions(tmp_path):
    qs = get_generator("templates", rubric=write(tmp_path, SMALL)).generate("A red car drives down a street")
    by_dim = qs.by_dimension(load_rubric(write(tmp_path, SMALL)))
    assert list(by_dim) == ["camera_motion", "alignment"] and {q.dimension for q in qs.questions} == set(by_dim)
    assert [q.text for q in by_dim["camera_motion"]] == ["Does the red car stay in frame?", "Does the camera shake?"]
    assert [q.good_answer for q in by_dim["camera_motion"]] == ["yes", "no"]
    # prompt questions: only presence, in the rubric's `alignment` dimension (no main subject, no action)
    assert [q.text for q in by_dim["alignment"]] == ["Does the red car appear in the video?",
                                                     "Does the street appear in the video?"]
    assert [q.id for q in qs.questions] == ["camera_motion-1", "camera_motion-2", "alignment-1", "alignment-2"]


def test_the_shipped_camera_motion_rubric_asks_about_the_camera():
    qs = get_generator("templates", rubric=CAMERA).generate("A drone flies over two men shaking hands in an office")
    camera = [q for q in qs.questions if q.dimension == "camera_motion"]
    assert len(camera) == 5 and all("camera" in q.text for q in camera)
    assert {q.dimension for q in qs.questions} == {"camera_motion", "visual_quality", "text_alignment"}


def test_prompt_questions_switched_off(tmp_path):
    text = SMALL.replace("  dimension: alignment\n  include: [presence]\n", "  dimension: null\n")
    qs = get_generator("templates", rubric=write(tmp_path, text)).generate("A red car drives down a street")
    assert [q.dimension for q in qs.questions] == ["camera_motion", "camera_motion"]


def test_a_questions_file_is_read_for_a_rubric(tmp_path):
    path = write(tmp_path, json.dumps({"prompt": "a car", "questions": [
        {"id": "1", "dimension": "Camera Motion", "text": "Does the camera shake?", "good_answer": "no"}]}), "q.json")
    assert QuestionSet.load(path, rubric=load_rubric(write(tmp_path, SMALL))).questions[0].dimension == "camera_motion"
    with pytest.raises(DataError) as info:  # FingER's rubric has no camera motion
        QuestionSet.load(path)
    message = str(info.value)
    assert "\n" not in message and "'Camera Motion'" in message and "--rubric" in message and str(path) in message


@pytest.mark.parametrize("edit, expected", [
    # bad YAML: the line where the parser finds the list of line 9 unclosed
    (lambda t: t.replace("    weight: 3\n", "    weight: [3\n"), "line 10: not valid YAML"),
    # a missing weight: the dimension and the field, at the dimension's first line
    (lambda t: t.replace("    weight: 1\n", ""), "line 16: dimensions[1] (alignment): missing field 'weight'"),
    (lambda t: t.replace("weight: 3", "weight: -1"), "line 9: dimensions[0] (camera_motion).weight: Input should be "
                                                     "greater than or equal to 0"),
    (lambda t: t.replace("key: alignment", "key: camera_motion").replace("dimension: alignment",
                                                                         "dimension: camera_motion"),
     "dimension key 'camera_motion' is used twice"),
    (lambda t: t.replace("    weight: 1\n", "    weight: 1\n    colour: red\n"),
     "line 20: dimensions[1] (alignment).colour: Extra inputs are not permitted"),
    (lambda t: t.replace("    weight: 1\n", "    weight: 1\n    weight: 2\n"),
     "line 20: the field 'weight' is given twice"),
    (lambda t: t.replace("{the} stay", "{them} stay"), "must name the entity as {the}"),
    (lambda t: t.replace("dimension: alignment", "dimension: sharpness"), "prompt_questions.dimension 'sharpness'"),
    (lambda t: t.replace("weight: 3", "weight: 0").replace("weight: 1", "weight: 0"), "every dimension has weight 0"),
])
def test_a_bad_rubric_is_one_line_naming_the_file_line_and_field(tmp_path, edit, expected):
    path = write(tmp_path, edit(SMALL))
    with pytest.raises(DataError) as info:
        load_rubric(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"rubric file {path}") and expected in message, message


def test_a_bad_json_rubric_names_the_line_and_the_field(tmp_path):
    data = yaml.safe_load(SMALL)
    data["dimensions"][0]["weight"] = "heavy"
    path = write(tmp_path, json.dumps(data, indent=1), "r.json")
    with pytest.raises(DataError, match=r"dimensions\[0\] \(camera_motion\)\.weight: Input should be a valid number"):
        load_rubric(path)
    with pytest.raises(DataError, match=r"line 2: not valid JSON"):
        load_rubric(write(tmp_path, '{"name": "x",\n "dimensions": [}', "bad.json"))
    with pytest.raises(DataError, match="no rubric 'nosuch'.*camera_motion, finger"):
        load_rubric("nosuch")


def test_the_evaluator_refuses_a_question_set_built_in_code_outside_its_rubric(tmp_path, red_video):
    """The Python API's last guard: a QuestionSet made in code (no file read for a rubric) is checked against
    the evaluator's rubric before the video is decoded or any model is asked."""
    from fingereval import Evaluator
    from fingereval.schema import Question

    questions = QuestionSet(prompt="a car", questions=[
        Question(id="1", dimension="camera_motion", text="Does the camera shake?", good_answer="no")])
    with ChatServer(FixedReply()) as chat:
        finger = Evaluator("served", answerer="openai", base_url=chat.url)
        with pytest.raises(DataError) as info:
            finger.score(red_video, questions=questions)
        assert "'camera_motion'" in str(info.value) and "--rubric" in str(info.value) and "'1'" in str(info.value)
        small = Evaluator("served", answerer="openai", base_url=chat.url, rubric=write(tmp_path, SMALL))
        assert small.rubric.keys == ("camera_motion", "alignment")
        wrong = QuestionSet(prompt="a car", questions=[
            Question(id="2", dimension="visual_quality", text="Is the car sharp?", good_answer="yes")])
        with pytest.raises(DataError, match="unknown dimension 'visual_quality': the rubric 'small' has"):
            small.score(red_video, questions=wrong)
        assert chat.bodies == []  # refused before any question reached the model


def test_a_rubric_that_needs_the_image_refuses_a_video_without_one_before_any_question_is_written(red_video):
    """The i2v rubric (needs_image): without the image nothing is asked of the question writer or the model."""
    from fingereval import Evaluator

    with ChatServer(FixedReply()) as chat:
        i2v = Evaluator("served", answerer="openai", base_url=chat.url, rubric="i2v", generator="llm",
                        generator_options={"base_url": chat.url, "model": "served"})
        with pytest.raises(DataError, match="asks about the image the video was generated from") as info:
            i2v.score(red_video, "a red square")
        assert "--image" in str(info.value) and "\n" not in str(info.value)
        assert chat.bodies == []  # neither the LLM generator nor the answerer was called
        finger = Evaluator("served", answerer="openai", base_url=chat.url, rubric="finger")
        assert not finger.rubric.needs_image and load_rubric("i2v").needs_image


def test_the_llm_generator_is_told_the_rubrics_dimensions_and_must_cover_every_one():
    """Through the local chat server: step 2 names the rubric's dimensions, guidance and examples (none of
    FingER's it lacks); a reply without camera motion is sent back once; its aliases are read."""
    from openai_server import completion

    steps: list[str] = []
    questions = [{"dimension": "camera", "entity": None, "question": "Does the camera pan?", "good_answer": "yes"},
                 {"dimension": "visual quality", "entity": "drone", "question": "Is the drone sharp?",
                  "good_answer": "yes"},
                 {"dimension": "text_alignment", "entity": "drone", "question": "Is there a drone?",
                  "good_answer": "yes"}]

    def reply(body: dict) -> dict:
        user = body["messages"][-1]["content"]
        steps.append(user)
        if user.startswith("Step 1 of 2"):
            return completion("q", json.dumps({"entities": ["drone", "harbour"]}), "stop")
        first_try = len(steps) == 2  # the first questions reply leaves the camera out
        return completion("q", json.dumps({"questions": questions[1:] if first_try else questions}), "stop")

    with ChatServer(reply, served=("q",)) as server:
        qs = get_generator("llm", rubric=CAMERA, base_url=server.url, model="q", timeout=10).generate(
            "A drone pans over a harbour at dawn")
    step2 = steps[1]
    assert "Cover all 3 dimensions" in step2 and "- camera_motion (camera motion):" in step2
    assert "whether the main subject stays in frame" in step2  # its guidance
    assert "Does the camera slowly push in toward the two men?" in step2  # its example
    assert "temporal_consistency" not in step2 and "factual_consistency" not in step2
    assert len(steps) == 3 and "no questions for dimension(s) camera_motion" in steps[2]
    assert [(q.id, q.dimension) for q in qs.questions] == [
        ("camera_motion-1", "camera_motion"), ("visual_quality-1", "visual_quality"),
        ("text_alignment-1", "text_alignment")]


def test_a_scoring_config_carries_the_rubrics_content_to_a_worker(tmp_path):
    """Ray ships ScoringConfig as plain JSON data: the rubric arrives whole, with no file on the worker."""
    from fingereval.config import ScoringConfig

    path = write(tmp_path, SMALL)
    sent = json.loads(json.dumps(ScoringConfig(rubric=path).model_dump(mode="json")))
    path.unlink()  # the worker has no such file
    arrived = ScoringConfig.model_validate(sent).rubric
    assert arrived.keys == ("camera_motion", "alignment") and arrived.sha256 == load_rubric(
        write(tmp_path, SMALL)).sha256
    assert ScoringConfig().rubric is None  # the default rubric, as before


def test_results_written_before_rubrics_still_load_and_export_with_fingers_columns(tmp_path):
    from fingereval.export import rows
    from fingereval.schema import VideoResult

    old = {"video": "a.mp4", "prompt": "a car", "overall": 0.5, "model": "m",  # a line as older results hold it
           "dimensions": {"visual_quality": 0.5, "temporal_consistency": None, "dynamic_degree": None,
                          "text_alignment": 0.5, "factual_consistency": None}}
    assert VideoResult.model_validate(old).rubric is None
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(old) + "\n")
    row = rows([path], on_warning=lambda m: None)[0]
    assert [k for k in row if k in default_rubric().keys] == list(default_rubric().keys)
    assert row["rubric"] is None and row["visual_quality"] == 0.5
