"""Two agents of one name in two teams: each sees only their own team's conversations, and the
scorecards keep them apart."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from calmline.store.keys import Role
from tests.api.conftest import auth


def test_namesakes_in_two_teams_do_not_see_each_other(
    app: FastAPI, client: TestClient, keys: dict[str, str]
) -> None:
    _key, other_ana = app.state.services.keys.create("Ana", Role.AGENT, "south")
    assert (
        client.post("/v1/conversations", json={"id": "n1"}, headers=auth(keys["agent"])).status_code
        == 201
    )
    assert (
        client.post("/v1/conversations", json={"id": "s1"}, headers=auth(other_ana)).status_code
        == 201
    )

    listed = client.get("/v1/conversations", headers=auth(other_ana)).json()["conversations"]
    assert [c["id"] for c in listed] == ["s1"]
    r = client.get("/v1/conversations/n1", headers=auth(other_ana))
    assert (r.status_code, r.json()["code"]) == (404, "conversation_unknown")

    event = {"id": "m1", "kind": "agent_message", "text": "Thanks for waiting, I am on it."}
    for cid, token in (("n1", keys["agent"]), ("s1", other_ana)):
        r = client.post(f"/v1/conversations/{cid}/events", json=event, headers=auth(token))
        assert r.status_code == 200, r.text
    cards = client.get("/v1/scorecards", headers=auth(keys["admin"])).json()["agents"]
    assert sorted((c["agent"], c["team"], c["messages"]) for c in cards) == [
        ("Ana", "north", 1),
        ("Ana", "south", 1),
    ]
