"""Several workers share one rate limit through Redis (``rate_limit_storage=redis://...``).

Runs against the Redis server on 127.0.0.1:6379 (``CALMLINE_TEST_REDIS_URL`` for another);
skipped with the reason when it cannot be reached, except under CI, where it must run.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from calmline.api import create_app
from tests.api.conftest import auth, make_keys, make_settings

REDIS_URL = os.environ.get("CALMLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _require_redis() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return
    except OSError as exc:
        message = f"Redis at {REDIS_URL} is unreachable: {exc}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so the Redis test must run)")
    pytest.skip(message)


def test_two_workers_count_one_key_together(tmp_path: Path) -> None:
    _require_redis()
    settings = make_settings(
        f"sqlite:///{tmp_path / 'calmline.db'}",
        tmp_path,
        rate_limit="3/minute",
        rate_limit_storage=REDIS_URL,
    )
    first, second = create_app(settings), create_app(settings)
    keys = make_keys(first.state.services)
    body, agent = {"text": "hello"}, auth(keys["agent"])
    with TestClient(first) as a, TestClient(second) as b:
        codes = [
            a.post("/v1/analyze", json=body, headers=agent).status_code,
            b.post("/v1/analyze", json=body, headers=agent).status_code,
            a.post("/v1/analyze", json=body, headers=agent).status_code,
            b.post("/v1/analyze", json=body, headers=agent).status_code,
        ]
        assert codes == [200, 200, 200, 429]
        assert b.post("/v1/analyze", json=body, headers=auth(keys["agent2"])).status_code == 200
    first.state.services.close()
    second.state.services.close()
