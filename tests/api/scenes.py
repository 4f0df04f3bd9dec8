"""Conversations played over HTTP for the API tests, from tests/cases/store/conversations.yml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from tests.api.conftest import auth

CASES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parents[1] / "cases" / "store" / "conversations.yml").read_text("utf-8")
)
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def events_of(name: str) -> list[dict[str, Any]]:
    """The case's events as EventCreate bodies (ids e1, e2 ...)."""
    bodies = []
    for number, item in enumerate(CASES[name]["events"], 1):
        kind, text = next((k, item[k]) for k in ("customer", "agent", "draft", "end") if k in item)
        bodies.append(
            {
                "id": f"e{number}",
                "kind": {
                    "customer": "customer_message",
                    "agent": "agent_message",
                    "draft": "agent_draft",
                    "end": "conversation_end",
                }[kind],
                "text": text or "",
                "at": at(item["at"]),
            }
        )
    return bodies


def open_conversation(client: TestClient, token: str, cid: str, **details: Any) -> dict[str, Any]:
    r = client.post("/v1/conversations", json={"id": cid, **details}, headers=auth(token))
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def play(client: TestClient, token: str, name: str, cid: str) -> list[dict[str, Any]]:
    """Open ``cid`` with ``token`` and send every event of case ``name``; the guidance of each."""
    open_conversation(client, token, cid, customer_name=CASES[name].get("customer_name"))
    guidance = []
    for body in events_of(name):
        r = client.post(f"/v1/conversations/{cid}/events", json=body, headers=auth(token))
        assert r.status_code == 200, r.text
        guidance.append(r.json()["guidance"])
    return guidance
