"""The scorecard of one archived conversation: replay it through the coach and read the result.

A :class:`Scorer` feeds a conversation's customer messages and sent agent messages to a
:class:`~calmline.coach.coach.Coach`, as they happened, and keeps what quality review needs:
the principles each agent message followed (credits) and broke (findings), with quotes; the
boundary protocol (D1-D5): whether it was needed and kept to; the customer's anger from
start to end; the outcome; and a score 0-100.

Replay is the same code that coaches live conversations, so an archived conversation is judged
exactly as it would have been coached. QA never shows rewrites, so the coach runs on an engine
that skips them (:meth:`~calmline.core.analyzer.Engine.review_reply`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from calmline.coach.coach import Coach
from calmline.coach.events import CustomerState, Event, EventKind, Guidance, PacingAdvice
from calmline.coach.pacing import Pacer
from calmline.coach.protocol import PREMATURE_END_RULE
from calmline.core.analyzer import Engine
from calmline.core.types import AbuseLevel, MessageAnalysis, Role, Severity
from calmline.engine import build_engine
from calmline.errors import CalmlineError
from calmline.playbook.loader import load_playbook
from calmline.playbook.schema import Playbook
from calmline.qa.types import Conversation, ConversationScore, Message, Outcome, PrincipleHit
from calmline.trainer.scoring import FINDING_COST

#: How far anger must move from the first customer message to the last to count as a change.
CLEAR_CHANGE = 0.2
#: Anger the last customer message must stay under for a conversation to count as de-escalated.
ENDED_LOW = 0.3
#: Points each credit adds to an agent message's score (at most ``CREDITS_COUNTED`` of them).
CREDIT_POINTS = 5
CREDITS_COUNTED = 2
#: Points taken off the whole conversation when the protocol was needed and not kept to.
PROTOCOL_COST = 20
#: Where synthetic clocks start when a conversation gives no timestamps at all.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_TICK = timedelta(seconds=1)
_STEP_NAMES = ("D1", "D2", "D3", "D4", "D5")
#: Timing and length advice (A2-A4) counts as a finding of this severity.
PACING_SEVERITY = Severity.INFO
#: Longest quote of a whole message (timing advice is about the message, not some words).
MAX_QUOTE_CHARS = 200


class _Untimed(Pacer):
    """No timing advice: for conversations whose archive gives no times."""

    def customer_message(self, event: Event, analysis: MessageAnalysis) -> tuple[PacingAdvice, ...]:
        return ()

    def agent_message(self, event: Event) -> tuple[PacingAdvice, ...]:
        return ()

    def agent_draft(self, event: Event) -> tuple[PacingAdvice, ...]:
        return ()


class Scorer:
    """Scores conversations with one engine (which carries the playbook and the models setting).

    Not thread-safe; cheap to keep for a whole archive (one per process).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._review = engine.for_review()

    def score(self, conv: Conversation) -> ConversationScore:
        """The scorecard of ``conv``.

        Messages are replayed in order. Timestamps are used where given (a message older than
        the one before it is taken as sent at the same moment); a message without one gets a
        made-up time one second after the one before, and then timing advice (A2-A4) is left
        out for the whole conversation rather than judged on made-up times. A message the
        engine refuses (too long, say) and messages after the conversation was closed through
        the protocol are not scored; they are counted, and said in ``extra`` (``unscored``:
        the reason by message index).

        **Outcome**: ``ended-by-protocol`` when the protocol closed the conversation (the
        agent ended it after the steps, or after a threat to safety); otherwise, with ``start``
        and ``end`` the anger of the first and last customer message, ``de-escalated`` when
        anger fell by at least ``CLEAR_CHANGE`` (0.2) and ended under ``ENDED_LOW`` (0.3),
        ``escalated`` when it rose by at least ``CLEAR_CHANGE``, else ``steady``.

        **Protocol**: needed when a customer message was abusive enough to start the boundary
        protocol (the coach's abusive or unsafe state). Kept to (``protocol_followed``) when the
        agent took at least one step (after a threat to safety ending at once is allowed), took
        every step in order and never ended early (no premature-end finding); None when not
        needed, or when no agent message came after it was needed (the archive holds nothing
        the agent did about it: a thread cut short, a message left unanswered). Each step
        taken in its turn is a followed hit of its principle (D1-D5, source ``protocol``).
        ``protocol_steps`` are the steps seen, in order (``D1``..``D5``; ``calmed`` when the
        customer calmed down and the protocol stood down; ``safety``; ``end``).

        **Score** (0-100): each agent message scores 100 minus the cost of its findings (block
        30, warn 20, info 5: the same costs as the trainer's debrief and the live scorecards),
        at least 0, plus ``CREDIT_POINTS`` (5) for each of up to ``CREDITS_COUNTED`` (2)
        credits, at most 100; the conversation scores the mean over its agent messages, less
        ``PROTOCOL_COST`` (20) when the protocol was needed and not kept to, at least 0. A
        conversation with no agent message scores 100 (nothing to fault; filter on
        ``agent_messages``).

        **Week**: the ISO year-week (``2026-W48``) of the first timestamp the archive gives.
        """
        coach = Coach(
            self._review,
            conversation_id=conv.id,
            customer_name=conv.customer_name,
            agent=conv.agent,
        )
        timed = all(m.at is not None for m in conv.messages)
        if not timed:
            # made-up times would read as replies sent too fast: no timing advice at all
            coach.pacer = _Untimed(coach.playbook.pacing)
        hits: list[PrincipleHit] = []
        angers: list[float] = []
        abuse = AbuseLevel.NONE
        protocol_needed = False
        #: whether an agent message came after the protocol was needed (else nothing to judge)
        answered = False
        premature = False
        unscored: dict[str, str] = {}
        message_scores: list[float] = []
        customer_count = agent_count = 0
        last: datetime | None = None
        started_at: datetime | None = None
        authors: Counter[str] = Counter()
        for index, message in enumerate(conv.messages):
            at = _utc(message.at)
            if at is not None and started_at is None:
                started_at = at
            if at is None or (last is not None and at < last):
                at = last + _TICK if at is None and last is not None else (last or _EPOCH)
            last = at
            is_customer = message.role is Role.CUSTOMER
            if is_customer:
                customer_count += 1
            else:
                agent_count += 1
                if message.author:
                    authors[message.author] += 1
            if coach.closed:
                unscored[str(index)] = "after the conversation was closed"
                continue
            event = Event(
                id=f"m{index}",
                kind=EventKind.CUSTOMER_MESSAGE if is_customer else EventKind.AGENT_MESSAGE,
                at=at,
                text=message.text,
                author=None if is_customer else message.author,
            )
            try:
                guidance = coach.feed(event)
            except CalmlineError as exc:
                unscored[str(index)] = str(exc)
                continue
            if is_customer:
                analysis = guidance.analysis
                if analysis is not None:
                    angers.append(analysis.anger)
                    if analysis.abuse.rank > abuse.rank:
                        abuse = analysis.abuse
                if guidance.state in (CustomerState.ABUSIVE, CustomerState.UNSAFE):
                    protocol_needed = True
            else:
                answered |= protocol_needed
                premature |= _message_hits(guidance, message, index, hits)
                if guidance.pacing:
                    _pacing_hits(guidance, message, index, hits)
                message_scores.append(_message_score(guidance))
        timeline = coach.incident.timeline if coach.incident else coach.machine.timeline
        steps = tuple(s.step for s in timeline)
        proper = all(s.proper for s in timeline)
        safety = "safety" in steps
        for step in timeline:
            # a protocol step taken in its turn is the principle followed (D1-D5)
            if step.proper and step.step in _STEP_NAMES and step.event_id.startswith("m"):
                hits.append(
                    PrincipleHit(
                        principle=step.step,
                        source="protocol",
                        followed=True,
                        quote=step.quote,
                        message=int(step.event_id[1:]),
                    )
                )
        hits.sort(key=lambda h: h.message)
        followed: bool | None = None
        if protocol_needed and answered:
            acted = any(s in _STEP_NAMES for s in steps) or safety
            followed = acted and proper and not premature
        ended_properly = coach.closed and proper and not premature
        outcome = _outcome(angers, ended_by_protocol=ended_properly)
        score = sum(message_scores) / len(message_scores) if message_scores else 100.0
        if followed is False:
            score = max(0.0, score - PROTOCOL_COST)
        agent = conv.agent or (authors.most_common(1)[0][0] if authors else None)
        extra: dict[str, object] = {"unscored": unscored} if unscored else {}
        if conv.customer_name:
            # for redacting the name from quotes in reports and exports; never shown
            extra["customer_name"] = conv.customer_name
        return ConversationScore(
            conversation_id=conv.id,
            source=conv.source,
            format=conv.format,
            agent=agent,
            team=conv.team,
            week=_week(started_at),
            started_at=started_at,
            customer_messages=customer_count,
            agent_messages=agent_count,
            hits=tuple(hits),
            anger_start=angers[0] if angers else 0.0,
            anger_end=angers[-1] if angers else 0.0,
            anger_peak=max(angers) if angers else 0.0,
            abuse=abuse.value,
            protocol_needed=protocol_needed,
            protocol_followed=followed,
            protocol_steps=steps,
            outcome=outcome,
            score=round(score, 2),
            extra=extra,
        )

    def score_many(self, convs: Sequence[Conversation]) -> list[ConversationScore]:
        return [self.score(c) for c in convs]


def scorer_for(playbook: str | Path | Playbook | None, models: bool | None) -> Scorer:
    """The process's scorer for a playbook and models setting, built on first use."""
    if isinstance(playbook, Playbook):
        return _scorer_of(playbook, models)
    return _scorer_at(None if playbook is None else str(Path(playbook)), models)


@lru_cache(maxsize=4)
def _scorer_at(path: str | None, models: bool | None) -> Scorer:
    return Scorer(build_engine(load_playbook(path), models=models))


# A playbook object (the engines send one) is kept by identity: the engines send the same
# object with every batch, so a worker builds its engine once.
_BY_PLAYBOOK: dict[tuple[int, bool | None], tuple[Playbook, Scorer]] = {}


def _scorer_of(playbook: Playbook, models: bool | None) -> Scorer:
    key = (id(playbook), models)
    found = _BY_PLAYBOOK.get(key)
    if found is not None and found[0] is playbook:
        return found[1]
    scorer = Scorer(build_engine(playbook, models=models))
    if len(_BY_PLAYBOOK) >= 4:
        _BY_PLAYBOOK.clear()
    _BY_PLAYBOOK[key] = (playbook, scorer)
    return scorer


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _week(at: datetime | None) -> str | None:
    if at is None:
        return None
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def _message_hits(
    guidance: Guidance, message: Message, index: int, out: list[PrincipleHit]
) -> bool:
    """Add the hits of one agent message; True when it ended the conversation too early."""
    premature = False
    text = message.text
    for finding in guidance.findings:
        quote = finding.text or text[finding.span[0] : finding.span[1]]
        out.append(
            PrincipleHit(
                principle=finding.principle,
                source=finding.rule,
                followed=False,
                quote=quote,
                message=index,
                severity=finding.severity.value,
            )
        )
        if finding.rule == PREMATURE_END_RULE and finding.severity is Severity.BLOCK:
            premature = True
    for credit in guidance.credits:
        out.append(
            PrincipleHit(
                principle=credit.principle,
                source=credit.behaviour,
                followed=True,
                quote=credit.text,
                message=index,
            )
        )
    return premature


def _pacing_hits(guidance: Guidance, message: Message, index: int, out: list[PrincipleHit]) -> None:
    for advice in guidance.pacing:
        out.append(
            PrincipleHit(
                principle=advice.principle,
                source=advice.kind,
                followed=False,
                quote=_clip(message.text),
                message=index,
                severity=PACING_SEVERITY.value,
            )
        )


def _clip(text: str) -> str:
    return text if len(text) <= MAX_QUOTE_CHARS else text[: MAX_QUOTE_CHARS - 1] + "…"


def _message_score(guidance: Guidance) -> float:
    cost = sum(FINDING_COST[f.severity] for f in guidance.findings)
    cost += FINDING_COST[PACING_SEVERITY] * len(guidance.pacing)
    bonus = CREDIT_POINTS * min(len(guidance.credits), CREDITS_COUNTED)
    return float(min(100, max(0, 100 - cost) + bonus))


def _outcome(angers: Sequence[float], *, ended_by_protocol: bool) -> Outcome:
    if ended_by_protocol:
        return "ended-by-protocol"
    if len(angers) < 2:
        return "steady"
    change = angers[-1] - angers[0]
    if change <= -CLEAR_CHANGE and angers[-1] < ENDED_LOW:
        return "de-escalated"
    if change >= CLEAR_CHANGE:
        return "escalated"
    return "steady"
