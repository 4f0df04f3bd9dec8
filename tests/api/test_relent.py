"""POST /v1/relent: the inputs of `calmline relent` as JSON, the advice as its JSON output."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth


def test_advice_from_figures(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/v1/relent",
        json={
            "policy": "50%",
            "demand": "100%",
            "claim": 640,
            "annual_spend": 1200,
            "tenure": 6,
            "threats": ["public", "churn"],
            "audience": 20000,
            "name": "Dana",
        },
        headers=auth(keys["agent"]),
    )
    assert r.status_code == 200, r.text
    advice = r.json()
    assert advice["recommendation"] in {"stand_firm", "bargain", "grant"}
    assert {o["option"] for o in advice["options"]} == {"stand_firm", "bargain", "grant"}
    assert advice["request"]["threats"] == ["threat.churn", "threat.public"]
    assert advice["request"]["tenure_years"] == 6
    assert advice["wording"]


def test_the_demand_is_read_from_the_message(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/v1/relent",
        json={
            "policy": 60,
            "message": "I want a full refund of £120 or I will never shop with you again",
        },
        headers=auth(keys["trainer"]),
    )
    assert r.status_code == 200, r.text
    assert r.json()["demand"] == 120
    assert "threat.churn" in r.json()["request"]["threats"]


def test_bad_input_says_which_field(client: TestClient, keys: dict[str, str]) -> None:
    headers = auth(keys["manager"])
    nothing = client.post("/v1/relent", json={"policy": "50%"}, headers=headers)
    assert nothing.status_code == 422 and "demand" in nothing.json()["detail"]
    bad = client.post("/v1/relent", json={"policy": "half", "demand": 100}, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("policy:")
    above = client.post("/v1/relent", json={"policy": 200, "demand": 100}, headers=headers)
    assert above.status_code == 422
    threat = client.post(
        "/v1/relent", json={"policy": 50, "demand": 100, "threats": ["sue"]}, headers=headers
    )
    assert threat.status_code == 422 and threat.json()["errors"][0]["loc"].startswith(
        "body.threats"
    )
