"""``GET /v1/scorecards``: per agent, what their sent messages showed (for line managers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from calmline.api.deps import Manager, ServicesDep
from calmline.api.schemas.scorecards import ScorecardList
from calmline.store.keys import Role
from calmline.store.scorecards import scorecards as compute

router = APIRouter(prefix="/v1", tags=["scorecards"])


@router.get("/scorecards", response_model=ScorecardList, summary="Scorecards per agent")
def scorecards(
    services: ServicesDep,
    key: Manager,
    since: Annotated[
        datetime | None, Query(description="conversations opened at or after (ISO 8601)")
    ] = None,
    team: Annotated[str | None, Query(description="admins: one team's agents")] = None,
) -> Any:
    """Conversations, sent messages, findings per principle, blocked messages sent, good
    behaviours, incidents and a 0-100 score per agent. A manager sees their own team's."""
    if key.role is Role.MANAGER:
        if team not in (None, key.team):
            raise HTTPException(403, "a manager sees the scorecards of their own team only")
        team = key.team
    return {
        "agents": [card.to_dict() for card in compute(services.sessions, since=since, team=team)]
    }
