"""The probe plans: balanced answers, regular questions, sound ratings. No rendering, so n can be large."""
from __future__ import annotations

from collections import defaultdict

import pytest

from fingereval.dimensions import DIMENSION_KEYS
from fingereval.probes import FORMS, plan_probe
from fingereval.probes.questions import qa_records, ratings, true_answer
from fingereval.probes.world import COLOURS, SHAPES


def _records(seed: int, n: int) -> list[dict]:
    return [r for i in range(n) for r in qa_records(plan_probe(seed, i), f"videos/p{i:04d}.mp4")]


def _yes_share(records: list[dict], key: str) -> dict[str, tuple[int, float]]:
    answers = defaultdict(list)
    for r in records:
        answers[r[key]].append(r["answer"] == "yes")
    return {k: (len(v), sum(v) / len(v)) for k, v in answers.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_answers_are_balanced_per_dimension_and_per_question_form(seed):
    records = _records(seed, 200)
    per_dimension = _yes_share(records, "dimension")
    per_form = _yes_share(records, "form")
    assert set(per_dimension) == set(DIMENSION_KEYS)
    assert set(per_form) == set(FORMS)
    for name, (count, share) in {**per_dimension, **per_form}.items():
        assert count >= 100, (name, count)
        assert 0.4 <= share <= 0.6, (name, share)
    # always-yes is no better than a coin
    assert 0.45 <= sum(r["answer"] == "yes" for r in records) / len(records) <= 0.55


def test_no_question_text_predicts_its_answer():
    """Only entity and direction vary inside a form; neither may carry the answer."""
    records = _records(0, 400)
    by_colour = defaultdict(list)
    for r in records:
        if r["entity"]:
            by_colour[(r["form"], r["entity"].split()[0])].append(r["answer"] == "yes")
    for key, answers in by_colour.items():
        if len(answers) >= 30:
            assert 0.25 <= sum(answers) / len(answers) <= 0.75, (key, len(answers))


def test_questions_per_video_cover_the_dimensions():
    counts = []
    for i in range(100):
        spec = plan_probe(0, i)
        records = qa_records(spec, "v.mp4")
        counts.append(len(records))
        dims = {r["dimension"] for r in records}
        assert {"dynamic_degree", "text_alignment"} <= dims
        shown = [e for e in spec.entities if e.named and e.presence == "shown"]
        if shown:
            assert {"visual_quality", "temporal_consistency"} <= dims
        if shown and not spec.static:
            assert dims == set(DIMENSION_KEYS)
        # never two questions alike; an entity is asked one form per dimension in VQ and TC
        assert len({(r["form"], r["entity"]) for r in records}) == len(records)
        exclusive = [(r["dimension"], r["entity"]) for r in records if r["dimension"] in ("visual_quality", "temporal_consistency")]
        assert len(set(exclusive)) == len(exclusive)
        assert len({r["question"] for r in records}) == len(records)
        assert len({r["id"] for r in records}) == len(records)
    assert 5 <= sum(counts) / len(counts) <= 10
    assert max(counts) <= 10


def test_question_text_follows_the_fixed_forms():
    for r in _records(0, 50):
        form = FORMS[r["form"]]
        assert r["dimension"] == form.dimension
        assert r["good_answer"] == form.good_answer
        prefix = form.template.split("{")[0]
        assert r["question"].startswith(prefix)
        assert r["answer"] in ("yes", "no") and r["reason"].endswith(".")
        if r["entity"]:
            assert r["entity"] in r["question"] and r["entity"] in r["prompt"]


def test_entities_are_unique_by_colour_and_shape_and_named_in_the_prompt():
    for i in range(100):
        spec = plan_probe(0, i)
        drawn_colours = [c for e in spec.entities if e.drawn for c in [e.drawn_colour, e.new_colour] if c]
        assert len(drawn_colours) == len(set(drawn_colours)), spec.entities
        named = spec.named
        assert len({e.colour for e in named}) == len(named) and len({e.shape for e in named}) == len(named)
        assert all(e.colour in COLOURS and e.shape in SHAPES for e in spec.entities)
        for e in named:
            assert f"{e.name} " in spec.prompt and f"to the {e.prompt_direction}" in spec.prompt
        missing = [e for e in named if e.presence != "shown"]
        assert len(missing) <= 1
        if missing:  # the missing entity's colour is nowhere in the video
            assert missing[0].colour not in drawn_colours
        assert any(e.drawn for e in spec.entities)  # never a blank video


def test_reasons_state_the_planted_facts():
    spec = next(s for s in (plan_probe(0, i) for i in range(200))
                if any(e.change == "colour" for e in s.entities if e.named))
    e_index = next(i for i, e in enumerate(spec.entities) if e.named and e.change == "colour")
    e = spec.entities[e_index]
    from fingereval.probes.world import AskedQuestion

    truth = true_answer(spec, AskedQuestion("change", e_index))
    assert truth.answer == "yes"
    assert e.new_colour in truth.reason and e.name in truth.reason


def test_plans_are_deterministic_and_independent_of_the_set_size():
    assert plan_probe(5, 7) == plan_probe(5, 7)
    assert plan_probe(5, 7) != plan_probe(6, 7)
    assert plan_probe(5, 7) != plan_probe(5, 8)


def test_ratings_are_graded_and_follow_the_defects():
    overall, per_dim = [], defaultdict(set)
    for i in range(200):
        spec = plan_probe(0, i)
        rating = ratings(spec)
        assert set(rating) == {*DIMENSION_KEYS, "overall"}
        assert all(0.0 <= v <= 1.0 for v in rating.values())
        assert rating["overall"] == pytest.approx(sum(rating[k] for k in DIMENSION_KEYS) / 5, abs=1e-3)
        for k in DIMENSION_KEYS:
            per_dim[k].add(rating[k])
        shown = [e for e in spec.entities if e.named and e.presence == "shown"]
        assert (rating["dynamic_degree"] == 0.0) == spec.static
        assert (rating["visual_quality"] == 1.0) == all(e.quality == "clean" for e in shown)
        assert (rating["temporal_consistency"] == 1.0) == all(e.change == "steady" for e in shown)
        assert (rating["factual_consistency"] == 1.0) == all(e.vertical != "rising" for e in shown)
        all_right = all(e.presence == "shown" and (e.direction in (None, e.prompt_direction)) for e in spec.named)
        assert (rating["text_alignment"] == 1.0) == all_right
        overall.append(rating["overall"])
    for k, values in per_dim.items():
        assert len(values) >= 5, (k, values)  # severities vary, not just pass/fail
    assert len(set(overall)) > 100


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="multiple of"):
        plan_probe(0, 0, seconds=3.3)
    with pytest.raises(ValueError, match="fps"):
        plan_probe(0, 0, fps=1)


def test_every_reason_opens_with_a_finding_true_to_the_plan():
    from fingereval.probes.questions import FINDINGS

    seen = set()
    for i in range(60):
        spec = plan_probe(0, i)
        for asked in spec.questions:
            truth = true_answer(spec, asked)
            word, value = truth.reason.split(".")[0].split(" ", 1)
            assert word == FINDINGS[asked.form][0]  # the first word follows from the question alone
            e = spec.entities[asked.entity] if asked.entity is not None else None
            drawn = [c for c in COLOURS if c in {x.drawn_colour for x in spec.entities if x.drawn}]
            expected = {
                "blur": e and ("blurred" if e.quality == "blur" else "sharp"),
                "noise": e and ("noisy" if e.quality == "noise" else "clean"),
                "change": e and ("changes" if e.change in ("colour", "shape") else "steady"),
                "flicker": e and ("flickers" if e.change == "flicker" else "steady"),
                "static": "still" if spec.static else "moves",
                "gravity": e and {"rising": "rises", "falling": "sinks", "level": "steady"}[e.vertical],
                "direction": e and e.direction,
                "appear": e and f"{e.colour} vs {' '.join(drawn)}",  # never "none": a shape is always drawn
            }[asked.form]
            assert value == expected, (asked, truth.reason)
            seen.add(asked.form)
    assert seen == set(FINDINGS)


def test_one_large_shape_world_keeps_every_shape_in_the_frame():
    for i in range(80):
        spec = plan_probe(0, i, max_entities=1, radius=0.2)
        drawn = [e for e in spec.entities if e.drawn]
        assert len(drawn) == 1 and spec.radius == pytest.approx(0.2 * spec.size)
        e = drawn[0]
        reach = {"ball": 1.0, "square": 1.2, "triangle": 1.1, "star": 1.2}[e.shape] * spec.radius  # corners, points
        for x in (e.x0, e.x0 + e.dx):
            assert reach - 1 <= x <= spec.size - reach + 1
        for y in (e.y0, e.y0 + e.dy):
            assert reach - 1 <= y <= spec.size - reach + 1
    assert plan_probe(0, 3) == plan_probe(0, 3, max_entities=3, radius=0.1)  # the defaults are the default world
    with pytest.raises(ValueError, match="max_entities"):
        plan_probe(0, 0, max_entities=4)
    with pytest.raises(ValueError, match="radius"):
        plan_probe(0, 0, radius=0.3)


# --- distractors, the hard tier, findings checked against the plan (issue 31) -------------------------------

DISTRACTOR_WORLD = dict(max_entities=1, radius=0.18, distractors=1)


def test_distractors_are_unnamed_still_clean_and_never_in_the_prompt():
    counts = defaultdict(int)
    for i in range(200):
        spec = plan_probe(0, i, **DISTRACTOR_WORLD)
        extras = [e for e in spec.entities if not e.named]
        counts[len(extras)] += 1
        drawn = [e for e in spec.entities if e.drawn]
        assert len({e.drawn_colour for e in drawn}) == len(drawn) and len({e.shape for e in drawn}) == len(drawn)
        for e in extras:
            assert e.drawn and e.quality == "clean" and e.change == "steady" and e.vertical == "level"
            assert e.name not in spec.prompt and e.shape not in spec.prompt
        movers = [e for e in drawn if e.direction is not None]
        assert bool(movers) != spec.static  # a moving video moves even when its named shape is missing
        assert all(e.named for e in movers) or not any(e.named and e.drawn for e in spec.entities)
    assert counts[0] > 50 and counts[1] > 50  # 0 or 1 distractor, drawn per probe


def test_with_distractors_appear_depends_on_the_prompt_not_on_how_many_shapes_are_drawn():
    """The asked shape appears exactly when its colour and shape are drawn; another video's prompt mostly asks
    about a shape that is not there (the prompt swap of `bench stability`)."""
    swapped_yes, n = 0, 0
    specs = [plan_probe(3, i, **DISTRACTOR_WORLD) for i in range(200)]
    for k, spec in enumerate(specs):
        looks = {(e.drawn_colour, e.shape) for e in spec.entities if e.drawn}
        for r in qa_records(spec, "v.mp4"):
            if r["form"] == "appear":
                colour, shape = r["entity"].split()
                assert (r["answer"] == "yes") == ((colour, shape) in looks), r
        other = specs[(k + 1) % len(specs)].named[0]
        swapped_yes += (other.colour, other.shape) in looks
        n += 1
    assert swapped_yes / n < 0.15
    by_count = defaultdict(list)
    for spec in specs:
        appear = next(r for r in qa_records(spec, "v.mp4") if r["form"] == "appear")
        by_count[sum(e.drawn for e in spec.entities)].append(appear["answer"] == "yes")
    for count, answers in by_count.items():  # how many shapes are drawn does not give the answer away
        if len(answers) >= 30:
            assert 0.25 <= sum(answers) / len(answers) <= 0.75, (count, len(answers))


def test_hard_tier_draws_every_defect_weak_and_keeps_answers_balanced():
    from fingereval.probes.world import HARD, HARD_FORMS

    specs = [plan_probe(1, i, **DISTRACTOR_WORLD, hard_share=0.4) for i in range(400)]
    hard = [s for s in specs if s.hard]
    assert 0.3 <= len(hard) / len(specs) <= 0.5
    for s in hard:
        for e in s.entities:
            if e.quality == "blur":
                assert HARD["blur_sigma"][0] <= e.blur_sigma <= HARD["blur_sigma"][1]
            if e.quality == "noise":
                assert HARD["noise_std"][0] <= e.noise_std <= HARD["noise_std"][1]
            if e.change == "flicker":
                assert len(e.hidden_slots) == 1
            if e.change in ("colour", "shape"):
                assert e.change_slot == s.n_slots - 2
            if e.direction is not None:
                assert HARD["travel"][0] * s.size - 1e-6 <= abs(e.dx) <= HARD["travel"][1] * s.size + 1e-6
            assert abs(e.dy) <= HARD["rise"][1] * s.size + 1e-6
    for s in specs:
        if not s.hard:
            assert all(e.blur_sigma == 0 or e.blur_sigma >= 3.0 for e in s.entities)
    records = [r for s in specs for r in qa_records(s, "v.mp4")]
    tier = [r for r in records if r["tier"] == "hard"]
    assert {r["form"] for r in tier} <= HARD_FORMS and len(tier) >= 200
    assert all(r["tier"] == "plain" for s in specs if not s.hard for r in qa_records(s, "v.mp4"))
    assert 0.4 <= sum(r["answer"] == "yes" for r in tier) / len(tier) <= 0.6


def test_new_worlds_leave_the_old_ones_as_they_were():
    for i in range(20):
        assert plan_probe(2, i, max_entities=1, radius=0.2) == plan_probe(2, i, max_entities=1, radius=0.2,
                                                                           distractors=0, hard_share=0.0)
    with pytest.raises(ValueError, match="distractors"):
        plan_probe(0, 0, max_entities=3, distractors=1)
    with pytest.raises(ValueError, match="hard_share"):
        plan_probe(0, 0, hard_share=1.5)


@pytest.mark.parametrize("world", [{}, dict(max_entities=1, radius=0.2), dict(DISTRACTOR_WORLD, hard_share=0.5)])
def test_each_true_finding_implies_the_true_answer(world):
    from fingereval.probes.questions import finding_answer, finding_of

    for i in range(150):
        for r in qa_records(plan_probe(4, i, **world), "v.mp4"):
            assert finding_answer(r["form"], r["question"], finding_of(r["reason"])) == r["answer"], r


def test_findings_are_checked_against_the_question_not_taken_on_trust():
    from fingereval.probes.questions import finding_answer, finding_of

    q = "Does the white ball appear in the video?"
    # the demo model's contradiction: the finding says white is drawn, so it implies yes whatever follows
    assert finding_answer("appear", q, finding_of("Colour white vs white. There is no white ball: ...")) == "yes"
    assert finding_answer("appear", q, "Colour white vs green red") == "no"
    assert finding_answer("appear", q, "Colour red vs red") is None  # not the asked colour
    assert finding_answer("direction", "Does the red ball move to the left?", "Heading right") == "no"
    assert finding_answer("direction", "Does the red ball move to the left?", "Heading left") == "yes"
    assert finding_answer("gravity", "Does the x float upward against gravity?", "Height sinks") == "no"
    assert finding_answer("noise", "Is there visible noise on the red ball?", "Texture noisy") == "yes"
    # a caption or another form's finding implies nothing
    assert finding_answer("noise", "Is there visible noise on the red ball?", "Colour green") is None
    assert finding_answer("blur", "Is the red ball clearly visible without blur?", "Edges") is None
    assert finding_of(None) == "" and finding_of("  Edges sharp. The ...") == "Edges sharp"


def _look_defect(e) -> bool:
    return e.quality != "clean" or e.change != "steady" or e.vertical == "rising"


@pytest.mark.parametrize("world", [dict(max_entities=1, radius=0.2), DISTRACTOR_WORLD])
def test_disguise_gives_shapes_the_prompt_does_not_name_a_named_shapes_defects_and_keeps_every_answer(world):
    """Without `disguise` a shape the prompt does not name is always clean, so a model can answer "does the X
    appear" from the defects alone; with it, such shapes carry defects about as often as named ones, and the
    questions and true answers stay those of the plain plan (reasons too, but for the static question's
    list of what moves: disguised distractors move)."""
    named, off, plain_off = [], [], []
    for i in range(400):
        plain, disguised = plan_probe(5, i, **world), plan_probe(5, i, **world, disguise=True)
        for r, q in zip(qa_records(plain, "v.mp4"), qa_records(disguised, "v.mp4"), strict=True):
            same = ("id", "question", "answer", "good_answer") + (("reason",) if q["form"] != "static" else ())
            assert [r[k] for k in same] == [q[k] for k in same]
        for p, d in zip(plain.entities, disguised.entities):
            assert (p.named, p.presence, p.colour, p.shape, p.drawn_colour) == (d.named, d.presence, d.colour,
                                                                                 d.shape, d.drawn_colour)
            if d.named and d.presence == "shown":
                assert (p.quality, p.change, p.vertical, p.direction) == (d.quality, d.change, d.vertical, d.direction)
                named.append(_look_defect(d))
            elif d.drawn:
                off.append(_look_defect(d))
                plain_off.append(_look_defect(p))
    assert len(off) > 100 and not any(plain_off)
    assert abs(sum(off) / len(off) - sum(named) / len(named)) < 0.1, (sum(off) / len(off), sum(named) / len(named))
    assert plan_probe(5, 3, **world) == plan_probe(5, 3, **world, disguise=False)
