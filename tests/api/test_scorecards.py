"""GET /v1/scorecards: per agent, the sent messages' findings, credits, incidents and a score."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.scenes import open_conversation, play


def cards(client: TestClient, token: str, **params: object) -> dict[str, dict[str, object]]:
    r = client.get("/v1/scorecards", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    return {card["agent"]: card for card in r.json()["agents"]}


def test_scorecards_count_sent_messages_and_incidents(
    any_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = any_client
    play(client, keys["agent"], "protocol_end", "north-1")
    open_conversation(client, keys["agent"], "north-2")
    url = "/v1/conversations/north-2/events"
    for number, (kind, text) in enumerate(
        [
            ("customer_message", "my parcel is late again"),
            ("agent_draft", "Shut up, you idiot."),  # a draft: not counted
            ("agent_message", "Calm down, you are wrong."),
        ]
    ):
        r = client.post(
            url, json={"id": f"n{number}", "kind": kind, "text": text}, headers=auth(keys["agent"])
        )
        assert r.status_code == 200, r.text
    play(client, keys["agent2"], "safety_threat", "south-1")

    north = cards(client, keys["manager"])
    assert set(north) == {"Ana"}
    ana = north["Ana"]
    assert ana["team"] == "north"
    assert ana["conversations"] == 2
    assert ana["messages"] == 6  # five in the protocol case, one in north-2
    findings = ana["findings_by_principle"]
    assert isinstance(findings, dict) and findings.get("B3", 0) >= 1
    assert ana["incidents"] == ana["ended_by_protocol"] == 1
    assert isinstance(ana["score"], int) and 0 <= ana["score"] < 100

    everyone = cards(client, keys["admin"])
    assert set(everyone) == {"Ana", "Ben"}
    assert everyone["Ben"]["incidents"] == 1 and everyone["Ben"]["ended_by_protocol"] == 0
    assert set(cards(client, keys["admin"], team="south")) == {"Ben"}
    assert cards(client, keys["admin"], since="2099-01-01T00:00:00Z") == {}


def test_a_manager_sees_only_their_own_team(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/v1/scorecards?team=south", headers=auth(keys["manager"]))
    assert r.status_code == 403
    assert client.get("/v1/scorecards?team=north", headers=auth(keys["manager"])).status_code == 200
    assert client.get("/v1/scorecards", headers=auth(keys["agent"])).status_code == 403
