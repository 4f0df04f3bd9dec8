"""Bodies of the incident routes (D6 records and their acknowledgement, D7)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from calmline.api.schemas.common import Public


class IncidentPublic(Public):
    """StoredIncident.to_dict(): the coach's record plus its id, team and acknowledgement."""

    id: int
    conversation_id: str
    customer_id: str | None
    customer_name: str | None
    agent: str | None
    team: str | None
    reason: str = Field(examples=["protocol_end"])
    opened_at: str
    closed_at: str
    summary: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None
    timeline: list[dict[str, Any]] = Field(default_factory=list)
    key_points: list[dict[str, Any]] = Field(default_factory=list)
    note: str | None = None


class IncidentList(Public):
    incidents: list[IncidentPublic]
