"""The HTTP scoring service: one model held once, requests batched from a bounded queue (FastAPI + uvicorn).

    fingereval serve --model M --allow-dir videos/ --token "$TOKEN"

Routes: GET /health, POST /v1/score, POST /v1/score_batch (OpenAPI at /docs). POST /v1/score answers exactly the
JSON `fingereval score --json` prints. The client is fingereval.client.ScoreClient. What it trusts, and each cap,
is in docs/serve.md ("Security").
"""
from __future__ import annotations

from fingereval.serve.app import create_app, server_config
from fingereval.serve.models import BatchRequest, ScoreRequest, ServeSettings

__all__ = ["BatchRequest", "ScoreRequest", "ServeSettings", "create_app", "server_config"]
