"""Retries of an event: answered from the store, never announced or counted twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.scenes import open_conversation
from tests.api.test_conversations import RecordingHub

TIMED = {
    "id": "m1",
    "kind": "customer_message",
    "text": "you idiots lost my parcel AGAIN",
    "at": datetime(2026, 11, 30, 9, 0, tzinfo=UTC).isoformat(),
}


@pytest.mark.parametrize("body", [TIMED, {k: v for k, v in TIMED.items() if k != "at"}])
def test_a_retry_is_neither_announced_nor_counted_again(
    app: FastAPI, client: TestClient, keys: dict[str, str], body: dict[str, str]
) -> None:
    hub = RecordingHub()
    app.state.hub = hub
    open_conversation(client, keys["agent"], "c1")
    url, headers = "/v1/conversations/c1/events", auth(keys["agent"])
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["guidance"] == first.json()["guidance"]
    assert len(hub.sent) == 1
    metrics = client.get("/metrics").text
    assert 'calmline_signals_total{type="insult"} 1.0' in metrics


def test_a_timed_event_sent_again_at_another_time_is_a_conflict(
    client: TestClient, keys: dict[str, str]
) -> None:
    open_conversation(client, keys["agent"], "c2")
    url, headers = "/v1/conversations/c2/events", auth(keys["agent"])
    assert client.post(url, json=TIMED, headers=headers).status_code == 200
    moved = {**TIMED, "at": datetime(2026, 11, 30, 9, 5, tzinfo=UTC).isoformat()}
    r = client.post(url, json=moved, headers=headers)
    assert (r.status_code, r.json()["code"]) == (409, "event_invalid")
