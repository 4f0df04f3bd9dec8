"""The boundary protocol (D1-D5) as data: states, transitions on the agent's acts, the words
of each act, and the checks that make it a sound state machine.

The definition lives in the playbook (``protocol:``, default in
``default/coaching/protocol.yaml``). It is checked when it is loaded: one initial and one final
state that exist, transitions that name known states, acts and conditions, every state
reachable from the initial one, no dead end, every state able to reach the final one, and a
proper way to end. A condition is a name from :data:`CONDITIONS`, never code.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from calmline.core.settings import Lexicon, Settings
from calmline.core.types import SIGNAL_TYPES
from calmline.errors import ProtocolError

#: The protocol steps of the playbook that states and scripts name.
PROTOCOL_STEPS = ("D1", "D2", "D3", "D4", "D5")

#: Acts an agent's message performs, recognised from the words of ``acts:``.
AGENT_ACTS = ("make_aware", "ask_to_stop", "warn", "invite_back", "end")
#: The act that counts a warning.
WARN = "warn"
#: The act that ends the conversation; taken before it is allowed it is a premature end.
END = "end"
#: The customer has returned to normal (raised by the coach from the customer's messages).
CALMED = "customer_calmed"
#: A threat to safety: the agent may end at once (raised by the coach).
SAFETY_END = "safety_end"
#: Acts the coach raises from what the customer does; they have no words.
EVENT_ACTS = (CALMED, SAFETY_END)

#: The names a transition's ``when:`` may use, with what each one means.
CONDITIONS: dict[str, str] = {
    "enough_warnings": "the agent has given at least `warnings` warnings, in earlier messages",
}

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

StepId = Literal["D1", "D2", "D3", "D4", "D5"]


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


class StateDefinition(Settings):
    """One stage of the protocol."""

    #: a short description, shown by `calmline protocol show` and in the diagram
    label: str = Field(min_length=1, max_length=80)
    #: the playbook step (D1-D5) an agent has done on reaching this state; every state but
    #: the initial and the final one has one
    step: StepId | None = None


class TransitionDefinition(Settings):
    """An act that moves the protocol from one or more states to another."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    #: the state (or list of states) the act applies in
    from_: tuple[str, ...] = Field(alias="from", min_length=1)
    #: the act: one of ``acts:`` or customer_calmed, safety_end
    act: str = Field(min_length=1, max_length=40)
    #: the state the act leads to
    to: str = Field(min_length=1, max_length=40)
    #: a condition from the allow-list (enough_warnings); without one the act always applies
    when: str | None = None

    @field_validator("from_", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class ActDefinition(Settings):
    """The words that show an agent's message performs an act.

    A phrase of ``phrases`` (or of a shared list named in ``include``) performs the act, unless
    it is negated ("I'm not going to end this call"), quoted, part of one of ``exceptions``,
    in a sentence that lacks a phrase of each list of ``requires``, or in a sentence where a
    phrase of a list of ``unless`` comes before it (or after it, in the same clause).
    """

    #: a short description of the act
    label: str = Field(min_length=1, max_length=80)
    #: phrases that perform the act (weight 0 switches a default phrase off)
    phrases: Lexicon = Field(default_factory=dict)
    #: names of shared word lists (``words:``) whose phrases perform the act too
    include: tuple[str, ...] = ()
    #: names of shared word lists; the sentence must hold a phrase of each
    requires: tuple[str, ...] = ()
    #: names of shared word lists; one of their phrases cancels the act in its sentence
    unless: tuple[str, ...] = ()
    #: longer phrases that contain one of the act's without performing it ("end up")
    exceptions: Lexicon = Field(default_factory=dict)


class ProtocolDefinition(Settings):
    """The boundary protocol: stages, the acts that move between them, the words of each act."""

    #: how many warnings (D3, then D4 repeated) before the end is allowed
    warnings: int = Field(default=2, ge=1, le=10)
    #: signal types of a customer message that start the protocol (insults and threats alone
    #: do not: B7)
    triggers: tuple[str, ...] = ("shouting", "profanity")
    #: how the scripts' ``{behaviour}`` names what the customer is doing, by trigger signal,
    #: with ``default`` for anything else (several at once, or none known)
    behaviours: dict[str, str] = Field(default_factory=dict)
    #: the state a conversation starts in (normal conversation)
    initial: str = Field(min_length=1, max_length=40)
    #: the state that ends the conversation
    final: str = Field(min_length=1, max_length=40)
    #: the states by name; give a default state ``null`` to remove it (when renaming one)
    states: dict[str, StateDefinition] = Field(min_length=2)
    #: the transitions; the first one that applies wins
    transitions: tuple[TransitionDefinition, ...] = Field(min_length=1)
    #: shared word lists the acts name in ``include``, ``requires`` and ``unless``
    words: dict[str, Lexicon] = Field(default_factory=dict)
    #: the agent acts and their words
    acts: dict[str, ActDefinition] = Field(min_length=1)
    #: the playbook's scripted lines by step (D1-D5), attached by the playbook it belongs to
    _scripts: dict[str, tuple[str, ...]] = PrivateAttr(default_factory=dict)

    @field_validator("states", mode="before")
    @classmethod
    def _drop_removed(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: v for k, v in value.items() if v is not None}
        return value

    @field_validator("behaviours")
    @classmethod
    def _behaviour_words(cls, value: dict[str, str]) -> dict[str, str]:
        for key, words in value.items():
            if not words.strip() or len(words) > 60:
                raise ValueError(f"{key}: give a few words (1-60 characters)")
        return value

    @model_validator(mode="after")
    def _sound(self, info: ValidationInfo) -> ProtocolDefinition:
        if info.context and info.context.get("defer_references"):
            return self  # the loader reports them, with file and line
        problems = self.problems()
        if problems:
            raise ProtocolError(
                "the boundary protocol is not sound: "
                + "; ".join(f"protocol.{path}: {msg}" for path, msg in problems)
            )
        return self

    # ----- reading it ----------------------------------------------------------------------

    @property
    def agent_acts(self) -> tuple[str, ...]:
        """The acts recognised in agent messages, in the order the playbook recommends them."""
        return tuple(self.acts)

    @property
    def known_acts(self) -> frozenset[str]:
        return frozenset(self.acts) | frozenset(EVENT_ACTS)

    def step_of(self, state: str) -> str | None:
        found = self.states.get(state)
        return found.step if found else None

    def behaviour_for(self, signal_types: Iterable[str]) -> str:
        """The words for ``{behaviour}`` given the signal types of the customer's message."""
        found = [t for t in dict.fromkeys(signal_types) if t in self.behaviours]
        if len(found) == 1:
            return self.behaviours[found[0]]
        return self.behaviours.get("default", "speaking to me like this")

    @property
    def scripts(self) -> Mapping[str, tuple[str, ...]]:
        """The scripted lines of each step (D1-D5) of the playbook this protocol is part of."""
        return self._scripts

    def attach_scripts(self, scripts: Mapping[str, Iterable[str]]) -> None:
        """Give the protocol the playbook's scripted lines (the playbook does this itself)."""
        self._scripts = {step: tuple(lines) for step, lines in scripts.items()}

    # ----- checking it ---------------------------------------------------------------------

    def problems(self) -> list[tuple[str, str]]:
        """(key path under ``protocol``, problem) for everything that makes it unsound."""
        problems = [
            *self._name_problems(),
            *self._state_problems(),
            *self._act_problems(),
            *self._transition_problems(),
        ]
        if problems:  # the graph checks would only repeat the same mistakes
            return problems
        return list(self._graph_problems())

    def _name_problems(self) -> Iterator[tuple[str, str]]:
        pattern = _NAME
        for kind, names in (("states", self.states), ("acts", self.acts), ("words", self.words)):
            for name in names:
                if not pattern.match(name):
                    yield (
                        f"{kind}.{name}",
                        "names are lower-case letters, digits and _, starting with a letter "
                        "(at most 40)",
                    )
        for i, trigger in enumerate(self.triggers):
            if trigger not in SIGNAL_TYPES and not trigger.startswith("custom."):
                yield (
                    f"triggers.{i}",
                    f"{trigger!r} is not a signal type (see docs/signals.md; a team word list "
                    "signals custom.<name>)",
                )
        for key in self.behaviours:
            if key != "default" and key not in self.triggers:
                yield (
                    f"behaviours.{key}",
                    f"{key!r} is not one of the triggers ({_names(self.triggers)}) or default",
                )

    def _state_problems(self) -> Iterator[tuple[str, str]]:
        states = self.states
        for key, name in (("initial", self.initial), ("final", self.final)):
            if name not in states:
                yield key, f"{name!r} is not a state; the states are {_names(states)}"
        if self.initial == self.final:
            yield "final", "the final state must differ from the initial one"
        if self.initial not in states or self.final not in states:
            return  # which states need a step depends on these two
        for name, state in states.items():
            ends = name in (self.initial, self.final)
            if ends and state.step is not None:
                yield (
                    f"states.{name}.step",
                    f"the {'initial' if name == self.initial else 'final'} state has no step",
                )
            elif not ends and state.step is None:
                yield (
                    f"states.{name}.step",
                    "give the playbook step (D1-D5) an agent has done on reaching this state",
                )

    def _act_problems(self) -> Iterator[tuple[str, str]]:
        for event_act in EVENT_ACTS:
            if event_act in self.acts:
                yield (
                    f"acts.{event_act}",
                    "is raised by the coach from the customer's messages; it has no words",
                )
        missing = [a for a in AGENT_ACTS if a not in self.acts]
        if missing:
            yield "acts", f"missing the act(s) {', '.join(missing)}"
        for name, act in self.acts.items():
            for field in ("include", "requires", "unless"):
                for i, listed in enumerate(getattr(act, field)):
                    if listed not in self.words:
                        yield (
                            f"acts.{name}.{field}.{i}",
                            f"{listed!r} is not a word list of protocol.words "
                            f"({_names(self.words) or 'none defined'})",
                        )
            own = any(w > 0 for w in act.phrases.values())
            shared = any(
                w > 0 for listed in act.include for w in self.words.get(listed, {}).values()
            )
            if not own and not shared:
                yield (
                    f"acts.{name}.phrases",
                    "no phrase with a weight above 0: the act could never be recognised",
                )

    def _transition_problems(self) -> Iterator[tuple[str, str]]:
        states, acts = self.states, self.known_acts
        seen: dict[tuple[str, str], tuple[int, str | None]] = {}
        uses_warnings = False
        for i, t in enumerate(self.transitions):
            where = f"transitions.{i}"
            for n, source in enumerate(t.from_):
                if source not in states:
                    yield (
                        f"{where}.from.{n}" if len(t.from_) > 1 else f"{where}.from",
                        f"{source!r} is not a state; the states are {_names(states)}",
                    )
                elif source == self.final and source != self.initial:
                    yield (
                        f"{where}.from",
                        f"leaves the final state {self.final!r}; nothing happens after the end",
                    )
            if t.to not in states:
                yield f"{where}.to", f"{t.to!r} is not a state; the states are {_names(states)}"
            if t.act not in acts:
                yield f"{where}.act", f"{t.act!r} is not an act; the acts are {_names(acts)}"
            if t.when is not None and t.when not in CONDITIONS:
                yield (
                    f"{where}.when",
                    f"{t.when!r} is not a condition; the allowed ones are {_names(CONDITIONS)}",
                )
            uses_warnings = uses_warnings or t.when == "enough_warnings"
            ends_known = self.initial in states and self.final in states
            if ends_known and t.act in (END, SAFETY_END) and t.to in states and t.to != self.final:
                yield f"{where}.to", f"{t.act} ends the conversation: go to {self.final!r}"
            if ends_known and t.act == CALMED and t.to in states and t.to != self.initial:
                yield (
                    f"{where}.to",
                    f"{CALMED} returns the conversation to normal: go to {self.initial!r}",
                )
            for source in t.from_:
                earlier = seen.get((source, t.act))
                if earlier is None:
                    seen[(source, t.act)] = (i, t.when)
                elif earlier[1] is None or earlier[1] == t.when:
                    yield (
                        where,
                        f"can never apply from {source!r}: transition {earlier[0]} already "
                        f"takes {t.act!r} there"
                        + ("" if earlier[1] is None else f" when {earlier[1]}"),
                    )
        if not any(t.act == END for t in self.transitions):
            yield "transitions", f"no transition on {END!r}: every end would be premature"
        if uses_warnings and not any(t.act == WARN for t in self.transitions):
            yield "transitions", f"'when: enough_warnings' needs a transition on {WARN!r}"

    def _graph_problems(self) -> Iterator[tuple[str, str]]:
        edges: dict[str, set[str]] = {name: set() for name in self.states}
        for t in self.transitions:
            for source in t.from_:
                edges[source].add(t.to)
        reachable = _closure([self.initial], edges)
        for name in self.states:
            if name not in reachable:
                yield (
                    f"states.{name}",
                    f"unreachable: no sequence of transitions leads to it from {self.initial!r}",
                )
        for name in self.states:
            if name != self.final and not edges[name]:
                yield (
                    f"states.{name}",
                    "a dead end: no transition leaves it (only the final state may have none)",
                )
        backwards: dict[str, set[str]] = {name: set() for name in self.states}
        for source, targets in edges.items():
            for target in targets:
                backwards[target].add(source)
        to_final = _closure([self.final], backwards)
        for name in self.states:
            if name in reachable and edges[name] and name not in to_final:
                yield (
                    "transitions",
                    f"from the state {name!r} no sequence of transitions reaches the final "
                    f"state {self.final!r}",
                )
        if not self._ends_properly():
            yield (
                "transitions",
                f"with warnings: {self.warnings}, no sequence of the agent's acts reaches "
                f"{self.final!r} (only a safety end would); let the warnings add up, for "
                f"example with a {WARN!r} transition from the last warning state to itself",
            )

    def _ends_properly(self) -> bool:
        """Whether the agent's own acts can reach the final state, counting warnings."""
        start = (self.initial, 0)
        seen = {start}
        todo = deque([start])
        while todo:
            state, given = todo.popleft()
            if state == self.final:
                return True
            for t in self.transitions:
                if state not in t.from_ or t.act in EVENT_ACTS:
                    continue
                if t.when == "enough_warnings" and given < self.warnings:
                    continue
                count = min(self.warnings, given + (t.act == WARN))
                nxt = (t.to, 0 if t.to == self.initial else count)
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False


def _closure(start: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
