"""Scorecards for line managers: per agent, what the messages they sent showed.

Read from the stored events and the guidance stored with each: only sent messages
(``agent_message``) count, drafts being the agent's own business. A message scores 100 minus
the cost of its findings (as the trainer scores replies: block 30, warn 20, info 5), at least
0; an agent's score is the mean over their messages, none without messages. ``ended_by_protocol``
counts incidents of conversations ended properly through the boundary protocol.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.core.types import Severity
from calmline.errors import InputError
from calmline.store import models
from calmline.store.db import MigratedDatabase
from calmline.store.queries import unstorable
from calmline.trainer.scoring import FINDING_COST

#: The incident reason of a conversation ended through the whole protocol.
PROTOCOL_END = "protocol_end"


@dataclass(frozen=True, slots=True)
class Scorecard:
    agent: str
    team: str | None
    conversations: int
    messages: int
    findings_by_principle: Mapping[str, int]
    #: sent messages that had a finding of severity block
    blocked: int
    credits_by_behaviour: Mapping[str, int]
    incidents: int
    ended_by_protocol: int
    #: 0-100; None when the agent sent no message
    score: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "team": self.team,
            "conversations": self.conversations,
            "messages": self.messages,
            "findings_by_principle": dict(sorted(self.findings_by_principle.items())),
            "blocked": self.blocked,
            "credits_by_behaviour": dict(sorted(self.credits_by_behaviour.items())),
            "incidents": self.incidents,
            "ended_by_protocol": self.ended_by_protocol,
            "score": self.score,
        }


@dataclass
class _Tally:
    team: str | None
    conversations: set[int] = field(default_factory=set)
    message_scores: list[int] = field(default_factory=list)
    findings: Counter[str] = field(default_factory=Counter)
    credits: Counter[str] = field(default_factory=Counter)
    blocked: int = 0
    incidents: int = 0
    ended_by_protocol: int = 0

    def card(self, agent: str) -> Scorecard:
        scores = self.message_scores
        return Scorecard(
            agent=agent,
            team=self.team,
            conversations=len(self.conversations),
            messages=len(scores),
            findings_by_principle=dict(self.findings),
            blocked=self.blocked,
            credits_by_behaviour=dict(self.credits),
            incidents=self.incidents,
            ended_by_protocol=self.ended_by_protocol,
            score=round(sum(scores) / len(scores)) if scores else None,
        )


def message_score(guidance: Mapping[str, Any]) -> int:
    """100 minus the cost of the message's findings, at least 0."""
    cost = 0
    for finding in guidance.get("findings") or ():
        try:
            cost += FINDING_COST[Severity(finding.get("severity"))]
        except ValueError:
            continue
    return max(0, 100 - cost)


def scorecards(
    session_factory: sessionmaker[Session],
    *,
    since: datetime | None = None,
    team: str | None = None,
) -> tuple[Scorecard, ...]:
    """One scorecard per agent with conversations opened since ``since`` (of ``team`` when
    given), by agent name and team (two agents of one name in two teams are two cards).
    Conversations without an agent are not counted."""
    if since is not None and since.utcoffset() is None:
        raise InputError(f"since: {since.isoformat()} has no time zone")
    if team is not None and unstorable(team):
        raise InputError(f"team: {team!r} {unstorable(team)}")
    chosen = sa.select(models.Conversation.id).where(models.Conversation.agent.is_not(None))
    if since is not None:
        chosen = chosen.where(models.Conversation.created_at >= since)
    if team is not None:
        chosen = chosen.where(models.Conversation.team == team)
    wanted = chosen.subquery()
    tallies: dict[tuple[str, str], _Tally] = {}
    with MigratedDatabase(session_factory).reading("reading scorecards") as session:
        for row in session.execute(
            sa.select(
                models.Conversation.id, models.Conversation.agent, models.Conversation.team
            ).where(models.Conversation.id.in_(sa.select(wanted.c.id)))
        ):
            tally = tallies.setdefault((row.agent, row.team or ""), _Tally(row.team))
            tally.conversations.add(row.id)
        for event in session.execute(
            sa.select(models.Conversation.agent, models.Conversation.team, models.Event.guidance)
            .join(models.Event, models.Event.conversation_id == models.Conversation.id)
            .where(
                models.Conversation.id.in_(sa.select(wanted.c.id)),
                models.Event.kind == "agent_message",
            )
        ):
            tally = tallies[event.agent, event.team or ""]
            guidance = event.guidance or {}
            tally.message_scores.append(message_score(guidance))
            tally.findings.update(f.get("principle", "?") for f in guidance.get("findings") or ())
            tally.credits.update(c.get("behaviour", "?") for c in guidance.get("credits") or ())
            if guidance.get("blocked"):
                tally.blocked += 1
        for incident in session.execute(
            sa.select(models.Conversation.agent, models.Conversation.team, models.Incident.reason)
            .join(models.Incident, models.Incident.conversation_id == models.Conversation.id)
            .where(models.Conversation.id.in_(sa.select(wanted.c.id)))
        ):
            tally = tallies[incident.agent, incident.team or ""]
            tally.incidents += 1
            if incident.reason == PROTOCOL_END:
                tally.ended_by_protocol += 1
    return tuple(tallies[who].card(who[0]) for who in sorted(tallies))
