"""The service fuzzed from its own OpenAPI schema (schemathesis): valid and invalid requests to every route, against
the live server with the tiny model. Never a 500; every status and body as the schema documents it.

Bounded: FUZZ_EXAMPLES per route and mode, no shrinking, SIGALRM over the whole run.
"""
from __future__ import annotations

import collections
import os

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from conftest import time_limit, write_video
from serving import SERVE_SIZE, files_in, serve_evaluator, served, wait_idle  # noqa: F401

from fingereval.serve import ServeSettings, create_app

TOKEN = "fuzz-token"
FUZZ_EXAMPLES = int(os.environ.get("FINGEREVAL_FUZZ_EXAMPLES", "30"))  # raise it for a deeper run by hand
TRIED: collections.Counter = collections.Counter()  # (route, mode, status) -> examples, for the report line


@pytest.fixture(scope="module")
def fuzzed(serve_evaluator, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    write_video(root / "videos" / "red.mp4", frames=8, size=SERVE_SIZE)
    temp = root / "uploads"
    settings = ServeSettings(token=TOKEN, allow_dir=root / "videos", temp_dir=temp, max_items=4, max_queue=64,
                             timeout=60)
    with served(create_app(serve_evaluator, settings)) as base:
        yield base, temp


def _checks(path: str, mode: str):
    from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,
                                     response_schema_conformance, status_code_conformance)

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    # invalid data is refused, except inside a batch item, which by design answers 200 with that item's error object
    return checks + [negative_data_rejection] if mode == "negative" and path != "/v1/score_batch" else checks


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_every_route_answers_documented_statuses_and_never_500(fuzzed, mode):
    import schemathesis
    from schemathesis import GenerationMode

    base, temp = fuzzed
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    documented = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/health", "/v1/rubric", "/v1/score", "/v1/score_batch"}
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    with time_limit(120, f"fuzzing ({mode})"):
        for operation in operations:
            documented[operation.path] = {int(s) for s in operation.definition.raw["responses"]}
            if mode == "negative" and len(operation.body) == 0 and len(operation.query) == 0:
                continue  # nothing to make invalid: GET /health and /v1/rubric have no body and no parameters

            @settings(max_examples=FUZZ_EXAMPLES, deadline=None, phases=[Phase.generate], database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=generation))
            def run(case):
                response = case.call(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
                kind = response.json()["error"]["type"] if response.status_code >= 400 else ""
                TRIED[(operation.path, mode, response.status_code, kind)] += 1
                assert response.status_code != 500, response.text
                assert response.status_code in documented[operation.path] | {422}, response.text
                if kind:
                    error = response.json()["error"]
                    assert set(error) == {"type", "message"} and "Traceback" not in error["message"]
                case.validate_response(response, checks=_checks(operation.path, mode))

            run()
    tried = sum(n for (_, m, *_), n in TRIED.items() if m == mode)
    print(f"\nschemathesis {mode}: {tried} examples; statuses {dict(sorted((k, n) for k, n in TRIED.items() if k[1] == mode))}")
    assert tried >= FUZZ_EXAMPLES  # each route got examples (health alone has no body to vary)
    assert httpx.get(base + "/health").json()["status"] == "ok"
    wait_idle(base)
    assert files_in(temp) == []
