"""Roleplay over HTTP: a session played reply by reply, its debrief recorded once in progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from calmline.errors import StoreError
from tests.api.conftest import auth

GOOD: list[str] = yaml.safe_load(
    (Path(__file__).parents[1] / "cases" / "trainer" / "insulter.yml").read_text("utf-8")
)["good"]


def start(client: TestClient, token: str, **body: Any) -> dict[str, Any]:
    r = client.post(
        "/v1/training/sessions",
        json={"scenario": "insulter", "seed": 1, **body},
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    started: dict[str, Any] = r.json()
    return started


def play_to_the_end(client: TestClient, token: str, sid: str) -> list[dict[str, Any]]:
    answers = []
    for turn in range(30):
        text = GOOD[min(turn, len(GOOD) - 1)]
        r = client.post(
            f"/v1/training/sessions/{sid}/replies",
            json={"text": text, "turn": turn},
            headers=auth(token),
        )
        assert r.status_code == 200, r.text
        answers.append(r.json())
        if r.json()["done"]:
            return answers
    raise AssertionError("the session never ended")


def test_scenarios_list_with_briefings(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/v1/training/scenarios", headers=auth(keys["agent"]))
    assert r.status_code == 200
    scenarios = {s["id"]: s for s in r.json()["scenarios"]}
    insulter = scenarios["insulter"]
    assert insulter["title"] and insulter["customer"] == "Dean Kowalczyk"
    assert insulter["difficulty"] in {"easy", "medium", "hard"}
    assert insulter["briefing"]["can_offer"]
    assert "B7" in insulter["principles"]


def test_a_full_session_reaches_a_debrief_recorded_in_progress(
    any_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = any_client
    token = keys["agent"]
    started = start(client, token)
    assert started["trainee"] == "Ana" and started["replies"] == 0
    assert [t["role"] for t in started["turns"]] == ["customer"]
    assert not started["done"] and started["outcome"] is None
    sid = started["id"]
    early = client.get(f"/v1/training/sessions/{sid}/debrief", headers=auth(token))
    assert (early.status_code, early.json()["code"]) == (409, "practice_conflict")

    answers = play_to_the_end(client, token, sid)
    assert all(a["customer"]["band"] is None for a in answers[:-1])  # the mood stays hidden
    last = answers[-1]
    assert last["customer"]["outcome"] == last["outcome"] == "resolved"
    assert last["customer"]["band"] is not None
    assert len(last["turns"]) == 2 * len(answers) + 1

    after = client.post(
        f"/v1/training/sessions/{sid}/replies", json={"text": "Anything else?"}, headers=auth(token)
    )
    assert (after.status_code, after.json()["code"]) == (409, "practice_conflict")

    debrief = client.get(f"/v1/training/sessions/{sid}/debrief", headers=auth(token))
    assert debrief.status_code == 200, debrief.text
    assert debrief.json()["outcome"] == "resolved"
    assert debrief.json()["trainee"] == "Ana"
    assert 0 <= debrief.json()["scores"]["overall"] <= 100
    again = client.get(f"/v1/training/sessions/{sid}/debrief", headers=auth(keys["trainer"]))
    assert again.json()["scores"] == debrief.json()["scores"]

    progress = client.get("/v1/training/progress/Ana", headers=auth(token))
    assert progress.status_code == 200, progress.text
    assert progress.json()["sessions"] == 1  # read twice, recorded once
    assert progress.json()["scenarios"][0]["scenario"] == "insulter"
    read = client.get(f"/v1/training/sessions/{sid}", headers=auth(token)).json()
    assert read["debriefed"] is True and read["finished_at"] is not None


def test_a_stale_turn_is_a_conflict_and_stores_nothing(
    client: TestClient, keys: dict[str, str]
) -> None:
    token = keys["agent"]
    sid = start(client, token)["id"]
    url = f"/v1/training/sessions/{sid}/replies"
    assert (
        client.post(url, json={"text": GOOD[0], "turn": 0}, headers=auth(token)).status_code == 200
    )
    stale = client.post(url, json={"text": GOOD[0], "turn": 0}, headers=auth(token))
    assert (stale.status_code, stale.json()["code"]) == (409, "practice_conflict")
    blank = client.post(url, json={"text": "   ", "turn": 1}, headers=auth(token))
    assert (blank.status_code, blank.json()["code"]) == (422, "training_invalid")
    assert client.get(f"/v1/training/sessions/{sid}", headers=auth(token)).json()["replies"] == 1


def test_agents_train_as_themselves_and_see_only_their_sessions(
    client: TestClient, keys: dict[str, str]
) -> None:
    forbidden = client.post(
        "/v1/training/sessions",
        json={"scenario": "insulter", "trainee": "Ben"},
        headers=auth(keys["agent"]),
    )
    assert forbidden.status_code == 403
    bens = start(client, keys["trainer"], trainee="Ben")
    assert bens["trainee"] == "Ben"
    sid = bens["id"]
    for path in ("", "/debrief"):
        hidden = client.get(f"/v1/training/sessions/{sid}{path}", headers=auth(keys["agent"]))
        assert (hidden.status_code, hidden.json()["code"]) == (404, "practice_unknown")
    reply = client.post(
        f"/v1/training/sessions/{sid}/replies", json={"text": "Hi"}, headers=auth(keys["agent"])
    )
    assert reply.status_code == 404
    assert (
        client.get(f"/v1/training/sessions/{sid}", headers=auth(keys["agent2"])).status_code == 200
    )
    assert (
        client.get(f"/v1/training/sessions/{sid}", headers=auth(keys["manager"])).status_code == 403
    )
    progress = client.get("/v1/training/progress/Ben", headers=auth(keys["agent"]))
    assert (progress.status_code, progress.json()["code"]) == (404, "trainee_unknown")


def test_an_agent_without_a_finished_session_has_empty_progress(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.get("/v1/training/progress/Ana", headers=auth(keys["agent"]))
    assert r.status_code == 200, r.text
    assert r.json()["sessions"] == 0 and r.json()["scenarios"] == []


def test_bad_requests(client: TestClient, keys: dict[str, str]) -> None:
    headers = auth(keys["trainer"])
    unknown = client.post("/v1/training/sessions", json={"scenario": "nope"}, headers=headers)
    assert unknown.status_code == 422 and "insulter" in unknown.json()["detail"]
    seed = client.post(
        "/v1/training/sessions", json={"scenario": "insulter", "seed": -1}, headers=headers
    )
    assert seed.status_code == 422
    assert client.get("/v1/training/sessions/nope", headers=headers).status_code == 404
    assert client.get("/v1/training/progress/Nobody", headers=headers).status_code == 404


def test_the_same_seed_plays_the_same_way(client: TestClient, keys: dict[str, str]) -> None:
    first = start(client, keys["agent"], seed=7)
    second = start(client, keys["agent"], seed=7)
    assert first["id"] != second["id"]
    assert first["turns"] == second["turns"]


def test_markup_in_a_reply_comes_back_verbatim(client: TestClient, keys: dict[str, str]) -> None:
    sid = start(client, keys["agent"])["id"]
    text = "<script>alert('x')</script> I'm sorry, <b>Dean</b> & I will fix it."
    r = client.post(
        f"/v1/training/sessions/{sid}/replies", json={"text": text}, headers=auth(keys["agent"])
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["turns"][1] == {
        "role": "trainee",
        "text": text,
        "seconds": r.json()["turns"][1]["seconds"],
    }


def test_a_debrief_is_recorded_once_even_when_linking_it_would_fail(
    client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording the debrief and linking it to the practice session are one write: a failure
    between two separate writes used to leave a recorded debrief that the next read recorded
    again."""
    token = keys["agent"]
    sid = start(client, token)["id"]
    play_to_the_end(client, token, sid)
    services = client.app.state.services  # type: ignore[attr-defined]

    def broken(*_args: object, **_kwargs: object) -> None:
        raise StoreError("the database went away")

    monkeypatch.setattr(services.practice, "finish", broken)
    for _ in range(2):
        assert client.get(f"/v1/training/sessions/{sid}/debrief", headers=auth(token)).is_success
    assert len(services.training.sessions("Ana")) == 1
    assert services.practice.get(sid).training_session_id is not None
