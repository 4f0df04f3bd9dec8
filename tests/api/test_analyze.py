"""POST /v1/analyze and POST /v1/check: the engine over HTTP, with its errors as problems."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth


def test_analyze_returns_signals_anger_and_abuse(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/v1/analyze",
        json={"text": "you people are USELESS, I want a full refund"},
        headers=auth(keys["agent"]),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    types = {s["type"] for s in body["signals"]}
    assert {"insult", "demand"} <= types
    assert body["abuse"] == "abusive"
    assert 0 < body["anger"] <= 1
    insult = next(s for s in body["signals"] if s["type"] == "insult")
    start, end = insult["span"]
    assert "USELESS" in "you people are USELESS, I want a full refund"[start:end]


def test_check_uses_the_context_and_reports_rewrites(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post(
        "/v1/check",
        json={
            "draft": "Calm down, you are wrong.",
            "context": [{"role": "customer", "text": "you idiots lost my parcel AGAIN"}],
        },
        headers=auth(keys["agent"]),
    )
    assert r.status_code == 200, r.text
    rules = {f["rule"] for f in r.json()["findings"]}
    assert {"B3", "B1", "B5"} <= rules  # B5 only fires because the context shows anger
    assert all(f["rewrite"] is not None for f in r.json()["findings"])
    assert r.json()["fixed"] != "Calm down, you are wrong."


def test_check_flags_a_blocking_draft(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/v1/check", json={"draft": "Shut up, you idiot."}, headers={"X-API-Key": keys["agent"]}
    )
    assert r.status_code == 200
    assert r.json()["blocked"] is True


def test_unknown_field_is_a_problem_naming_it(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/v1/check", json={"draft": "Hello", "contxt": []}, headers=auth(keys["agent"]))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "input_invalid"
    assert problem["status"] == 422
    assert any(e["loc"] == "body.contxt" for e in problem["errors"])
    assert "contxt" in problem["detail"]


def test_a_message_over_the_playbook_limit_is_413(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/v1/analyze", json={"text": "a" * 20_001}, headers=auth(keys["agent"]))
    assert r.status_code == 413
    assert r.json()["code"] == "message_too_long"
    assert "20000" in r.json()["detail"].replace(",", "")


def test_broken_json_is_a_clear_400(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/v1/analyze",
        content=b'{"text": "\xff\xfe broken',
        headers={**auth(keys["agent"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["code"] == "body_unreadable"
    assert "JSON" in r.json()["detail"]


def test_malformed_json_asks_for_the_key_and_role_first(
    client: TestClient, keys: dict[str, str]
) -> None:
    # FastAPI decodes the body before the route's dependencies: without care, a caller with
    # no key (or the wrong role) got the 422 of the JSON, not the 401 (or 403).
    broken = b'{"draft": "x",'
    json_header = {"Content-Type": "application/json"}
    r = client.post("/v1/check", content=broken, headers=json_header)
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"
    r = client.post("/v1/check", content=broken, headers={**json_header, **auth("cl_nope")})
    assert r.status_code == 401
    r = client.put("/v1/playbook", content=broken, headers={**json_header, **auth(keys["agent"])})
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    # With a key allowed on the route, the JSON's own error, with where it broke.
    r = client.post("/v1/check", content=broken, headers={**json_header, **auth(keys["agent"])})
    assert r.status_code == 422
    assert r.json()["code"] == "input_invalid"
    assert r.json()["errors"][0]["loc"].startswith("body")


def test_html_in_a_message_comes_back_as_data_not_markup(
    client: TestClient, keys: dict[str, str]
) -> None:
    text = "<script>alert('x')</script> you IDIOTS"
    r = client.post("/v1/analyze", json={"text": text}, headers=auth(keys["agent"]))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert any(s["type"] == "insult" for s in r.json()["signals"])
