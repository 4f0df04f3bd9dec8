"""The boundary protocol at run time: which acts an agent's message performs, and the state
machine that follows one conversation through them (D1-D5).

Acts are recognised from the playbook's words in one pass over the message (the same phrase
matcher the detectors use, so it stays linear in the message's length). The machine holds no
clock: every step takes its time and event id from the caller.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from calmline.coach.events import ProtocolStep
from calmline.core.matcher import Hit, Hits, PhraseMatcher
from calmline.core.rule import name_slots, render
from calmline.core.text import TextView
from calmline.core.types import Finding, Rewrite, Severity, Span
from calmline.errors import EventError, EventOrderError, InputError
from calmline.playbook.protocol import (
    CALMED,
    END,
    PROTOCOL_STEPS,
    SAFETY_END,
    WARN,
    ProtocolDefinition,
    TransitionDefinition,
)

#: Longest quote kept in a timeline step.
MAX_QUOTE_CHARS = 200
#: The rule id and principle of a premature end.
PREMATURE_END_RULE = "D5"
PREMATURE_END_PRINCIPLE = "D4"

_WORDS = "words"
_PUNCTUATION_BREAK = frozenset(",;:()[]–—")
_EARLIEST = datetime.min.replace(tzinfo=UTC)
#: What the agent should do instead of ending, by the act the protocol recommends.
_INSTEAD = {
    "make_aware": "Make them aware of what they are doing first (D1).",
    "ask_to_stop": "Ask them to stop first (D2).",
    "warn": "Warn them first (D3).",
}


# ----- recognising acts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActMatch:
    """An act an agent's message performs: where, and the phrase that shows it."""

    act: str
    span: Span
    phrase: str
    #: the sentence the phrase is in
    sentence: Span


class _ActReader:
    """The compiled words of one protocol definition: one matcher for every act and list."""

    def __init__(self, definition: ProtocolDefinition) -> None:
        lexicons: list[tuple[str, str, Mapping[str, float]]] = [
            (_WORDS, name, words) for name, words in definition.words.items()
        ]
        for name, act in definition.acts.items():
            lexicons.append((_owner(name), "phrases", act.phrases))
            lexicons.append((_owner(name), "exceptions", act.exceptions))
        self.matcher = PhraseMatcher(lexicons)
        routes: dict[tuple[str, str], list[TransitionDefinition]] = {}
        for t in definition.transitions:
            for source in t.from_:
                routes.setdefault((source, t.act), []).append(t)
        self.routes = {key: tuple(found) for key, found in routes.items()}


def _owner(act: str) -> str:
    return f"act:{act}"


_READERS: dict[int, tuple[weakref.ref[ProtocolDefinition], _ActReader]] = {}


def _reader(definition: ProtocolDefinition) -> _ActReader:
    """The compiled reader of a definition, built once per definition object."""
    if not isinstance(definition, ProtocolDefinition):
        raise InputError(
            f"expected the playbook's protocol (a ProtocolDefinition), got "
            f"{type(definition).__name__}"
        )
    key = id(definition)
    found = _READERS.get(key)
    if found is not None and found[0]() is definition:
        return found[1]
    reader = _ActReader(definition)
    # the entry goes when the definition does, before its id can be given to another object
    _READERS[key] = (weakref.ref(definition, lambda _ref: _READERS.pop(key, None)), reader)
    return reader


class _Scan:
    """One message read for acts: its tokens, the phrases found, and where each one sits."""

    def __init__(self, view: TextView, hits: Hits) -> None:
        self.view = view
        self.hits = hits
        self.sentences = view.sentences()
        self._starts = [s for s, _ in self.sentences]
        self._chunks: list[int] | None = None
        self._present: dict[str, frozenset[int]] = {}
        self._openers: dict[str, dict[int, tuple[int, frozenset[int]]]] = {}

    def sentence_of(self, token: int) -> int:
        return max(0, bisect_right(self._starts, self.view.starts[token]) - 1)

    def sentence_span(self, token: int) -> Span:
        if not self.sentences:
            return (0, len(self.view.text))
        return self.sentences[self.sentence_of(token)]

    def chunk_of(self, token: int) -> int:
        """Which stretch of the message between punctuation marks a token is in."""
        if self._chunks is None:
            view, text = self.view, self.view.text
            chunks, current = [0] * len(view.norms), 0
            for i in range(1, len(view.norms)):
                gap = text[view.ends[i - 1] : view.starts[i]]
                if not _PUNCTUATION_BREAK.isdisjoint(gap):
                    current += 1
                chunks[i] = current
            self._chunks = chunks
        return self._chunks[token]

    def _list_hits(self, listed: str) -> Iterable[Hit]:
        view = self.view
        for hit in self.hits.get(_WORDS, listed):
            if not view.quoted(view.span_of(hit.first, hit.last)):
                yield hit

    def has(self, listed: str, sentence: int) -> bool:
        """Whether a sentence holds a phrase of a shared word list."""
        present = self._present.get(listed)
        if present is None:
            present = frozenset(self.sentence_of(h.first) for h in self._list_hits(listed))
            self._present[listed] = present
        return sentence in present

    def cancels(self, listed: str, token: int, sentence: int) -> bool:
        """Whether a phrase of the list comes before ``token`` in its sentence, or after it
        with no punctuation between ("I'll end this call if it goes on")."""
        openers = self._openers.get(listed)
        if openers is None:
            firsts: dict[int, int] = {}
            chunks: dict[int, set[int]] = {}
            for hit in self._list_hits(listed):
                sentence_of_hit = self.sentence_of(hit.first)
                firsts[sentence_of_hit] = min(firsts.get(sentence_of_hit, hit.first), hit.first)
                chunks.setdefault(sentence_of_hit, set()).add(self.chunk_of(hit.first))
            openers = {k: (firsts[k], frozenset(chunks[k])) for k in firsts}
            self._openers[listed] = openers
        where = openers.get(sentence)
        if where is None:
            return False
        first, in_chunks = where
        return first < token or self.chunk_of(token) in in_chunks


def find_acts(text: str, definition: ProtocolDefinition) -> tuple[ActMatch, ...]:
    """The acts an agent's message performs, each with the first phrase that shows it, in the
    order of the playbook's ``acts:``."""
    if not isinstance(text, str):
        raise InputError(f"an agent's message must be text, got {type(text).__name__}")
    reader = _reader(definition)
    view = reader.matcher.read(text)
    hits = reader.matcher.scan(view)
    if not hits:
        return ()
    scan = _Scan(view, hits)
    found: list[ActMatch] = []
    for name, act in definition.acts.items():
        candidates = list(hits.get(_owner(name), "phrases"))
        for listed in act.include:
            candidates += hits.get(_WORDS, listed)
        if not candidates:
            continue
        excluded = {
            token
            for hit in hits.get(_owner(name), "exceptions")
            for token in range(hit.first, hit.last + 1)
        }
        for hit in sorted(candidates, key=lambda h: h.first):
            span = view.span_of(hit.first, hit.last)
            if view.quoted(span) or view.negated(hit.first):
                continue
            if excluded and not excluded.isdisjoint(range(hit.first, hit.last + 1)):
                continue
            sentence = scan.sentence_of(hit.first)
            if not all(scan.has(listed, sentence) for listed in act.requires):
                continue
            if any(scan.cancels(listed, hit.first, sentence) for listed in act.unless):
                continue
            found.append(ActMatch(name, span, hit.phrase, scan.sentence_span(hit.first)))
            break
    return tuple(found)


def classify_acts(text: str, definition: ProtocolDefinition) -> tuple[str, ...]:
    """Which protocol acts an agent's message performs (make_aware, ask_to_stop, warn,
    invite_back, end, and any a team adds), in the order of the playbook's ``acts:``.

    A message can perform several: a D5 line invites the customer back and ends.
    """
    return tuple(match.act for match in find_acts(text, definition))


# ----- the scripted lines ------------------------------------------------------------------------


def protocol_line(
    definition: ProtocolDefinition,
    step: str,
    *,
    customer_name: str | None = None,
    behaviour: str | None = None,
    variant: int = 0,
) -> str | None:
    """A scripted line of a step (D1-D5) with the customer's name and the behaviour filled in;
    None when the playbook has no line for it. ``variant`` picks one of the variants."""
    lines = definition.scripts.get(step) or ()
    if not lines:
        return None
    slots = name_slots(customer_name)
    slots["behaviour"] = behaviour or definition.behaviour_for(())
    return render(lines[variant % len(lines)], slots)


# ----- the state machine -------------------------------------------------------------------------


def _quote(text: str) -> str:
    shown = " ".join(text.split())
    if len(shown) > MAX_QUOTE_CHARS:
        shown = shown[: MAX_QUOTE_CHARS - 1].rstrip() + "…"
    return shown


class ProtocolMachine:
    """One conversation's way through the boundary protocol.

    Feed it the acts of the agent's sent messages (and customer_calmed, safety_end from the
    coach) with :meth:`apply`; it keeps the stage, the warnings given and the timeline.
    """

    def __init__(self, definition: ProtocolDefinition) -> None:
        self._routes = _reader(definition).routes
        self.definition = definition
        self._stage = definition.initial
        #: the event id of each warning given since the protocol last started
        self._warnings: list[str] = []
        self._timeline: list[ProtocolStep] = []

    # ----- where it stands ---------------------------------------------------------------------

    @property
    def stage(self) -> str:
        """The name of the current state."""
        return self._stage

    @property
    def warnings_given(self) -> int:
        """Warnings given since the protocol last started (a calmed customer starts it again)."""
        return len(self._warnings)

    @property
    def ended(self) -> bool:
        return self._stage == self.definition.final

    @property
    def timeline(self) -> tuple[ProtocolStep, ...]:
        return tuple(self._timeline)

    @property
    def steps_done(self) -> dict[str, bool]:
        """D1..D5: whether the agent has done each step in this conversation."""
        done = {s.step for s in self._timeline if s.proper}
        return {step: step in done for step in PROTOCOL_STEPS}

    def copy(self) -> ProtocolMachine:
        """An independent machine in the same state (to try acts out without taking them)."""
        twin = ProtocolMachine(self.definition)
        twin._stage = self._stage
        twin._warnings = list(self._warnings)
        twin._timeline = list(self._timeline)
        return twin

    # ----- moving on ---------------------------------------------------------------------------

    def _check_act(self, act: str) -> None:
        if act not in self.definition.known_acts:
            known = ", ".join(sorted(self.definition.known_acts))
            raise InputError(f"unknown protocol act {act!r}; the acts are {known}")

    def _holds(self, condition: str | None, event_id: str | None) -> bool:
        if condition is None:
            return True
        if condition == "enough_warnings":
            # a warning counts once the customer has had a message's time to heed it
            earlier = len(self._warnings) - self._warnings.count(event_id) if event_id else None
            given = len(self._warnings) if earlier is None else earlier
            return given >= self.definition.warnings
        raise InputError(f"unknown protocol condition {condition!r}")  # the loader refuses it

    def _route(self, act: str, event_id: str | None) -> TransitionDefinition | None:
        for t in self._routes.get((self._stage, act), ()):
            if self._holds(t.when, event_id):
                return t
        return None

    def allowed(self, act: str) -> bool:
        """Whether ``act`` in a new message would move the protocol on properly from here."""
        self._check_act(act)
        if self.ended:
            return False
        return act == SAFETY_END or self._route(act, None) is not None

    def apply(self, act: str, *, at: datetime, event_id: str, quote: str) -> ProtocolStep | None:
        """Take an act of the message ``event_id``; the step recorded, or None when the act
        does not apply in this stage (nothing changes then).

        An ``end`` the protocol does not allow yet, once it has started, still ends the
        conversation: it is recorded with ``proper=False`` (a premature end). A
        ``safety_end`` may end the conversation from any stage.
        """
        self._check_act(act)
        if not isinstance(event_id, str) or not event_id.strip():
            raise EventError("protocol step: the event id must be a non-empty string")
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise EventError(f"event {event_id}: a protocol step needs a time-zone-aware time")
        if self._timeline and at < self._timeline[-1].at:
            raise EventOrderError(
                f"event {event_id} at {at.isoformat()} is older than the last protocol step "
                f"({self._timeline[-1].at.isoformat()})"
            )
        if self.ended:
            return None
        definition = self.definition
        proper = True
        transition = self._route(act, event_id)
        if transition is not None:
            target = transition.to
        elif act == SAFETY_END:
            target = definition.final
        elif act == END and self._stage != definition.initial:
            target, proper = definition.final, False
        else:
            return None
        if act == WARN:
            self._warnings.append(event_id)
        if target == definition.initial:
            self._warnings.clear()
        self._stage = target
        if act == CALMED:
            step = "calmed"
        elif act == SAFETY_END:
            step = "safety"
        elif target == definition.final:
            step = "end"
        else:
            step = definition.step_of(target) or target
        recorded = ProtocolStep(
            step=step,
            stage=target,
            at=at,
            event_id=event_id,
            quote=_quote(quote if isinstance(quote, str) else ""),
            proper=proper,
        )
        self._timeline.append(recorded)
        return recorded

    # ----- what comes next ---------------------------------------------------------------------

    def recommended_act(self) -> str | None:
        """The agent act the playbook wants next from this stage: make_aware, ask_to_stop,
        warn (until ``warnings`` warnings are given), invite_back, end. None once ended."""
        if self.ended:
            return None
        candidates = [a for a in self.definition.agent_acts if self._route(a, None) is not None]
        if self.warnings_given >= self.definition.warnings and len(candidates) > 1:
            candidates = [a for a in candidates if a != WARN] or candidates
        return candidates[0] if candidates else None

    def recommended_step(self) -> str | None:
        """The step (D1-D5, or "end") the recommended act would record."""
        act = self.recommended_act()
        if act is None:
            return None
        transition = self._route(act, None)
        if transition is None:  # pragma: no cover - recommended acts always have a route
            return None
        if transition.to == self.definition.final:
            return "end"
        return self.definition.step_of(transition.to)

    # ----- showing it --------------------------------------------------------------------------

    def to_text(self) -> str:
        """The protocol as plain text: states, transitions, warnings, and where this one is."""
        definition = self.definition
        out = [
            f"Boundary protocol: {definition.warnings} "
            f"warning{'s' if definition.warnings != 1 else ''} before the conversation may end",
            f"Started by: {', '.join(definition.triggers)}",
            "",
            "States",
        ]
        width = max(map(len, definition.states))
        for name, state in definition.states.items():
            role = (
                "initial"
                if name == definition.initial
                else "final"
                if name == definition.final
                else state.step or ""
            )
            out.append(f"  {name:<{width}}  {role:<7}  {state.label}")
        out += ["", "Transitions"]
        rows = [
            (f"{', '.join(t.from_)} -> {t.to}", t.act + (f" when {t.when}" if t.when else ""))
            for t in definition.transitions
        ]
        left = max(len(r[0]) for r in rows)
        out += [f"  {a:<{left}}  {b}" for a, b in rows]
        step = definition.step_of(self._stage)
        where = f"{self._stage} ({step})" if step else self._stage
        out += [
            "",
            f"Now: {where}, {self.warnings_given} of {definition.warnings} warnings given; "
            f"next: {self.recommended_act() or 'nothing (ended)'}",
        ]
        return "\n".join(out)

    def to_mermaid(self) -> str:
        """The protocol as a Mermaid ``stateDiagram-v2``; the current state is highlighted
        once the protocol has started."""
        definition = self.definition
        out = ["stateDiagram-v2"]
        for name, state in definition.states.items():
            label = _mermaid_text(f"{state.step} {state.label}" if state.step else state.label)
            out.append(f"    {name}: {label}")
        out.append(f"    [*] --> {definition.initial}")
        for t in definition.transitions:
            label = _mermaid_text(t.act + (f", when {t.when}" if t.when else ""))
            out += [f"    {source} --> {t.to}: {label}" for source in t.from_]
        out.append(f"    {definition.final} --> [*]")
        if self._stage != definition.initial:
            out.append("    classDef current font-weight:bold,stroke-width:3px")
            out.append(f"    class {self._stage} current")
        return "\n".join(out) + "\n"


def _mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid label: no characters that end or restructure one."""
    return " ".join("".join(c if c.isalnum() or c in " _-,'()" else " " for c in text).split())


# ----- the premature-end rule --------------------------------------------------------------------

#: The event id under which a draft's acts are tried out.
_DRAFT = "\x00draft"


def premature_end_finding(
    text: str,
    machine: ProtocolMachine,
    definition: ProtocolDefinition,
    *,
    customer_name: str | None = None,
    behaviour: str | None = None,
    variant: int = 0,
) -> Finding | None:
    """A ``block`` finding when a message ends the conversation before the protocol allows it
    (the warning not yet repeated: D4, D5), with the line the protocol recommends instead.

    None when the message does not end the conversation, when the end is allowed, or when
    no protocol is under way (closing an ordinary conversation is not an end of the
    protocol). The message's own warnings do not count for its own end.
    """
    if machine.definition is not definition:
        raise InputError("premature_end_finding: the machine runs a different protocol")
    matches = find_acts(text, definition)
    ending = next((m for m in matches if m.act == END), None)
    if ending is None:
        return None
    probe = machine.copy()
    at = probe.timeline[-1].at if probe.timeline else _EARLIEST
    for match in matches:
        step = probe.apply(match.act, at=at, event_id=_DRAFT, quote="")
        if match.act == END:
            if step is None or step.proper:
                return None
            break
    given, wanted = machine.warnings_given, definition.warnings
    so_far = "no warning given yet" if given == 0 else f"{given} of {wanted} warnings given"
    next_act = machine.recommended_act()
    instead = _INSTEAD.get(next_act or "", "Repeat the warning before you end (D4).")
    if next_act == WARN and given:
        instead = "Repeat the warning first (D4)."
    message = (
        f"Premature end: {so_far}; the playbook asks for {wanted} "
        f"warning{'s' if wanted != 1 else ''} before the conversation ends. {instead}"
    )
    step_id = machine.recommended_step()
    line = None
    if step_id in PROTOCOL_STEPS:
        line = protocol_line(
            definition,
            step_id,
            customer_name=customer_name,
            behaviour=behaviour,
            variant=variant,
        )
    sentence = ending.sentence
    return Finding(
        rule=PREMATURE_END_RULE,
        principle=PREMATURE_END_PRINCIPLE,
        severity=Severity.BLOCK,
        span=sentence,
        message=message,
        text=text[sentence[0] : sentence[1]],
        evidence=(ending.phrase,),
        rewrite=Rewrite(sentence, line) if line else None,
    )
