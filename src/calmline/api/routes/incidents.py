"""Incidents (D6) for line managers: list, read and acknowledge them (D7).

A manager sees the incidents of their team's conversations; an admin all of them. Another
team's incident answers as one that does not exist (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from calmline.api.access import visible_incident
from calmline.api.deps import Manager, ServicesDep
from calmline.api.schemas.incidents import IncidentList, IncidentPublic
from calmline.api.services import Services
from calmline.store.keys import ApiKey, Role
from calmline.store.records import StoredIncident

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])

#: The most incidents one listing returns.
MAX_INCIDENTS = 1000

RedactNames = Annotated[
    bool,
    Query(description="drop the customer's, agent's and manager's names (for sharing)"),
]


def visible(services: Services, key: ApiKey, incident_id: int) -> StoredIncident:
    """The incident when the key may see it; else the same 404 as for an unknown id."""
    return visible_incident(key, services.conversations.incident(incident_id))


@router.get("", response_model=IncidentList, summary="List incidents")
def list_incidents(
    services: ServicesDep,
    key: Manager,
    unacknowledged: Annotated[bool, Query(description="only those not acknowledged")] = False,
    since: Annotated[
        datetime | None, Query(description="ended at or after (ISO 8601 with a zone)")
    ] = None,
    customer: Annotated[str | None, Query(description="a customer id or name")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_INCIDENTS)] = 100,
    redact_names: RedactNames = False,
) -> Any:
    """The incidents the key may see, the most recently ended first."""
    found = services.conversations.incidents(
        customer=customer,
        since=since,
        unacknowledged=unacknowledged,
        limit=limit,
        team=key.team if key.role is Role.MANAGER else None,
    )
    return {"incidents": [i.to_dict(redact_names=redact_names) for i in found]}


@router.get("/{incident_id}", response_model=IncidentPublic, summary="Read an incident")
def read_incident(
    incident_id: int, services: ServicesDep, key: Manager, redact_names: RedactNames = False
) -> Any:
    """The incident record: key points, demands, threats, the protocol timeline, the note."""
    return visible(services, key, incident_id).to_dict(redact_names=redact_names)


@router.post("/{incident_id}/ack", response_model=IncidentPublic, summary="Acknowledge an incident")
def acknowledge(incident_id: int, services: ServicesDep, key: Manager) -> Any:
    """Record that the key's holder has seen the incident. Again by the same person changes
    nothing; by someone else after a first acknowledgement it is a 409."""
    incident = visible(services, key, incident_id)
    if incident.acknowledged and incident.acknowledged_by != key.name:
        when = incident.acknowledged_at.isoformat() if incident.acknowledged_at else ""
        raise HTTPException(
            409,
            f"incident {incident_id} was already acknowledged by {incident.acknowledged_by} "
            f"at {when}",
        )
    return services.conversations.acknowledge(incident_id, key.name).to_dict()
