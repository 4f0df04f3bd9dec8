"""A training session: a simulated customer played from a scenario, on top of the coach.

The session is a coached conversation. The customer's lines go into a :class:`Coach` as
customer messages and the trainee's replies as sent agent messages, timed by how long the
trainee took; the coach's guidance (findings, credits, protocol acts, pacing) is what the
simulated customer reacts to. The reaction moves the hidden state by the scenario's table;
the next line is picked for the new band and the reply's intent with a seeded generator,
so one seed always plays the same way.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from calmline.coach.coach import ACT_ORDER, Coach
from calmline.coach.events import CustomerState, Event, EventKind, Guidance
from calmline.coach.protocol import classify_acts
from calmline.coach.relent import Figure, RelentAdvice, RelentRequest, advise_relent
from calmline.core.analyzer import Engine
from calmline.core.rule import render
from calmline.core.types import Credit, Finding
from calmline.errors import TrainingError
from calmline.playbook.schema import Playbook
from calmline.trainer.scenario import (
    PREMATURE_END_RULE,
    Band,
    HiddenState,
    Intent,
    Scenario,
    StateChange,
)

#: When every session starts (the clock is simulated: only the gaps matter).
SESSION_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: How long the simulated customer takes to answer, in seconds.
CUSTOMER_SECONDS = 8.0
#: Longest trainee reply accepted, in characters.
MAX_REPLY_CHARS = 4000
#: Findings the customer hears as being argued with, blamed or talked down to.
ARGUMENT_RULES = frozenset({"A8", "B1", "B2", "B3", "B6"})
#: Acts the customer answers as a protocol step, most advanced first.
PROTOCOL_INTENTS = (Intent.WARN, Intent.ASK_TO_STOP, Intent.MAKE_AWARE)
#: A no: "No, ...", "I can't", "that's not possible" (not "I can't imagine how ...", and not
#: "it won't happen again", which is a promise).
_NO = re.compile(
    r"(?:^\s*no\b|\b(?:can ?not|can't|cannot|unable to|not able to)\b"
    r"(?!\s+(?:imagine|believe|thank|tell you how|apologi[sz]e enough))"
    r"|\b(?:not possible|no way)\b)",
    re.IGNORECASE,
)
_FIGURE = re.compile(
    r"(?:[£$€]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b|pounds\b|euros?\b|"
    r"dollars\b)|\b(?:half|full refund|in full|the full amount|everything)\b)",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"\b(\d{1,3}(?:\.\d+)?)\s?(?:%|percent\b)", re.IGNORECASE)
_MONEY = re.compile(r"[£$€]\s?(\d[\d,]*(?:\.\d+)?)")


class Outcome(StrEnum):
    """How a session ended."""

    RESOLVED = "resolved"
    LEAVES_ANGRY = "leaves_angry"
    ENDED_PROPERLY = "ended_properly"
    ENDED_IMPROPERLY = "ended_improperly"
    TURN_LIMIT = "turn_limit"


@dataclass(frozen=True, slots=True)
class CustomerTurn:
    """What the customer says, and how they are now."""

    text: str
    band: Band
    #: the intent of the trainee reply it answers (None for the opening line)
    answers: Intent | None
    #: set when this line ends the session
    outcome: Outcome | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "band": self.band.value,
            "answers": self.answers.value if self.answers else None,
            "outcome": self.outcome.value if self.outcome else None,
        }


@dataclass(frozen=True, slots=True)
class Exchange:
    """One message of the transcript, with what the coach and the customer made of it."""

    #: "customer" or "trainee"
    role: str
    text: str
    #: seconds since the session started
    at: float
    #: trainee: seconds since the customer's last line
    reply_seconds: float | None = None
    #: trainee: what the customer heard in it
    intent: Intent | None = None
    #: the hidden state after this message
    state: HiddenState | None = None
    band: Band | None = None
    #: trainee: the coach's guidance on it
    findings: tuple[Finding, ...] = ()
    credits: tuple[Credit, ...] = ()
    acts: tuple[str, ...] = ()
    pacing: tuple[str, ...] = ()
    #: trainee: the coach's suggested reply, when it had findings
    fixed: str | None = None
    #: customer: the line was hostile (a reply to it should wait, A3)
    hostile: bool = False
    #: customer: the coach read the line as abusive (shouting or swearing at the agent):
    #: the boundary protocol applies (D)
    abusive: bool = False
    #: trainee: the relent option an offer was closest to (demand personas)
    offer: str | None = None
    #: trainee: the entries of the scenario's reaction table it matched ("rules.B1" ...)
    reactions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "text": self.text, "at": round(self.at, 3)}
        if self.role == "customer":
            out["band"] = self.band.value if self.band else None
            out["hostile"] = self.hostile
            out["abusive"] = self.abusive
        else:
            out["reply_seconds"] = self.reply_seconds
            out["intent"] = self.intent.value if self.intent else None
            out["findings"] = [f.rule for f in self.findings]
            out["credits"] = sorted({c.behaviour for c in self.credits})
            out["acts"] = list(self.acts)
            out["pacing"] = list(self.pacing)
            if self.offer:
                out["offer"] = self.offer
            out["reactions"] = list(self.reactions)
        if self.state is not None:
            out["state"] = {k: round(v, 3) for k, v in self.state.model_dump().items()}
        return out


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _moved(state: HiddenState, changes: Sequence[StateChange]) -> HiddenState:
    return HiddenState(
        anger=_clamp(state.anger + sum(c.anger for c in changes)),
        patience=_clamp(state.patience + sum(c.patience for c in changes)),
        trust=_clamp(state.trust + sum(c.trust for c in changes)),
    )


def is_offer(text: str, credits: Sequence[Credit]) -> bool:
    """An offer: a figure (an amount, a percent, "half", "in full"), or something the agent
    will do (the ownership or next-step credit: "I will personally book", "I can arrange")."""
    behaviours = {c.behaviour for c in credits}
    return bool(_FIGURE.search(text)) or bool(behaviours & {"ownership", "next_step"})


def reply_intent(text: str, guidance: Guidance, acts: Sequence[str]) -> Intent:
    """What the customer hears in a trainee's reply, checked in this order: a protocol step,
    a refusal (the B4 finding, or a no with nothing offered), arguing or blaming, an offer,
    an apology or empathy, a question, anything else."""
    for intent in PROTOCOL_INTENTS:
        if intent.value in acts:
            return intent
    rules = {f.rule for f in guidance.findings}
    offer = is_offer(text, guidance.credits)
    if "B4" in rules or (_NO.search(text) and not offer):
        return Intent.REFUSAL
    if rules & ARGUMENT_RULES:
        return Intent.ARGUMENT
    if offer:
        return Intent.OFFER
    if {c.behaviour for c in guidance.credits} & {"apology", "empathy"}:
        return Intent.APOLOGY
    if "?" in text:
        return Intent.QUESTION
    return Intent.OTHER


def offered_share(text: str, claim: float) -> float | None:
    """The share of the claim (0-1) an offer names: a percent, an amount, "half", "in full"."""
    lowered = text.lower()
    if re.search(r"\b(?:full refund|in full|the full amount|everything|all of it)\b", lowered):
        return 1.0
    percent = _PERCENT.search(text)
    if percent:
        return min(1.0, float(percent.group(1)) / 100)
    money = _MONEY.search(text)
    if money:
        return min(1.0, float(money.group(1).replace(",", "")) / claim)
    if re.search(r"\bhalf\b", lowered):
        return 0.5
    return None


def relent_advice(scenario: Scenario, playbook: Playbook) -> RelentAdvice | None:
    """advise_relent's recommendation for the scenario's demand (None without one)."""
    facts = scenario.facts.relent
    if facts is None:
        return None
    request = RelentRequest(
        demand=Figure.parse(facts.demand, "facts.relent.demand"),
        policy=Figure.parse(facts.policy, "facts.relent.policy"),
        claim=facts.claim,
        annual_spend=facts.annual_spend,
        tenure_years=facts.tenure_years,
        threats=frozenset(facts.threats),
        promised=facts.promised,
        currency=facts.currency,
        reason=facts.reason,
    )
    return advise_relent(request, playbook.relent)


@dataclass
class _Bank:
    """Which lines of each situation have been said, so none repeats while others remain."""

    used: dict[str, list[int]] = field(default_factory=dict)

    def pick(self, key: str, lines: Sequence[str], rng: random.Random) -> str:
        said = self.used.setdefault(key, [])
        fresh = [n for n in range(len(lines)) if n not in said]
        if not fresh:
            # all said: start again, but not with the line just used
            said[:] = said[-1:]
            fresh = [n for n in range(len(lines)) if n not in said]
        chosen = rng.choice(fresh)
        said.append(chosen)
        return lines[chosen]


class Session:
    """One roleplay of a scenario. Call :meth:`opening`, then :meth:`reply` until ``done``."""

    def __init__(
        self,
        scenario: Scenario,
        engine: Engine,
        *,
        seed: int,
        trainee: str | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TrainingError(f"seed: expected a whole number, got {seed!r}")
        playbook = engine.settings
        if not isinstance(playbook, Playbook):
            raise TrainingError("a session needs an engine built from a playbook (load_engine)")
        self.scenario = scenario
        self.engine = engine
        self.playbook = playbook
        self.seed = seed
        self.trainee = trainee
        self.coach = Coach(
            engine,
            conversation_id=f"training-{scenario.name or 'scenario'}-{seed}",
            customer_name=scenario.persona.name,
            agent=trainee,
        )
        self.relent = relent_advice(scenario, playbook)
        self._rng = random.Random(f"{scenario.name}:{seed}")
        self._bank = _Bank()
        self._state = scenario.start
        self._transcript: list[Exchange] = []
        self._clock = 0.0
        self._customer_lines = 0
        self._outcome: Outcome | None = None
        self._events = 0

    # ----- what the session knows ------------------------------------------------------------

    @property
    def state(self) -> HiddenState:
        return self._state

    @property
    def band(self) -> Band:
        return self.scenario.bands.of(self._state.anger)

    @property
    def done(self) -> bool:
        return self._outcome is not None

    @property
    def outcome(self) -> Outcome | None:
        return self._outcome

    @property
    def transcript(self) -> tuple[Exchange, ...]:
        return tuple(self._transcript)

    @property
    def started(self) -> bool:
        return bool(self._transcript)

    # ----- playing ---------------------------------------------------------------------------

    def opening(self) -> CustomerTurn:
        """The customer's first line."""
        if self.started:
            raise TrainingError("the session has already started; opening() comes once, first")
        line = self._bank.pick("opening", self.scenario.lines.opening, self._rng)
        return self._say(line, answers=None)

    def reply(self, text: str, *, seconds: float) -> CustomerTurn:
        """The trainee's reply, sent ``seconds`` after the customer's last line; the
        customer's answer, or their last line when this ends the session."""
        if not self.started:
            raise TrainingError("call opening() first: the customer speaks first")
        if self.done:
            raise TrainingError(
                f"the session has ended ({self._outcome}); it takes no more replies"
            )
        if not isinstance(text, str) or not text.strip():
            raise TrainingError("reply: expected the trainee's message, got nothing")
        if len(text) > MAX_REPLY_CHARS:
            raise TrainingError(
                f"reply: {len(text):,} characters; the limit is {MAX_REPLY_CHARS:,}"
            )
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TrainingError(f"seconds: expected a number of seconds, got {seconds!r}")
        if not math.isfinite(seconds) or seconds < 0:
            raise TrainingError(f"seconds: expected 0 or more, got {seconds!r}")
        self._clock += float(seconds)
        guidance = self.coach.feed(self._event(EventKind.AGENT_MESSAGE, text))
        found = set(self._acts_of(text))
        acts = tuple(a for a in ACT_ORDER if a in found)
        intent = reply_intent(text, guidance, acts)
        offer = self._offer_option(text) if intent is Intent.OFFER else None
        reactions = self._reactions(guidance, acts, intent, offer)
        self._state = _moved(self._state, list(reactions.values()))
        self._transcript.append(
            Exchange(
                role="trainee",
                text=text,
                at=self._clock,
                reply_seconds=float(seconds),
                intent=intent,
                state=self._state,
                band=self.band,
                findings=guidance.findings,
                credits=guidance.credits,
                acts=acts,
                pacing=tuple(p.kind for p in guidance.pacing),
                fixed=guidance.fixed,
                offer=offer,
                reactions=tuple(reactions),
            )
        )
        if "end" in acts:
            premature = any(f.rule == PREMATURE_END_RULE for f in guidance.findings)
            timeline = self.coach.machine.timeline
            proper = (
                not premature and self.coach.machine.ended and all(step.proper for step in timeline)
            )
            return self._end(Outcome.ENDED_PROPERLY if proper else Outcome.ENDED_IMPROPERLY, intent)
        endings = self.scenario.endings
        if endings.resolved.holds(self._state):
            return self._end(Outcome.RESOLVED, intent)
        if endings.leaves_angry.holds(self._state):
            return self._end(Outcome.LEAVES_ANGRY, intent)
        bank = self.scenario.lines.bank(self.band)
        situation = intent if intent in bank else Intent.OTHER
        line = self._bank.pick(f"{self.band.value}.{situation.value}", bank[situation], self._rng)
        turn = self._say(line, answers=intent)
        if self._customer_lines > self.scenario.turn_limit:
            self._outcome = Outcome.TURN_LIMIT
            self._close()
            return CustomerTurn(turn.text, turn.band, turn.answers, Outcome.TURN_LIMIT)
        return turn

    # ----- inside ----------------------------------------------------------------------------

    def _acts_of(self, text: str) -> tuple[str, ...]:
        return classify_acts(text, self.playbook.protocol)

    def _event(self, kind: EventKind, text: str = "") -> Event:
        self._events += 1
        at = SESSION_START + timedelta(seconds=self._clock)
        author = self.trainee if kind is EventKind.AGENT_MESSAGE else None
        return Event(id=f"e{self._events}", kind=kind, at=at, text=text, author=author)

    def _say(self, template: str, *, answers: Intent | None, final: bool = False) -> CustomerTurn:
        if self.started:
            self._clock += CUSTOMER_SECONDS
        text = render(template, self.scenario.slots())
        band = self.band
        hostile = abusive = False
        if not self.coach.closed:
            guidance = self.coach.feed(self._event(EventKind.CUSTOMER_MESSAGE, text))
            if guidance.analysis is not None:
                hostile = self.coach.pacer.is_hostile(guidance.analysis)
            abusive = guidance.state in (CustomerState.ABUSIVE, CustomerState.UNSAFE)
        self._customer_lines += 1
        self._transcript.append(
            Exchange(
                role="customer",
                text=text,
                at=self._clock,
                state=self._state,
                band=band,
                hostile=hostile,
                abusive=abusive,
            )
        )
        return CustomerTurn(text, band, answers, self._outcome if final else None)

    def _end(self, outcome: Outcome, answers: Intent) -> CustomerTurn:
        self._outcome = outcome
        ending = getattr(self.scenario.endings, outcome.value)
        line = self._bank.pick(f"ending.{outcome.value}", ending.lines, self._rng)
        turn = self._say(line, answers=answers, final=True)
        self._close()
        return turn

    def _close(self) -> None:
        if not self.coach.closed:
            self.coach.feed(self._event(EventKind.CONVERSATION_END))

    def _offer_option(self, text: str) -> str | None:
        """The relent option (stand_firm, bargain, grant) an offer is closest to."""
        facts = self.scenario.facts.relent
        if facts is None or self.relent is None:
            return None
        share = offered_share(text, facts.claim)
        if share is None:
            return None
        offered = share * facts.claim
        closest = min(self.relent.options, key=lambda o: abs(o.payout - offered))
        return closest.option

    def _reactions(
        self, guidance: Guidance, acts: Sequence[str], intent: Intent, offer: str | None
    ) -> dict[str, StateChange]:
        """The entries of the reaction table a reply matches, by "table.key"."""
        table = self.scenario.reactions
        keys = {
            "credits": sorted({c.behaviour for c in guidance.credits}),
            "rules": sorted({f.rule for f in guidance.findings}),
            "acts": list(acts),
            "pacing": sorted({p.kind for p in guidance.pacing}),
            "intents": [intent.value],
            "offers": [offer] if offer else [],
        }
        matched: dict[str, StateChange] = {}
        for section, names in keys.items():
            entries: Mapping[str, StateChange] = getattr(table, section)
            for name in names:
                if name in entries:
                    matched[f"{section}.{name}"] = entries[name]
        matched["every_turn"] = table.every_turn
        return matched
