"""The annotation app fuzzed from its own OpenAPI schema (schemathesis), as tests/test_serve_fuzz.py fuzzes the
service: valid and invalid requests to every API route, as the one person of a shared token, as an annotator and
as an adjudicator of a users file. Never a 500; every status and body as the schema documents it; every error in
the one shape `{"error": {"type", "message"}}`; no absolute path of the host in any answer.

Bounded: FUZZ_EXAMPLES per route, identity and mode, no shrinking, a time limit over each run.
"""
from __future__ import annotations

import collections
import os
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from annotating import AUTH, annotation_server, bearer, make_dataset, write_users
from conftest import time_limit

FUZZ_EXAMPLES = int(os.environ.get("FINGEREVAL_FUZZ_EXAMPLES", "15"))  # raise it for a deeper run by hand
ROUTES = {"/api/me", "/api/next", "/api/progress", "/api/labels", "/api/skipped", "/api/agreement",
          "/api/disagreements", "/api/adjudications", "/api/export", "/api/videos/{item_id}", "/api/images/{item_id}"}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("annotate-fuzz") / "set")


def _checks(mode: str):
    from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,
                                     response_schema_conformance, status_code_conformance)

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    return checks + [negative_data_rejection] if mode == "negative" else checks


def _no_host_path(text: str, roots: list[str]) -> None:
    for root in roots:
        assert root not in text, f"an absolute path of the host in an answer: {text[:300]}"


@pytest.mark.parametrize("who", ["token", "ann", "judge"])
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_every_api_route_answers_as_its_schema_says_in_one_error_shape(data, tmp_path, who, mode):
    import schemathesis
    from schemathesis import GenerationMode

    if who == "token":
        server, headers = annotation_server(tmp_path / "f.sqlite", data), AUTH
    else:
        from fingereval.annotate.people import load_users

        users = load_users(write_users(tmp_path / "users.yaml"))
        server, headers = annotation_server(tmp_path / "f.sqlite", data, token=None, users=users), bearer(who)
    roots = [str(data.parent.absolute()), str(tmp_path.absolute()), str(Path.home())]
    tried: collections.Counter = collections.Counter()
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    with time_limit(180, f"fuzzing the annotation API ({who}, {mode})"), server as (base, _):
        schema = schemathesis.openapi.from_url(base + "/openapi.json", headers=headers)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} == ROUTES
        for operation in operations:
            if mode == "negative" and len(operation.body) == 0 and len(operation.query) == 0:
                continue  # nothing to make invalid (a path's item id is any string)

            @settings(max_examples=FUZZ_EXAMPLES, deadline=None, phases=[Phase.generate], database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=generation))
            def run(case):
                response = case.call(base_url=base, headers=headers, timeout=30)
                tried[(operation.path, response.status_code)] += 1
                assert response.status_code != 500, response.text
                if response.status_code >= 400:
                    error = response.json()["error"]  # the one shape, whatever refused it
                    assert set(error) == {"type", "message"} and "Traceback" not in error["message"]
                if not (response.headers.get("content-type") or [""])[0].startswith("video/"):  # header: values
                    _no_host_path(response.text, roots)
                case.validate_response(response, checks=_checks(mode))

            run()
        print(f"\nschemathesis {who} {mode}: {sum(tried.values())} examples; {dict(sorted(tried.items()))}")
        assert httpx.get(base + "/api/agreement", headers=headers).status_code == 200  # still serving
    assert sum(tried.values()) >= FUZZ_EXAMPLES
    if who == "ann":  # an annotator is refused everything an adjudicator does (400: a body that is not JSON at all)
        refused = {status for (path, status) in tried if path in ("/api/adjudications", "/api/export",
                                                                  "/api/disagreements")}
        assert 403 in refused and refused <= {400, 403}
