"""The debrief of a training session: a score per principle group and overall, the pass mark,
reply timing, what went well and the three things to change, each quoting the trainee.

A composure (A8 findings, answering a hostile line too fast, stalling, walls of text),
B don'ts (the engine's B findings), C do's (replies that show empathy, an apology, ownership,
an explanation or a next step), D the boundary protocol (abusive personas only) and E relent
(demand personas only; judged against advise_relent's recommendation). A group a scenario
does not train is not scored (null) and the overall weights are re-normalised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from calmline.coach.protocol import protocol_line
from calmline.core.types import Finding, Severity
from calmline.errors import TrainingError
from calmline.trainer.scenario import Intent
from calmline.trainer.simulator import Exchange, Outcome, Session

GROUPS = ("A", "B", "C", "D", "E")
#: Weight of each group in the overall score; a scenario's ``training.weights`` overrides.
DEFAULT_WEIGHTS: Mapping[str, float] = {"A": 1.0, "B": 1.5, "C": 1.5, "D": 1.5, "E": 1.0}
#: Outcomes a trainee can pass with: the customer accepted the answer, or the conversation
#: was ended through the boundary protocol.
PASSING_OUTCOMES = frozenset({Outcome.RESOLVED, Outcome.ENDED_PROPERLY})
#: Points a finding costs, by severity.
FINDING_COST = {Severity.BLOCK: 30, Severity.WARN: 20, Severity.INFO: 5}
#: Points a timing or length problem costs in A.
PACING_COST = {"replied_too_fast": 15, "stalled": 15, "wall_of_text": 10, "rapid_fire": 10}
#: Good behaviours that count for C.
CARING_CREDITS = frozenset({"empathy", "apology", "ownership", "explanation", "next_step"})
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True, slots=True)
class Change:
    """One thing to change: the principle, why, the trainee's own sentence, a better one."""

    principle: str
    why: str
    said: str
    better: str

    def to_dict(self) -> dict[str, str]:
        return {
            "principle": self.principle,
            "why": self.why,
            "said": self.said,
            "better": self.better,
        }


@dataclass(frozen=True, slots=True)
class Timing:
    """How fast the trainee answered (A3)."""

    replies: int
    median_seconds: float | None
    #: replies to a hostile line sent before the playbook's pause
    too_fast: int
    #: replies slower than the stall limit
    stalled: int
    pause_seconds: float
    stall_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "replies": self.replies,
            "median_seconds": self.median_seconds,
            "too_fast": self.too_fast,
            "stalled": self.stalled,
            "pause_seconds": self.pause_seconds,
            "stall_seconds": self.stall_seconds,
        }


@dataclass(frozen=True, slots=True)
class Debrief:
    """The result of a session."""

    scenario: str
    title: str
    seed: int
    trainee: str | None
    outcome: Outcome
    passed: bool
    pass_mark: int
    #: A-E and overall, 0-100; None for a group the scenario does not score
    scores: Mapping[str, int | None]
    timing: Timing
    went_well: tuple[str, ...]
    to_change: tuple[Change, ...]
    transcript: tuple[Exchange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "seed": self.seed,
            "trainee": self.trainee,
            "outcome": self.outcome.value,
            "passed": self.passed,
            "pass_mark": self.pass_mark,
            "scores": dict(self.scores),
            "timing": self.timing.to_dict(),
            "went_well": list(self.went_well),
            "to_change": [c.to_dict() for c in self.to_change],
            "transcript": [e.to_dict() for e in self.transcript],
        }


# ----- quoting ---------------------------------------------------------------------------------


def sentence_at(text: str, start: int) -> str:
    """The sentence of ``text`` that contains position ``start``."""
    offset = 0
    for part in _SENTENCE_END.split(text):
        found = text.find(part, offset)
        end = found + len(part)
        if found <= start < end or end >= len(text):
            return part.strip()
        offset = end
    return text.strip()


def _better_sentence(exchange: Exchange, finding: Finding) -> str:
    """The finding's rewrite of the trainee's sentence, else the coach's suggested reply."""
    rewrite = finding.rewrite
    if rewrite is not None and rewrite.text.strip():
        return rewrite.text.strip()
    return exchange.fixed or ""


# ----- the groups -----------------------------------------------------------------------------


def _trainee(session: Session) -> list[tuple[Exchange | None, Exchange]]:
    """Each trainee reply with the customer line it answered."""
    pairs: list[tuple[Exchange | None, Exchange]] = []
    last: Exchange | None = None
    for exchange in session.transcript:
        if exchange.role == "customer":
            last = exchange
        else:
            pairs.append((last, exchange))
    return pairs


def _stalled(exchange: Exchange, limit: float) -> bool:
    return exchange.reply_seconds is not None and exchange.reply_seconds > limit


def _score_a(replies: Sequence[Exchange], stall: float) -> int:
    cost = 0
    for r in replies:
        cost += sum(FINDING_COST[f.severity] for f in r.findings if f.principle.startswith("A"))
        cost += sum(PACING_COST.get(kind, 0) for kind in set(r.pacing))
        cost += PACING_COST["stalled"] if _stalled(r, stall) else 0
    return max(0, 100 - cost)


def _score_b(replies: Sequence[Exchange]) -> int:
    cost = sum(
        FINDING_COST[f.severity] for r in replies for f in r.findings if f.principle[0] == "B"
    )
    return max(0, 100 - cost)


def _score_c(replies: Sequence[Exchange]) -> int:
    on_issue = [r for r in replies if not r.acts]
    if not on_issue:
        return 100
    caring = sum(1 for r in on_issue if {c.behaviour for c in r.credits} & CARING_CREDITS)
    cost = sum(
        FINDING_COST[f.severity] for r in on_issue for f in r.findings if f.principle[0] == "C"
    )
    return max(0, min(100, round(100 * caring / len(on_issue)) - cost))


def _score_d(pairs: Sequence[tuple[Exchange | None, Exchange]], outcome: Outcome) -> int:
    if outcome is Outcome.ENDED_IMPROPERLY:
        return 0
    score = 100
    abusive_lines = [c for c, _ in pairs if c is not None and c.abusive]
    acted_on_abuse = any(r.acts for c, r in pairs if c is not None and c.abusive)
    if abusive_lines and not acted_on_abuse:
        score -= 60
    # a warning to a customer who was not abusive is power used bluntly (C5)
    score -= 20 * sum(1 for c, r in pairs if "warn" in r.acts and not (c and c.abusive))
    return max(0, score)


def _score_e(session: Session, replies: Sequence[Exchange]) -> int:
    advice = session.relent
    if advice is None:
        return 100
    offers = [r.offer for r in replies if r.offer]
    refused = sum(1 for r in replies if r.intent is Intent.REFUSAL)
    if not offers:
        score = 20
    elif advice.recommendation in offers:
        score = 100
    else:
        order = ("stand_firm", "bargain", "grant")
        wanted = order.index(advice.recommendation)
        nearest = min(offers, key=lambda o: abs(order.index(o) - wanted))
        # giving more than the advice costs money; giving less risks the customer
        score = 60 if order.index(nearest) > wanted else 40
    return max(0, score - 30 * refused)


def _weights(session: Session) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    weights.update({str(g): w for g, w in session.scenario.training.weights.items()})
    return weights


# ----- what went well, what to change ------------------------------------------------------


def _went_well(
    session: Session,
    pairs: Sequence[tuple[Exchange | None, Exchange]],
    scores: Mapping[str, int | None],
) -> list[str]:
    name = session.scenario.persona.name.split()[0]
    replies = [r for _, r in pairs]
    behaviours = {c.behaviour for r in replies for c in r.credits}
    rules = {f.rule for r in replies for f in r.findings}
    good: list[str] = []
    outcome = session.outcome
    if outcome is Outcome.RESOLVED:
        good.append(f"{name} accepted your answer: the conversation was resolved.")
    elif outcome is Outcome.ENDED_PROPERLY:
        good.append("You ended the conversation through the protocol, warnings given (D3-D5).")
    first_act = next((r for c, r in pairs if r.acts and c is not None and c.abusive), None)
    if first_act is not None and "make_aware" in first_act.acts:
        good.append(f'You made {name} aware of the behaviour (D1): "{first_act.text}"')
    if "apology" in behaviours:
        good.append("You apologised without admitting fault (B5).")
    if "empathy" in behaviours:
        good.append("You acknowledged the feeling before the facts (C1).")
    if "ownership" in behaviours:
        good.append("You took ownership and said what you would do (C2).")
    if replies and not rules & {"B1", "B2", "B6"}:
        good.append("You never argued or told the customer they were wrong (B1, B2, B6).")
    if scores.get("A") == 100 and replies:
        good.append("Your timing was steady: no snap replies to hostile lines, no stalling (A3).")
    if scores.get("E") == 100:
        good.append("Your offer matched what the relent advice recommends (E1-E3).")
    return good


def _to_change(
    session: Session, pairs: Sequence[tuple[Exchange | None, Exchange]], stall: float
) -> list[tuple[int, Change]]:
    """(cost, change) for every problem found; the debrief keeps the three costliest."""
    found: list[tuple[int, Change]] = []
    pause = session.playbook.pacing.pause_seconds
    for _, reply in pairs:
        for f in reply.findings:
            found.append(
                (
                    FINDING_COST[f.severity],
                    Change(
                        f.principle,
                        f.message,
                        sentence_at(reply.text, f.span[0]),
                        _better_sentence(reply, f),
                    ),
                )
            )
        if "replied_too_fast" in reply.pacing:
            found.append(
                (
                    PACING_COST["replied_too_fast"],
                    Change(
                        "A3",
                        f"You answered a hostile line after {reply.reply_seconds:g} s; pause at "
                        f"least {pause:g} s so the first words are not regretted.",
                        reply.text,
                        f"(wait {pause:g} s, breathe, then) {reply.fixed or reply.text}",
                    ),
                )
            )
        if _stalled(reply, stall):
            found.append(
                (
                    PACING_COST["stalled"],
                    Change(
                        "A3",
                        f"You took {reply.reply_seconds:g} s to answer; over {stall:g} s the "
                        "customer feels ignored. Acknowledge first, then look things up.",
                        reply.text,
                        "I'm looking into this for you now; give me one moment.",
                    ),
                )
            )
    persona = session.scenario.persona
    if persona.abusive:
        abusive = [(c, r) for c, r in pairs if c is not None and c.abusive]
        if abusive and not any(r.acts for _, r in abusive):
            _, reply = abusive[0]
            line = protocol_line(
                session.playbook.protocol, "D1", customer_name=persona.name.split()[0]
            )
            found.append(
                (
                    40,
                    Change(
                        "D1",
                        "The customer was shouting or swearing at you and you did not say so; "
                        "most people back down once they are made aware.",
                        reply.text,
                        line or "",
                    ),
                )
            )
    advice = session.relent
    if advice is not None:
        offers = [r for _, r in pairs if r.offer]
        if not any(r.offer == advice.recommendation for r in offers):
            said = offers[0].text if offers else next((r.text for _, r in pairs), "")
            found.append(
                (
                    35,
                    Change(
                        advice.principle,
                        "Offer what the relent advice recommends. "
                        + (advice.reasoning[-1] if advice.reasoning else ""),
                        said,
                        advice.wording,
                    ),
                )
            )
    return found


# ----- the debrief ---------------------------------------------------------------------------


def score(session: Session) -> Debrief:
    """The debrief of a finished session."""
    outcome = session.outcome
    if outcome is None:
        raise TrainingError("the session has not ended yet; score it once `done` is true")
    scenario = session.scenario
    settings = scenario.training
    pairs = _trainee(session)
    replies = [r for _, r in pairs]
    scores: dict[str, int | None] = {
        "A": _score_a(replies, settings.stall_seconds),
        "B": _score_b(replies),
        "C": _score_c(replies),
        "D": _score_d(pairs, outcome) if scenario.persona.abusive else None,
        "E": _score_e(session, replies) if scenario.persona.demand else None,
    }
    weights = _weights(session)
    counted = {g: s for g, s in scores.items() if s is not None and weights.get(g, 0) > 0}
    total = sum(weights[g] for g in counted)
    overall = round(sum(s * weights[g] for g, s in counted.items()) / total) if total else 0
    scores["overall"] = overall
    passed = outcome in PASSING_OUTCOMES and overall >= settings.pass_mark
    changes = sorted(_to_change(session, pairs, settings.stall_seconds), key=lambda item: -item[0])
    top: list[Change] = []
    for _, change in changes:
        if all((c.principle, c.said) != (change.principle, change.said) for c in top):
            top.append(change)
        if len(top) == 3:
            break
    seconds = [r.reply_seconds for r in replies if r.reply_seconds is not None]
    timing = Timing(
        replies=len(replies),
        median_seconds=round(median(seconds), 1) if seconds else None,
        too_fast=sum(1 for r in replies if "replied_too_fast" in r.pacing),
        stalled=sum(1 for r in replies if _stalled(r, settings.stall_seconds)),
        pause_seconds=session.playbook.pacing.pause_seconds,
        stall_seconds=settings.stall_seconds,
    )
    return Debrief(
        scenario=scenario.name,
        title=scenario.title,
        seed=session.seed,
        trainee=session.trainee,
        outcome=outcome,
        passed=passed,
        pass_mark=settings.pass_mark,
        scores=scores,
        timing=timing,
        went_well=tuple(_went_well(session, pairs, scores)),
        to_change=tuple(top),
        transcript=session.transcript,
    )
