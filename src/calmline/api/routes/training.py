"""Roleplay training over HTTP: the scenarios, live sessions, debriefs and progress.

An agent trains as themselves and sees only their own sessions and progress; a trainer (and
an admin) any trainee's. The session logic is in :mod:`calmline.api.practice`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from calmline.api.access import visible_practice
from calmline.api.deps import ServicesDep, Trainee
from calmline.api.practice import Practice, scenario_summary, view
from calmline.api.schemas.training import (
    PracticeCreate,
    PracticePublic,
    ReplyCreate,
    ReplyPublic,
    ScenarioList,
)
from calmline.api.services import Services
from calmline.errors import UnknownTrainee
from calmline.store.keys import ApiKey, Role
from calmline.store.practice import PracticeRecord
from calmline.store.training import check_trainee, progress_of

router = APIRouter(prefix="/v1/training", tags=["training"])


def visible(services: Services, key: ApiKey, practice_id: str) -> PracticeRecord:
    """The session when the key may see it (an agent: their own); else the unknown id's 404."""
    return visible_practice(key, services.practice.get(practice_id))


@router.get("/scenarios", response_model=ScenarioList, summary="The roleplay scenarios")
def scenarios(services: ServicesDep, _key: Trainee) -> Any:
    """The built-in scenarios and the team's (``CALMLINE_SCENARIOS``), with their briefings."""
    found = Practice(services).scenarios()
    return {"scenarios": [scenario_summary(s) for s in found.values()]}


@router.post("/sessions", status_code=201, response_model=PracticePublic, summary="Start a session")
def start(body: PracticeCreate, services: ServicesDep, key: Trainee) -> Any:
    """A new session of the scenario, opened by the customer's first line."""
    trainee = body.trainee if body.trainee is not None else key.name
    if key.role is Role.AGENT and trainee != key.name:
        raise HTTPException(403, "an agent trains as themselves: leave out trainee")
    return Practice(services).start(trainee, body.scenario, body.seed, key.name)


@router.get("/sessions/{practice_id}", response_model=PracticePublic, summary="Read a session")
def read(practice_id: str, services: ServicesDep, key: Trainee) -> Any:
    """The session so far: the lines, the number of replies, whether and how it ended."""
    record = visible(services, key, practice_id)
    return view(record, Practice(services).session(record))


@router.post(
    "/sessions/{practice_id}/replies", response_model=ReplyPublic, summary="Reply to the customer"
)
def reply(practice_id: str, body: ReplyCreate, services: ServicesDep, key: Trainee) -> Any:
    """Send the trainee's reply; the customer's answer (its ``outcome`` set when it ends the
    session) and the session. ``turn`` guards against a reply sent twice (409)."""
    record = visible(services, key, practice_id)
    return Practice(services).reply(record, body.text, body.turn)


@router.get("/sessions/{practice_id}/debrief", summary="The debrief of a finished session")
def debrief(practice_id: str, services: ServicesDep, key: Trainee) -> Any:
    """Scores per principle group and overall, passed or not, what went well, three things to
    change with the trainee's own words and a better line, and the transcript. 409 until the
    session has ended; the first read records it in the trainee's progress."""
    record = visible(services, key, practice_id)
    return Practice(services).debrief(record).to_dict()


@router.get("/progress/{trainee}", summary="A trainee's progress")
def progress(trainee: str, services: ServicesDep, key: Trainee) -> Any:
    """Per principle group, the scores and trend; per scenario, attempts and whether passed.
    An agent sees only their own (empty before their first finished session)."""
    if key.role is not Role.AGENT:
        return services.training.progress(trainee).to_dict()
    if trainee != key.name:
        raise UnknownTrainee(f"no trainee {trainee!r}")
    try:
        return services.training.progress(trainee).to_dict()
    except UnknownTrainee:
        return progress_of(check_trainee(trainee), ()).to_dict()
