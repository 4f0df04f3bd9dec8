"""What every route shares: keys, body and rate limits, health, metrics, the OpenAPI document."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from calmline.api import create_app
from calmline.errors import SettingsError
from calmline.settings import AppSettings
from tests.api.conftest import auth, make_keys, make_settings


def test_healthz_needs_no_key_and_says_the_database_answers(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["database"] == "ok"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer cl_nope_nope"},
        {"X-API-Key": "garbage"},
        {"Authorization": "Basic eA=="},
    ],
)
def test_v1_without_a_valid_key_is_401(client: TestClient, headers: dict[str, str]) -> None:
    r = client.post("/v1/analyze", json={"text": "hi"}, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_revoked_key_stops_working(app_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(app_settings.database_url or "", tmp_path, key_cache_seconds=0)
    app = create_app(settings)
    keys = make_keys(app.state.services)
    with TestClient(app) as client:
        assert (
            client.post("/v1/analyze", json={"text": "hi"}, headers=auth(keys["agent"])).status_code
            == 200
        )
        prefix = keys["agent"].split("_")[1]
        app.state.services.keys.revoke(prefix)
        r = client.post("/v1/analyze", json={"text": "hi"}, headers=auth(keys["agent"]))
        assert r.status_code == 401
    app.state.services.close()


def test_a_body_over_the_limit_is_413_before_it_is_read(app_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(app_settings.database_url or "", tmp_path, max_body_bytes=2048)
    app = create_app(settings)
    keys = make_keys(app.state.services)
    with TestClient(app) as client:
        r = client.post("/v1/analyze", json={"text": "x" * 5000}, headers=auth(keys["agent"]))
        assert r.status_code == 413
        assert r.json()["code"] == "body_too_large"
        assert "2,048" in r.json()["detail"]

        # a streamed body without Content-Length is counted as it arrives
        def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b"x" * 1000

        r = client.post(
            "/v1/analyze",
            content=chunks(),
            headers={**auth(keys["agent"]), "Content-Type": "application/json"},
        )
        assert r.status_code == 413
    app.state.services.close()


def test_the_rate_limit_is_per_key_and_says_when_to_retry(app_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(app_settings.database_url or "", tmp_path, rate_limit="3/minute")
    app = create_app(settings)
    keys = make_keys(app.state.services)
    with TestClient(app) as client:
        codes = [
            client.post("/v1/analyze", json={"text": "hi"}, headers=auth(keys["agent"])).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        r = client.post("/v1/analyze", json={"text": "hi"}, headers=auth(keys["agent"]))
        assert r.json()["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1
        # another key has its own allowance
        assert (
            client.post(
                "/v1/analyze", json={"text": "hi"}, headers=auth(keys["agent2"])
            ).status_code
            == 200
        )
    app.state.services.close()


def test_a_bad_rate_limit_setting_fails_at_start(app_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(app_settings.database_url or "", tmp_path, rate_limit="lots")
    with pytest.raises(SettingsError, match="CALMLINE_SERVE__RATE_LIMIT"):
        create_app(settings)


def test_metrics_count_requests_by_route_template_and_findings(
    client: TestClient, keys: dict[str, str]
) -> None:
    client.post("/v1/check", json={"draft": "Calm down."}, headers=auth(keys["agent"]))
    text = client.get("/metrics").text
    assert (
        "calmline_http_request_duration_seconds_count"
        '{method="POST",route="/v1/check",status="200"} 1.0' in text
    )
    assert 'calmline_findings_total{rule="B3",severity="warn"} 1.0' in text


def test_access_log_has_the_route_and_never_the_body(
    client: TestClient, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "my card number is 4111 and you are IDIOTS"
    with caplog.at_level(logging.INFO, logger="calmline.access"):
        client.post("/v1/analyze", json={"text": secret}, headers=auth(keys["agent"]))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "calmline.access"]
    assert lines and lines[-1]["route"] == "/v1/analyze" and lines[-1]["status"] == 200
    assert lines[-1]["key"] == keys["agent"].split("_")[1]
    assert all(
        secret not in r.getMessage() and "4111" not in r.getMessage() for r in caplog.records
    )


def test_openapi_lists_the_v1_routes(client: TestClient) -> None:
    doc = client.get("/v1/openapi.json").json()
    assert "/v1/analyze" in doc["paths"] and "/v1/check" in doc["paths"]
    assert doc["components"]["securitySchemes"]


def test_no_page_loads_anything_from_a_cdn(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404  # Swagger UI would fetch from a CDN


def test_using_a_key_records_when_it_was_last_used(app_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`calmline keys list` shows last_used_at: a request with the key (header or sign-in
    cookie) brings it up to date."""
    settings = make_settings(app_settings.database_url or "", tmp_path, key_cache_seconds=0)
    app = create_app(settings)
    keys = make_keys(app.state.services)
    stored = app.state.services.keys
    with TestClient(app) as client:
        assert stored.get(keys["agent"]).last_used_at is None
        assert client.get("/v1/me", headers=auth(keys["agent"])).status_code == 200
        first = stored.get(keys["agent"]).last_used_at
        assert first is not None
        assert client.get("/v1/me", headers=auth(keys["agent"])).status_code == 200
        assert stored.get(keys["agent"]).last_used_at == first  # at most once a minute
        assert client.post("/ui/session", json={"key": keys["manager"]}).status_code == 204
        assert client.get("/manager").status_code == 200
        assert stored.get(keys["manager"]).last_used_at is not None
        assert stored.get(keys["trainer"]).last_used_at is None
    app.state.services.close()


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_not_sent_as_json_is_415_saying_so(
    client: TestClient, keys: dict[str, str], content_type: str | None
) -> None:
    headers = auth(keys["agent"])
    if content_type is not None:
        headers["Content-Type"] = content_type
    r = client.post("/v1/analyze", content=b'{"text": "hi"}', headers=headers)
    assert r.status_code == 415, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in r.json()["detail"]
    assert (content_type or "no Content-Type") in r.json()["detail"]
    # JSON that is not an object is still a 422 saying where.
    r = client.post("/v1/analyze", json=["hi"], headers=auth(keys["agent"]))
    assert (r.status_code, r.json()["code"]) == (422, "input_invalid")


def test_log_bodies_adds_request_bodies_but_never_the_sign_in(
    app_settings: AppSettings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(app_settings.database_url or "", tmp_path, log_bodies=True)
    app = create_app(settings)
    keys = make_keys(app.state.services)
    with TestClient(app) as client, caplog.at_level(logging.INFO, logger="calmline.access"):
        client.post("/v1/analyze", json={"text": "where is my parcel"}, headers=auth(keys["agent"]))
        for path in ("/ui/session", "/ui/session/", "//ui//session"):
            client.post(path, json={"key": keys["agent"]})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "calmline.access"]
    analyze = next(line for line in lines if line["route"] == "/v1/analyze")
    assert "where is my parcel" in analyze["body"]
    assert all(keys["agent"] not in r.getMessage() for r in caplog.records)
    app.state.services.close()


def test_both_kinds_of_413_are_the_same_problem_shape(app_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The body limit (middleware) and a message over the playbook's limit (a handler) used to
    give different titles for the same status."""
    settings = make_settings(app_settings.database_url or "", tmp_path, max_body_bytes=60_000)
    app = create_app(settings)
    keys = make_keys(app.state.services)
    with TestClient(app) as client:
        body = client.post("/v1/analyze", json={"text": "x" * 70_000}, headers=auth(keys["agent"]))
        text = client.post("/v1/check", json={"draft": "x" * 50_000}, headers=auth(keys["agent"]))
    app.state.services.close()
    assert body.status_code == text.status_code == 413
    assert (body.json()["code"], text.json()["code"]) == ("body_too_large", "message_too_long")
    assert body.json()["title"] == text.json()["title"] == "Content Too Large"
    assert set(body.json()) == set(text.json())
    assert body.headers["content-type"] == text.headers["content-type"]


def test_an_unexpected_error_is_logged_with_the_route_not_the_path(
    app: FastAPI, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    services = app.state.services

    def broken(_cid: str) -> None:
        raise RuntimeError("a bug")

    services.conversations.get_conversation = broken  # the instance only, for this test
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="calmline.api"),
    ):
        r = client.get("/v1/conversations/dana-whitfield-0612", headers=auth(keys["admin"]))
    assert r.status_code == 500
    assert r.json()["code"] == "internal_error"
    assert "a bug" not in r.text
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "calmline.api"]
    assert logged == ["unexpected error on GET /v1/conversations/{conversation_id}"]
