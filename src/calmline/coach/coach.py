"""A coach per conversation: feed it events, get guidance after each.

The coach turns single-message analysis into coaching over time. It reads each customer
message, keeps the customer's state and its trend, runs the boundary protocol (D1-D5) from
the agent's sent messages, checks drafts in context (including a premature end), advises on
pacing (A2-A4), and writes the incident (D6) when a conversation ends through the protocol
or after a threat to safety (D7). It is pure: time comes from the events, nothing is stored
here (``calmline.store`` persists events and incidents).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from calmline.coach.events import (
    CustomerState,
    Event,
    EventKind,
    Guidance,
    Incident,
    NextStep,
    PacingAdvice,
    ProtocolStep,
    Trend,
)
from calmline.coach.incidents import CustomerTurn, build_incident, quote
from calmline.coach.pacing import Pacer
from calmline.coach.protocol import (
    PREMATURE_END_PRINCIPLE,
    PREMATURE_END_RULE,
    ProtocolMachine,
    classify_acts,
    find_acts,
    premature_end_finding,
    protocol_line,
)
from calmline.core.analyzer import Engine
from calmline.core.rule import name_slots, render
from calmline.core.types import (
    AbuseLevel,
    Credit,
    Finding,
    MessageAnalysis,
    Rewrite,
    Role,
    Severity,
    Turn,
)
from calmline.errors import ConversationClosed, EventError, EventOrderError, PlaybookError
from calmline.playbook.schema import Playbook

#: How far anger must move between messages to count as a trend.
TREND_STEP = 0.1
#: Anger below this, with no abuse, counts as the customer having calmed down.
CALMED_ANGER = 0.3
#: Rules about answering the issue (ownership, apology, bad news) that do not apply to a
#: protocol step: a D1-D5 line is about the customer's behaviour, by design.
PROTOCOL_RELAXED_RULES = frozenset({"C2", "C3", "B5"})
#: The order in which the acts of one agent message advance the protocol.
ACT_ORDER = ("make_aware", "ask_to_stop", "warn", "invite_back", "end")
#: Protocol act -> the step id of the playbook whose scripts say it.
ACT_STEP = {
    "make_aware": "D1",
    "ask_to_stop": "D2",
    "warn": "D3",
    "warn_again": "D4",
    "invite_back": "D5",
    "end": "D5",
}
_ACT_WHY = {
    "make_aware": "Most people back down once they realise what they are doing (D1).",
    "ask_to_stop": "Ask calmly and firmly for the behaviour to stop (D2).",
    "warn": "Say clearly what happens if it continues (D3).",
    "warn_again": "One warning is not enough for someone who is not thinking clearly (D4).",
    "invite_back": "Leave the door open for a calm conversation, then end (D5).",
    "end": "The warnings have been given; end the conversation politely (D5).",
}


@dataclass(frozen=True, slots=True)
class _Seen:
    event: Event
    guidance: Guidance


def _triggers(analysis: MessageAnalysis, triggers: Sequence[str]) -> tuple[str, ...]:
    """The playbook's protocol triggers present in a customer message.

    Shouting and swearing at the agent start the protocol; name-calling and threats alone do
    not (B7). Swearing at a thing ("this damn app") is venting, not abuse of the agent, so
    profanity only counts in a message that is abusive.
    """
    found = []
    for trigger in triggers:
        if not analysis.has(trigger):
            continue
        if trigger == "profanity" and not _swearing(analysis):
            continue
        found.append(trigger)
    return tuple(found)


def _swearing(analysis: MessageAnalysis) -> bool:
    """Swearing the protocol answers: aimed at the agent, strong, or in an abusive message.
    A mild word about a thing ("this damn app") is venting and is let pass."""
    if analysis.abuse.rank >= AbuseLevel.ABUSIVE.rank:
        return True
    return any(
        s.detail.get("aimed") or s.detail.get("severity") == "strong"
        for s in analysis.of_type("profanity")
    )


class Coach:
    """Coaching for one conversation. Not thread-safe: one coach per conversation."""

    def __init__(
        self,
        engine: Engine,
        *,
        conversation_id: str,
        customer_name: str | None = None,
        customer_id: str | None = None,
        agent: str | None = None,
        history: str | None = None,
    ) -> None:
        playbook = engine.settings
        if not isinstance(playbook, Playbook):
            raise PlaybookError("the coach needs an engine built from a playbook (load_engine)")
        self.engine = engine
        self.playbook = playbook
        self.conversation_id = conversation_id
        self.customer_name = customer_name
        self.customer_id = customer_id
        self.agent = agent
        self.history = history
        self.machine = ProtocolMachine(playbook.protocol)
        self.pacer = Pacer(playbook.pacing)
        self._seen: dict[str, _Seen] = {}
        self._turns: list[Turn] = []
        self._analyses: list[MessageAnalysis | None] = []
        self._customer_turns: list[CustomerTurn] = []
        self._angers: list[float] = []
        self._state = CustomerState.CALM
        self._behaviour: str | None = None
        self._last_at: datetime | None = None
        self._opened_at: datetime | None = None
        self._closed = False
        self._safety = False
        self._incident: Incident | None = None
        self._next: NextStep | None = None
        self._history_shown = False
        self._extra_steps: list[ProtocolStep] = []

    # ----- what the coach knows --------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_at(self) -> datetime | None:
        return self._last_at

    @property
    def incident(self) -> Incident | None:
        return self._incident

    @property
    def _protocol_active(self) -> bool:
        definition = self.playbook.protocol
        return self.machine.stage not in (definition.initial, definition.final)

    @property
    def state(self) -> CustomerState:
        return self._state

    @property
    def trend(self) -> Trend:
        if len(self._angers) < 2:
            return Trend.STEADY
        previous = self._angers[-3:-1]
        delta = self._angers[-1] - sum(previous) / len(previous)
        if delta >= TREND_STEP:
            return Trend.ESCALATING
        if delta <= -TREND_STEP:
            return Trend.CALMING
        return Trend.STEADY

    # ----- feeding events ----------------------------------------------------------------------

    def feed(self, event: Event) -> Guidance:
        """The guidance after ``event``. The same event again returns the same guidance."""
        seen = self._seen.get(event.id)
        if seen is not None:
            if seen.event != event:
                raise EventError(
                    f"event {event.id}: this id was already used for a different event in "
                    f"conversation {self.conversation_id}"
                )
            return seen.guidance
        if self._closed and event.kind is not EventKind.AGENT_DRAFT:
            raise ConversationClosed(
                f"conversation {self.conversation_id} has ended; event {event.id} "
                f"({event.kind.value}) cannot be added"
            )
        if self._last_at is not None and event.at < self._last_at:
            raise EventOrderError(
                f"event {event.id} at {event.at.isoformat()} is older than the last event of "
                f"conversation {self.conversation_id} ({self._last_at.isoformat()})"
            )
        if event.kind is EventKind.CUSTOMER_MESSAGE:
            guidance = self._customer_message(event)
        elif event.kind is EventKind.AGENT_DRAFT:
            guidance = self._agent_text(event, sent=False)
        elif event.kind is EventKind.AGENT_MESSAGE:
            guidance = self._agent_text(event, sent=True)
        else:
            guidance = self._conversation_end(event)
        if event.kind is not EventKind.AGENT_DRAFT:
            self._last_at = event.at
        if self._opened_at is None:
            self._opened_at = event.at
        self._seen[event.id] = _Seen(event, guidance)
        return guidance

    def _customer_message(self, event: Event) -> Guidance:
        names = tuple(n for n in (self.customer_name, self.agent) if n)
        analysis = self.engine.analyze_message(event.text, names=names)
        self._turns.append(Turn(Role.CUSTOMER, event.text, event.at.timestamp(), None))
        self._analyses.append(analysis)
        self._customer_turns.append(CustomerTurn(event.id, event.at, event.text, analysis))
        self._angers.append(analysis.anger)
        self._state = self._classify(analysis)
        notes: list[str] = []
        notify = False
        definition = self.playbook.protocol
        triggers = _triggers(analysis, definition.triggers)
        behaviour = definition.behaviour_for(triggers) if triggers else None
        if behaviour:
            self._behaviour = behaviour
        stage_before = self.machine.stage
        if self._state is CustomerState.UNSAFE and not self._safety:
            self._safety = True
            notify = True
            self._extra_steps.append(
                ProtocolStep(
                    step="safety",
                    stage=self.machine.stage,
                    at=event.at,
                    event_id=event.id,
                    quote=quote(event.text),
                )
            )
            notes.append("A threat to safety was recorded; your line manager is told now.")
            self._incident = self._make_incident("safety_threat", event.at)
        elif self._calmed(analysis, behaviour) and self.machine.apply(
            "customer_calmed", at=event.at, event_id=event.id, quote=quote(event.text)
        ):
            notes.append(
                f"The customer has calmed down (was: {stage_before.replace('_', ' ')}); "
                "the conversation is back to normal."
            )
            self._behaviour = None
        self._next = self._next_step(analysis, behaviour)
        pacing = self.pacer.customer_message(event, analysis)
        return self._guidance(
            event,
            analysis=analysis,
            pacing=pacing,
            notify=notify,
            incident=self._incident if notify else None,
            notes=tuple(notes),
        )

    def _agent_text(self, event: Event, *, sent: bool) -> Guidance:
        context = self.engine.context(
            self._turns,
            customer_name=self.customer_name,
            agent_name=self.agent,
            analyses=self._analyses,
        )
        check = self.engine.check_reply(event.text, context)
        found = set(classify_acts(event.text, self.playbook.protocol))
        acts = [a for a in ACT_ORDER if a in found]
        findings: list[Finding] = [
            f for f in check.findings if not (acts and f.rule in PROTOCOL_RELAXED_RULES)
        ]
        if "end" in acts and not self._safety:
            premature = premature_end_finding(
                event.text,
                self.machine,
                self.playbook.protocol,
                customer_name=self.customer_name,
                behaviour=self._behaviour,
                variant=self._variant("premature"),
            )
            if premature is None and self._walking_away():
                premature = self._walk_away_finding(event.text)
            if premature is not None:
                findings.append(premature)
        credits: tuple[Credit, ...] = check.credits
        incident = None
        notify = False
        notes: list[str] = []
        if sent:
            pacing = self.pacer.agent_message(event)
            self._turns.append(Turn(Role.AGENT, event.text, event.at.timestamp(), event.author))
            self._analyses.append(None)
            if event.author and not self.agent:
                self.agent = event.author
            for act in acts:
                if act == "end" and self._safety:
                    act = "safety_end"
                step = self.machine.apply(
                    act, at=event.at, event_id=event.id, quote=quote(event.text)
                )
                if step is not None and not step.proper:
                    notes.append("The conversation was ended before the warnings were complete.")
            if "end" in acts and self._walking_away():
                # ended on an abusive customer before the protocol even started
                self._extra_steps.append(
                    ProtocolStep(
                        step="end",
                        stage=self.playbook.protocol.final,
                        at=event.at,
                        event_id=event.id,
                        quote=quote(event.text),
                        proper=False,
                    )
                )
                notes.append("The conversation was ended before the protocol was followed.")
                self._closed = True
                self._incident = self._make_incident("premature_end", event.at)
                incident, notify = self._incident, True
            if self.machine.ended:
                self._closed = True
                if self._incident is None:
                    proper = all(step.proper for step in self.machine.timeline)
                    reason = "protocol_end" if proper else "premature_end"
                    self._incident = self._make_incident(reason, event.at)
                    incident, notify = self._incident, True
            self._next = self._next_step(None, None)
        else:
            pacing = self.pacer.agent_draft(event)
        return self._guidance(
            event,
            findings=tuple(findings),
            credits=credits,
            fixed=self._fixed(check.fixed, findings),
            pacing=pacing,
            notify=notify,
            incident=incident,
            notes=tuple(notes),
        )

    def _conversation_end(self, event: Event) -> Guidance:
        self._closed = True
        incident = None
        notify = False
        if self._protocol_active and self._incident is None:
            # closed mid-protocol (the customer left, or the call dropped): still on record
            enough = self.machine.warnings_given >= self.playbook.protocol.warnings
            reason = "protocol_end" if enough else "premature_end"
            self._incident = self._make_incident(reason, event.at)
            incident, notify = self._incident, True
        self._next = None
        return self._guidance(event, notify=notify, incident=incident)

    # ----- helpers -----------------------------------------------------------------------------

    def _walking_away(self) -> bool:
        """Ending now would walk away from an abusive customer without any protocol step."""
        return (
            not self._safety
            and self._incident is None
            and self.machine.stage == self.playbook.protocol.initial
            and self._behaviour is not None
        )

    def _walk_away_finding(self, text: str) -> Finding | None:
        """The premature-end finding when no protocol step has been taken at all."""
        sentence = next(
            (m.sentence for m in find_acts(text, self.playbook.protocol) if m.act == "end"),
            (0, len(text)),
        )
        line = self._step_line("D1")
        wanted = self.playbook.protocol.warnings
        return Finding(
            rule=PREMATURE_END_RULE,
            principle=PREMATURE_END_PRINCIPLE,
            severity=Severity.BLOCK,
            span=sentence,
            message=(
                "Premature end: the customer has not been made aware, asked to stop or "
                f"warned; the playbook asks for {wanted} warning{'s' if wanted != 1 else ''} "
                "before the conversation ends. Start by making them aware (D1)."
            ),
            text=text[sentence[0] : sentence[1]],
            rewrite=Rewrite(sentence, line) if line else None,
        )

    def _calmed(self, analysis: MessageAnalysis, behaviour: str | None) -> bool:
        """Back to normal: the protocol had started, and this message has no abuse and
        either softens (C6) or is no longer angry."""
        return (
            self._protocol_active
            and behaviour is None
            and self._state is not CustomerState.ABUSIVE
            and (analysis.has("forgiveness") or analysis.anger < CALMED_ANGER)
        )

    def _classify(self, analysis: MessageAnalysis) -> CustomerState:
        if analysis.abuse is AbuseLevel.SAFETY:
            return CustomerState.UNSAFE
        if analysis.abuse is AbuseLevel.ABUSIVE or _triggers(
            analysis, self.playbook.protocol.triggers
        ):
            return CustomerState.ABUSIVE
        upset = self.playbook.upset
        if analysis.anger >= upset.anger_threshold or any(analysis.has(s) for s in upset.signals):
            return CustomerState.UPSET
        return CustomerState.CALM

    def _variant(self, key: str) -> int:
        """A variant number that is the same for this conversation every time (replays agree)."""
        return zlib.crc32(f"{self.conversation_id}:{key}".encode())

    def _pick(self, lines: Sequence[str], key: str) -> str | None:
        if not lines:
            return None
        slots = name_slots(self.customer_name)
        return render(lines[self._variant(key) % len(lines)], slots)

    def _step_line(self, step: str | None) -> str:
        if step is None or step == "end":
            step = "D5"
        line = protocol_line(
            self.playbook.protocol,
            step,
            customer_name=self.customer_name,
            behaviour=self._behaviour,
            variant=self._variant(f"{step}:{self.machine.warnings_given}"),
        )
        return line or ""

    def _next_step(self, analysis: MessageAnalysis | None, behaviour: str | None) -> NextStep:
        if self._safety and not self._closed:
            return NextStep(
                action="escalate_safety",
                principle="D7",
                wording=self._step_line("D5"),
                why="A threat to someone's safety goes straight to your line manager; you may "
                "end the conversation now and follow your safety procedure.",
            )
        if self._protocol_active or behaviour:
            act = self.machine.recommended_act()
            if act:
                step = self.machine.recommended_step()
                if act == "warn" and self.machine.warnings_given >= 1:
                    act = "warn_again"
                return NextStep(
                    action=act,
                    principle=ACT_STEP.get(act, "D1") if step in (None, "end") else step,
                    wording=self._step_line(step),
                    why=_ACT_WHY.get(act, ""),
                )
        if analysis is not None:
            if analysis.has("forgiveness"):
                return NextStep(
                    action="accept_forgiveness",
                    principle="C6",
                    wording=self._pick(self.playbook.scripts.invitation, "forgive") or "",
                    why="The customer is softening: accept it and move on to the fix (C6).",
                )
            if analysis.has("insult") or analysis.has("threat"):
                return NextStep(
                    action="steer_back",
                    principle="B7",
                    wording=self._pick(self.playbook.scripts.invitation, "steer") or "",
                    why="Let the name-calling or threat pass without answering it and steer "
                    "back to the problem (B7, C4).",
                )
            if self._state is CustomerState.UPSET:
                return NextStep(
                    action="apologise",
                    principle="B5",
                    wording=self._pick(self.playbook.scripts.apology, "apology") or "",
                    why="Acknowledge the feeling before the facts; an apology is not an "
                    "admission of fault (C1, B5).",
                )
        if self._next is not None and self._next.action in ("apologise", "steer_back"):
            return NextStep(
                action="respond",
                principle="C4",
                wording="",
                why="Keep the conversation on the issue and move towards a solution (C4).",
            )
        return NextStep(
            action="respond",
            principle="C4",
            wording="",
            why="Answer the question and keep to the playbook's do's.",
        )

    def _fixed(self, fixed: str, findings: Sequence[Finding]) -> str:
        premature = [f for f in findings if f.rule == "D5" and f.rewrite is not None]
        if premature and premature[0].rewrite is not None:
            return premature[0].rewrite.text
        return fixed

    def _make_incident(self, reason: str, at: datetime) -> Incident:
        return build_incident(
            conversation_id=self.conversation_id,
            customer_name=self.customer_name,
            customer_id=self.customer_id,
            agent=self.agent,
            reason=reason,
            opened_at=self._opened_at or at,
            closed_at=at,
            turns=self._customer_turns,
            timeline=sorted((*self.machine.timeline, *self._extra_steps), key=lambda s: s.at),
            steps_done=self.machine.steps_done,
        )

    def _guidance(
        self,
        event: Event,
        *,
        analysis: MessageAnalysis | None = None,
        findings: tuple[Finding, ...] = (),
        credits: tuple[Credit, ...] = (),
        fixed: str | None = None,
        pacing: tuple[PacingAdvice, ...] = (),
        notify: bool = False,
        incident: Incident | None = None,
        notes: tuple[str, ...] = (),
    ) -> Guidance:
        history = None
        if self.history and not self._history_shown:
            history, self._history_shown = self.history, True
        return Guidance(
            conversation_id=self.conversation_id,
            event_id=event.id,
            event_kind=event.kind,
            state=self._state,
            trend=self.trend,
            anger=self._angers[-1] if self._angers else 0.0,
            protocol_stage=self.machine.stage,
            next_step=self._next,
            pacing=pacing,
            findings=findings,
            credits=credits,
            analysis=analysis,
            fixed=fixed,
            notify_manager=notify,
            incident=incident,
            history=history,
            notes=notes,
        )
