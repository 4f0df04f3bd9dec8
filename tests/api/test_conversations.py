"""Conversations over HTTP: opening, scope (own, team, all), idempotent events, conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.scenes import CASES, at, open_conversation, play

MESSAGE = {"id": "m1", "kind": "customer_message", "text": "you idiots lost my parcel AGAIN"}


def test_an_agent_opens_a_conversation_as_themselves(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post(
        "/v1/conversations",
        json={"id": "chat-1", "customer_name": "Dana Whitfield", "channel": "email"},
        headers=auth(keys["agent"]),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["agent"], body["team"], body["channel"]) == ("Ana", "north", "email")
    assert body["event_count"] == 0 and body["closed_at"] is None

    again = client.post(
        "/v1/conversations",
        json={"id": "chat-1", "customer_name": "Dana Whitfield"},
        headers=auth(keys["agent"]),
    )
    assert again.status_code == 200
    assert again.json() == body

    other = client.post(
        "/v1/conversations",
        json={"id": "chat-1", "customer_name": "Someone Else"},
        headers=auth(keys["agent"]),
    )
    assert other.status_code == 409
    assert "customer_name" in other.json()["detail"]


def test_an_agent_cannot_open_one_for_someone_else(
    client: TestClient, keys: dict[str, str]
) -> None:
    for extra in ({"agent": "Ben"}, {"team": "south"}):
        r = client.post(
            "/v1/conversations", json={"id": "chat-2", **extra}, headers=auth(keys["agent"])
        )
        assert r.status_code == 403, extra
    assert client.get("/v1/conversations/chat-2", headers=auth(keys["admin"])).status_code == 404


def test_an_admin_opens_one_for_an_agent_and_a_taken_id_is_409(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post(
        "/v1/conversations",
        json={"id": "chat-3", "agent": "Ben", "team": "south"},
        headers=auth(keys["admin"]),
    )
    assert r.status_code == 201
    assert client.get("/v1/conversations/chat-3", headers=auth(keys["agent2"])).status_code == 200
    taken = client.post("/v1/conversations", json={"id": "chat-3"}, headers=auth(keys["agent"]))
    assert taken.status_code == 409
    assert "Ben" not in taken.json()["detail"]


def test_someone_elses_conversation_answers_like_an_unknown_one(
    client: TestClient, keys: dict[str, str]
) -> None:
    open_conversation(client, keys["agent"], "ana-1")
    for token in (keys["agent2"], keys["manager_south"]):
        hidden = client.get("/v1/conversations/ana-1", headers=auth(token))
        unknown = client.get("/v1/conversations/no-such", headers=auth(token))
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json()["code"] == unknown.json()["code"] == "conversation_unknown"
        assert hidden.json()["detail"].replace("ana-1", "X") == unknown.json()["detail"].replace(
            "no-such", "X"
        )
        assert client.get("/v1/conversations/ana-1/events", headers=auth(token)).status_code == 404
    sent = client.post("/v1/conversations/ana-1/events", json=MESSAGE, headers=auth(keys["agent2"]))
    assert sent.status_code == 404
    assert client.get("/v1/conversations/ana-1", headers=auth(keys["manager"])).status_code == 200


def test_listings_are_scoped_to_the_key(client: TestClient, keys: dict[str, str]) -> None:
    open_conversation(client, keys["agent"], "ana-1")
    open_conversation(client, keys["agent"], "ana-2")
    open_conversation(client, keys["agent2"], "ben-1")

    def ids(token: str, **params: Any) -> list[str]:
        r = client.get("/v1/conversations", params=params, headers=auth(token))
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["conversations"]]

    assert ids(keys["agent"]) == ["ana-2", "ana-1"]
    assert ids(keys["agent2"]) == ["ben-1"]
    assert ids(keys["manager"]) == ["ana-2", "ana-1"]
    assert ids(keys["manager_south"]) == ["ben-1"]
    assert ids(keys["admin"]) == ["ben-1", "ana-2", "ana-1"]
    assert ids(keys["admin"], limit=1) == ["ben-1"]
    assert client.get("/v1/conversations?limit=0", headers=auth(keys["admin"])).status_code == 422


def test_an_event_sent_twice_gets_the_same_guidance_and_is_stored_once(
    client: TestClient, keys: dict[str, str]
) -> None:
    open_conversation(client, keys["agent"], "c1")
    url, headers = "/v1/conversations/c1/events", auth(keys["agent"])
    first = client.post(url, json=MESSAGE, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["event_id"] == "m1"
    assert first.json()["guidance"]["state"] == "abusive"
    # no "at": the server timed the first one; a retry is still the same event
    again = client.post(url, json=MESSAGE, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    timed = {**MESSAGE, "id": "m2", "at": later}
    assert client.post(url, json=timed, headers=headers).status_code == 200
    assert client.post(url, json=timed, headers=headers).status_code == 200
    events = client.get(url, headers=headers).json()["events"]
    assert [(e["seq"], e["event"]["id"]) for e in events] == [(1, "m1"), (2, "m2")]
    assert events[0]["guidance"] == first.json()["guidance"]


def test_an_event_id_reused_for_other_content_is_409(
    client: TestClient, keys: dict[str, str]
) -> None:
    open_conversation(client, keys["agent"], "c1")
    url, headers = "/v1/conversations/c1/events", auth(keys["agent"])
    assert client.post(url, json=MESSAGE, headers=headers).status_code == 200
    changed = client.post(url, json={**MESSAGE, "text": "never mind"}, headers=headers)
    assert changed.status_code == 409
    assert changed.json()["code"] == "event_invalid"
    assert "m1" in changed.json()["detail"]
    retimed = client.post(url, json={**MESSAGE, "at": at(-3600)}, headers=headers)
    assert retimed.status_code == 409
    assert len(client.get(url, headers=headers).json()["events"]) == 1


def test_event_errors_are_problems(client: TestClient, keys: dict[str, str]) -> None:
    open_conversation(client, keys["agent"], "c1")
    url, headers = "/v1/conversations/c1/events", auth(keys["agent"])
    assert client.post("/v1/conversations/nope/events", json=MESSAGE, headers=headers).json()[
        "code"
    ] == ("conversation_unknown")
    empty = client.post(url, json={"id": "x", "kind": "customer_message"}, headers=headers)
    assert (empty.status_code, empty.json()["code"]) == (422, "event_invalid")
    naive = client.post(url, json={**MESSAGE, "at": "2026-11-30T10:00:00"}, headers=headers)
    assert (naive.status_code, naive.json()["code"]) == (422, "event_invalid")
    kind = client.post(url, json={**MESSAGE, "kind": "shout"}, headers=headers)
    assert kind.status_code == 422 and kind.json()["errors"][0]["loc"] == "body.kind"
    assert client.post(url, json={**MESSAGE, "at": at(60)}, headers=headers).status_code == 200
    older = client.post(url, json={**MESSAGE, "id": "m0", "at": at(0)}, headers=headers)
    assert (older.status_code, older.json()["code"]) == (409, "event_out_of_order")


def test_a_conversation_played_to_the_end_has_an_incident_and_is_closed(
    any_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = any_client
    guidance = play(client, keys["agent"], "protocol_end", "chat-9")
    assert guidance[-1]["incident"]["reason"] == "protocol_end"
    assert guidance[-1]["notify_manager"] is True
    read = client.get("/v1/conversations/chat-9", headers=auth(keys["manager"])).json()
    assert read["closed_at"] is not None and read["protocol_stage"] == "ended"
    assert read["guidance"] == guidance[-1]
    late = client.post(
        "/v1/conversations/chat-9/events",
        json={"id": "late", "kind": "customer_message", "text": "hello?", "at": at(999)},
        headers=auth(keys["agent"]),
    )
    assert (late.status_code, late.json()["code"]) == (409, "conversation_closed")
    metrics = client.get("/metrics").text
    assert "calmline_incidents_total 1.0" in metrics


def test_script_and_markup_come_back_verbatim_as_data(
    client: TestClient, keys: dict[str, str]
) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
    opened = open_conversation(client, keys["agent"], "c1", customer_name=payload)
    assert opened["customer_name"] == payload
    r = client.post(
        "/v1/conversations/c1/events",
        json={"id": "<b>1</b>", "kind": "customer_message", "text": payload},
        headers=auth(keys["agent"]),
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    events = client.get("/v1/conversations/c1/events", headers=auth(keys["agent"])).json()
    assert events["events"][0]["event"]["text"] == payload
    assert events["events"][0]["event"]["id"] == "<b>1</b>"


class RecordingHub:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, conversation_id: str, message: dict[str, Any]) -> int:
        self.sent.append((conversation_id, message))
        return 0


def test_a_stored_event_is_published_to_the_hub_once(
    app: FastAPI, client: TestClient, keys: dict[str, str]
) -> None:
    hub = RecordingHub()
    app.state.hub = hub
    open_conversation(client, keys["agent"], "c1")
    url, headers = "/v1/conversations/c1/events", auth(keys["agent"])
    r = client.post(url, json=MESSAGE, headers=headers)
    client.post(url, json=MESSAGE, headers=headers)  # a retry: nothing new to tell
    assert hub.sent == [
        ("c1", {"type": "guidance", "event_id": "m1", "guidance": r.json()["guidance"]})
    ]


def test_the_case_file_is_the_one_the_store_tests_use() -> None:
    assert CASES["protocol_end"]["expect"]["incident"] == "protocol_end"


def test_an_event_far_ahead_of_the_servers_clock_is_refused(
    client: TestClient, keys: dict[str, str]
) -> None:
    """Stored, it would stay the newest event and every real one after it would be a 409."""
    open_conversation(client, keys["agent"], "ahead-1")
    url = "/v1/conversations/ahead-1/events"
    later = (datetime.now(UTC) + timedelta(days=3650)).isoformat()
    r = client.post(url, json={**MESSAGE, "at": later}, headers=auth(keys["agent"]))
    assert (r.status_code, r.json()["code"]) == (422, "event_invalid"), r.text
    assert "after the server's time" in r.json()["detail"]
    assert client.get(url, headers=auth(keys["agent"])).json()["events"] == []
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    r = client.post(url, json={**MESSAGE, "id": "m2", "at": soon}, headers=auth(keys["agent"]))
    assert r.status_code == 200, r.text
