"""Rows and events for the storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calmline.store.models import Conversation

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """``seconds`` after the start of the test conversation."""
    return T0 + timedelta(seconds=seconds)


def conversation_row(external_id: str, **values: object) -> Conversation:
    fields: dict[str, object] = {
        "external_id": external_id,
        "channel": "chat",
        "created_at": T0,
        "state": "calm",
        "protocol_stage": "none",
    }
    fields.update(values)
    return Conversation(**fields)
