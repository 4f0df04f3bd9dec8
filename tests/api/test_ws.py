"""WS /v1/conversations/{cid}/live: who may connect, the debounced draft check, events and the
hub's broadcast, and bad frames answered without closing the socket."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from calmline.api import create_app
from calmline.api.routes.ws import NOT_VISIBLE, FrameError, read_frame
from tests.api.conftest import auth, make_keys, make_settings

CID = "chat-1"
ANGRY = "you idiots lost my parcel AGAIN"
DRAFT = "Calm down, you are wrong."


def live(cid: str = CID) -> str:
    return f"/v1/conversations/{cid}/live"


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[FastAPI]:
    """The service with a short debounce and the smallest body limit, and Ana's conversation."""
    settings = make_settings(
        f"sqlite:///{tmp_path / 'calmline.db'}", tmp_path, ws_debounce_ms=40, max_body_bytes=1024
    )
    built = create_app(settings)
    built.state.services.conversations.open_conversation(
        CID, agent="Ana", team="north", customer_name="Jo"
    )
    yield built
    built.state.services.close()


@pytest.fixture
def live_client(live_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(live_app) as c:
        yield c


@pytest.fixture
def live_keys(live_app: FastAPI) -> dict[str, str]:
    return make_keys(live_app.state.services)


def refused(ws: WebSocketTestSession) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as caught:
        ws.receive_json()
    return caught.value


def event(event_id: str, kind: str, text: str = "") -> dict[str, Any]:
    return {"type": "event", "event": {"id": event_id, "kind": kind, "text": text}}


def rules(check: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in check["result"]["findings"]}


# ----- who may connect --------------------------------------------------------------------------


def test_no_key_is_refused_with_policy_close(live_client: TestClient) -> None:
    with live_client.websocket_connect(live()) as ws:
        closed = refused(ws)
    assert closed.code == 1008
    assert "API key is required" in closed.reason


def test_unknown_key_is_refused(live_client: TestClient) -> None:
    with live_client.websocket_connect(live(), headers=auth("cl_deadbeef_" + "x" * 40)) as ws:
        closed = refused(ws)
    assert closed.code == 1008
    assert "unknown or revoked" in closed.reason


def test_a_role_that_does_not_follow_conversations_is_refused(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    for role in ("trainer", "manager"):
        with live_client.websocket_connect(live(), headers=auth(live_keys[role])) as ws:
            closed = refused(ws)
        assert closed.code == 1008
        assert f"the {role} role" in closed.reason


def test_another_agents_conversation_looks_like_a_missing_one(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent2"])) as ws:
        other = refused(ws)
    with live_client.websocket_connect(live("nope"), headers=auth(live_keys["agent"])) as ws:
        missing = refused(ws)
    assert other.code == missing.code == 1008
    assert other.reason == missing.reason == NOT_VISIBLE


def test_admin_follows_any_conversation_and_hello_has_it(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers={"X-API-Key": live_keys["admin"]}) as ws:
        hello = ws.receive_json()
    assert hello["type"] == "hello"
    assert hello["conversation"]["id"] == CID
    assert hello["conversation"]["agent"] == "Ana"
    assert hello["guidance"] is None


def test_cookie_sign_in_needs_the_sites_own_origin(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    cookie = {"cookie": f"calmline_key={live_keys['agent']}"}
    for origin in ({}, {"origin": "https://evil.example"}, {"origin": "http://testserver.evil"}):
        with live_client.websocket_connect(live(), headers=cookie | origin) as ws:
            closed = refused(ws)
        assert closed.code == 1008, origin
        assert "Origin" in closed.reason
    same = cookie | {"origin": "http://testserver"}
    with live_client.websocket_connect(live(), headers=same) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_a_header_key_needs_no_origin(live_client: TestClient, live_keys: dict[str, str]) -> None:
    headers = auth(live_keys["agent"]) | {"origin": "https://integration.example"}
    with live_client.websocket_connect(live(), headers=headers) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_revoking_a_key_closes_its_open_sockets(
    live_app: FastAPI, live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        ws.send_json({"type": "draft", "text": "Hello", "seq": 1})
        assert ws.receive_json()["type"] == "check"
        live_app.state.services.keys.revoke(live_keys["agent"].split("_")[1])
        live_app.state.key_cache.forget()  # as if key_cache_seconds had passed
        ws.send_json({"type": "draft", "text": "Hello again", "seq": 2})
        closed = refused(ws)
    assert closed.code == 1008
    assert "revoked" in closed.reason


def test_the_open_sockets_gauge(live_client: TestClient, live_keys: dict[str, str]) -> None:
    def gauge() -> str:
        text = live_client.get("/metrics").text
        return next(
            line for line in text.splitlines() if line.startswith("calmline_websocket_sessions ")
        )

    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        assert gauge() == "calmline_websocket_sessions 1.0"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    # The server notices the close when it next reads; a refused socket never counts.
    with live_client.websocket_connect(live()) as ws:
        refused(ws)
    assert gauge() == "calmline_websocket_sessions 0.0"


# ----- drafts -------------------------------------------------------------------------------


def test_quick_drafts_give_one_check_of_the_newest(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        for seq, text in enumerate(["Calm", "Calm down", "Calm down, sir", "Shut up, you idiot."]):
            ws.send_json({"type": "draft", "text": text, "seq": seq})
        check = ws.receive_json()
        ws.send_json({"type": "ping"})
        after = ws.receive_json()
    assert check["type"] == "check"
    assert check["seq"] == 3
    assert check["result"]["draft"] == "Shut up, you idiot."
    assert check["result"]["blocked"] is True
    assert after == {"type": "pong"}  # no check of an older draft follows


def test_drafts_are_checked_in_the_stored_conversation(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        ws.send_json({"type": "draft", "text": DRAFT, "seq": 1})
        calm = ws.receive_json()
        ws.send_json(event("c1", "customer_message", ANGRY))
        guidance = ws.receive_json()
        ws.send_json({"type": "draft", "text": DRAFT, "seq": 2})
        upset = ws.receive_json()
    assert guidance["type"] == "guidance"
    assert "B5" not in rules(calm)  # B5 needs an upset customer in the context
    assert upset["seq"] == 2
    assert "B5" in rules(upset)


def test_the_context_follows_events_stored_elsewhere(
    live_app: FastAPI, live_client: TestClient, live_keys: dict[str, str]
) -> None:
    from datetime import UTC, datetime

    from calmline.api.hub import guidance_message
    from calmline.coach.events import Event, EventKind

    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        ws.send_json({"type": "draft", "text": DRAFT, "seq": 1})
        assert "B5" not in rules(ws.receive_json())
        # What a REST route does after it stores an event.
        angry = Event("c1", EventKind.CUSTOMER_MESSAGE, datetime.now(UTC), ANGRY)
        guidance = live_app.state.services.conversations.ingest(CID, angry)
        live_app.state.hub.publish(CID, guidance_message("c1", guidance))
        assert ws.receive_json()["event_id"] == "c1"
        ws.send_json({"type": "draft", "text": DRAFT, "seq": 2})
        assert "B5" in rules(ws.receive_json())


def test_hello_carries_the_latest_guidance(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        ws.send_json(event("c1", "customer_message", ANGRY))
        stored = ws.receive_json()
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        hello = ws.receive_json()
    assert hello["guidance"] == stored["guidance"]
    assert hello["conversation"]["event_count"] == 1


# ----- events and the hub -------------------------------------------------------------------


def test_an_event_reaches_every_open_socket_of_the_conversation(
    live_app: FastAPI, live_client: TestClient, live_keys: dict[str, str]
) -> None:
    services = live_app.state.services
    services.conversations.open_conversation("chat-2", agent="Ana", team="north")
    agent = auth(live_keys["agent"])
    with (
        live_client.websocket_connect(live(), headers=agent) as first,
        live_client.websocket_connect(live(), headers=auth(live_keys["admin"])) as second,
        live_client.websocket_connect(live("chat-2"), headers=agent) as elsewhere,
    ):
        for ws in (first, second, elsewhere):
            ws.receive_json()
        first.send_json(event("a1", "agent_message", "Thanks for waiting, I am on it."))
        got = [first.receive_json(), second.receive_json()]
        elsewhere.send_json({"type": "ping"})
        assert elsewhere.receive_json() == {"type": "pong"}  # nothing for chat-2
    for message in got:
        assert message["type"] == "guidance"
        assert message["event_id"] == "a1"
        assert message["guidance"]["event_kind"] == "agent_message"
    stored = services.conversations.events(CID)
    assert [e.event.author for e in stored] == ["Ana"]


def test_an_event_posted_over_rest_reaches_an_open_socket(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        r = live_client.post(
            f"/v1/conversations/{CID}/events",
            json={"id": "r1", "kind": "customer_message", "text": ANGRY},
            headers=auth(live_keys["agent"]),
        )
        assert r.status_code == 200, r.text
        message = ws.receive_json()
    assert message["type"] == "guidance"
    assert message["event_id"] == "r1"
    assert message["guidance"] == r.json()["guidance"]


def test_a_refused_event_is_an_error_frame(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        ws.send_json(event("e1", "customer_message", ""))  # a message needs text
        empty = ws.receive_json()
        ws.send_json(event("e2", "customer_message", "where is my order"))
        assert ws.receive_json()["type"] == "guidance"
        ws.send_json(event("e2", "customer_message", "other words, same id"))
        conflict = ws.receive_json()
    assert empty["type"] == conflict["type"] == "error"
    assert empty["code"] == conflict["code"] == "event_invalid"
    assert "needs text" in empty["detail"]


# ----- bad frames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        ("{not json", "frame_unreadable", "JSON object"),
        ("[1, 2]", "frame_unreadable", "JSON object"),
        ('{"type": "shout"}', "input_invalid", "'shout'"),
        ('{"text": "hi"}', "input_invalid", "expected one of draft, event, ping"),
        ('{"type": "draft", "text": "hi", "seq": 1, "colour": "red"}', "input_invalid", "colour"),
        ('{"type": "draft", "text": "hi"}', "input_invalid", "seq"),
        ('{"type": "event", "event": {"id": "x", "kind": "sms"}}', "input_invalid", "event.kind"),
    ],
)
def test_a_bad_frame_is_an_error_frame_and_the_socket_stays_open(
    live_client: TestClient, live_keys: dict[str, str], frame: str, code: str, words: str
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        ws.send_text(frame)
        error = ws.receive_json()
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    assert error["type"] == "error"
    assert error["code"] == code
    assert words in error["detail"]


def test_a_binary_frame_is_an_error_frame(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        ws.send_bytes(b'{"type": "ping"}')
        assert ws.receive_json()["code"] == "frame_unreadable"


def test_a_frame_over_the_body_limit_closes_1009(
    live_client: TestClient, live_keys: dict[str, str]
) -> None:
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        # 400 characters of two bytes each: small by count, over 1024 bytes in UTF-8.
        ws.send_json({"type": "draft", "text": "é" * 600, "seq": 1})
        closed = refused(ws)
    assert closed.code == 1009
    assert "1,024" in closed.reason


def test_a_stray_type_is_not_quoted_back() -> None:
    for text in ('{"type": "my card is 4111 1111 1111 1111"}', '{"type": 4111}'):
        with pytest.raises(FrameError) as caught:
            read_frame(text)
        assert "4111" not in caught.value.detail
        assert "type: missing" in caught.value.detail


def test_frames_are_never_logged(
    live_client: TestClient, live_keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "4111 1111 1111 1111"
    caplog.set_level(logging.DEBUG)
    with live_client.websocket_connect(live(), headers=auth(live_keys["agent"])) as ws:
        ws.receive_json()
        ws.send_json({"type": "draft", "text": f"your card {secret} is blocked", "seq": 1})
        ws.receive_json()
        ws.send_json(event("s1", "customer_message", f"my card is {secret}"))
        ws.receive_json()
        ws.send_text(f'{{"type": "draft", "seq": 2, "text": "{secret}", "x": 1}}')
        ws.receive_json()
    records = [r for r in caplog.records if r.name.startswith("calmline")]
    assert any('"event": "websocket"' in r.getMessage() for r in records)
    session = next(r.getMessage() for r in records if '"event": "websocket"' in r.getMessage())
    assert '"frames": 3' in session and '"checks": 1' in session and '"events": 1' in session
    for record in records:
        assert "4111" not in record.getMessage()


def test_the_keys_rate_limit_counts_connections_checks_and_events(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'calmline.db'}", tmp_path, ws_debounce_ms=0, rate_limit="3/minute"
    )
    built = create_app(settings)
    built.state.services.conversations.open_conversation(CID, agent="Ana", team="north")
    tokens = make_keys(built.state.services)
    try:
        with TestClient(built) as c:
            with c.websocket_connect(live(), headers=auth(tokens["agent"])) as ws:  # 1
                ws.receive_json()
                ws.send_json({"type": "draft", "text": "Thanks for waiting.", "seq": 1})  # 2
                assert ws.receive_json()["type"] == "check"
                ws.send_json(event("a1", "agent_message", "Thanks for waiting."))  # 3
                assert ws.receive_json()["type"] == "guidance"
                ws.send_json({"type": "draft", "text": "One more thing", "seq": 2})
                limited = ws.receive_json()
                ws.send_json({"type": "ping"})  # pings are free
                assert ws.receive_json() == {"type": "pong"}
            with c.websocket_connect(live(), headers=auth(tokens["agent"])) as ws:
                closed = refused(ws)
    finally:
        built.state.services.close()
    assert limited["type"] == "error"
    assert limited["code"] == "rate_limited"
    assert closed.code == 1013
    assert "rate limit" in closed.reason
