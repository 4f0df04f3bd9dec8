"""Roleplay scenarios as data: the persona, the facts, a hidden state and how it reacts, the
customer's lines per situation and the ways it ends; validated against the playbook on load.

A scenario is one YAML file; its name is the file name without ``.yaml``. The built-in ones
ship in ``calmline/trainer/scenarios/``; a team's folder (``CALMLINE_SCENARIOS`` or the
``folder`` argument) adds scenarios or replaces a built-in one of the same name.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable, Mapping
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from calmline.errors import ScenarioError
from calmline.playbook.loader import _line_of, _Source, _StrictLoader, load_playbook
from calmline.playbook.schema import Playbook

#: Fewest variants of one situation's lines, so a session does not sound canned.
MIN_LINES = 4
#: Largest scenario file read.
MAX_SCENARIO_BYTES = 1_000_000
#: The rule id the coach gives a premature end (walking away before the warnings).
PREMATURE_END_RULE = "D5"
#: Pacing advice kinds a reply can earn (see calmline.coach.pacing).
PACING_KINDS = ("replied_too_fast", "time_out", "wall_of_text", "rapid_fire", "words_per_minute")
#: Placeholders every customer line may use; ``facts.terms`` adds more.
LINE_SLOTS = frozenset({"customer", "company"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_BUILT_IN_PACKAGE = "calmline.trainer"


class Intent(StrEnum):
    """What the customer hears in a trainee's reply, in the order the simulator checks for it."""

    MAKE_AWARE = "make_aware"
    ASK_TO_STOP = "ask_to_stop"
    WARN = "warn"
    REFUSAL = "refusal"
    ARGUMENT = "argument"
    APOLOGY = "apology"
    OFFER = "offer"
    QUESTION = "question"
    OTHER = "other"


class Band(StrEnum):
    """How angry the customer is now (from the hidden anger and the scenario's ``bands``)."""

    CALM = "calm"
    UPSET = "upset"
    FURIOUS = "furious"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Level = Annotated[float, Field(ge=0.0, le=1.0)]
Change = Annotated[float, Field(ge=-1.0, le=1.0)]
Line = Annotated[str, Field(min_length=1, max_length=600)]
LineBank = Annotated[list[Line], Field(min_length=MIN_LINES)]


class HiddenState(Model):
    """The customer's hidden state; each 0-1. Anger sets the band, patience running out ends
    the conversation with the customer leaving, trust is what lets them accept an answer."""

    anger: Level
    patience: Level
    trust: Level


class StateChange(Model):
    """How one thing the trainee does moves the hidden state (each -1 to +1)."""

    anger: Change = 0.0
    patience: Change = 0.0
    trust: Change = 0.0


class Persona(Model):
    """Who the customer is."""

    #: the customer's name, as the trainee may use it
    name: str = Field(min_length=1, max_length=80)
    #: one or two sentences for the trainee's briefing
    description: str = Field(min_length=3, max_length=600)
    #: shouts or swears at the agent: the boundary protocol (D) is scored
    abusive: bool = False
    #: asks for more than the policy gives: relenting (E) is scored
    demand: bool = False


class RelentFacts(Model):
    """The figures of a demand, as calmline.coach.relent.RelentRequest takes them."""

    #: the amount at stake (receipts, the price paid)
    claim: float = Field(gt=0, le=10_000_000)
    #: what the customer asks for: "100%" or an amount
    demand: str = Field(min_length=1, max_length=40)
    #: what the policy allows: "50%" or an amount
    policy: str = Field(min_length=1, max_length=40)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    annual_spend: float = Field(default=0.0, ge=0, le=10_000_000)
    tenure_years: float = Field(default=0.0, ge=0, le=200)
    #: the company itself caused the expectation (told "covered")
    promised: bool = False
    #: threat.churn, threat.public, threat.legal
    threats: list[str] = Field(default_factory=list)
    #: why the policy says what it says, for the debrief's better line
    reason: str | None = Field(default=None, max_length=300)


class Facts(Model):
    """The facts of the case, shown to the trainee before the session."""

    company: str = Field(min_length=1, max_length=80)
    what_happened: str = Field(min_length=3, max_length=1200)
    policy: str = Field(min_length=3, max_length=1200)
    can_offer: list[str] = Field(min_length=1)
    #: words the lines use as placeholders: {item}, {amount} ...
    terms: dict[str, str] = Field(default_factory=dict)
    #: the demand's figures, for demand personas (E)
    relent: RelentFacts | None = None


class Reactions(Model):
    """How the hidden state moves after each reply: every matching entry adds its change."""

    #: good behaviours the engine credits: empathy, apology, ownership, explanation ...
    credits: dict[str, StateChange] = Field(default_factory=dict)
    #: the engine's findings by rule id (B1 telling them they are wrong, B2 arguing ...)
    rules: dict[str, StateChange] = Field(default_factory=dict)
    #: protocol acts the reply performs: make_aware, ask_to_stop, warn ...
    acts: dict[str, StateChange] = Field(default_factory=dict)
    #: the reply's intent (refusal, offer, question, other ...)
    intents: dict[Intent, StateChange] = Field(default_factory=dict)
    #: pacing advice the reply earned (replied_too_fast ...)
    pacing: dict[str, StateChange] = Field(default_factory=dict)
    #: an offer, by the relent option it is closest to (demand personas)
    offers: dict[Literal["stand_firm", "bargain", "grant"], StateChange] = Field(
        default_factory=dict
    )
    #: added after every reply (time passing usually costs patience)
    every_turn: StateChange = Field(default_factory=StateChange)


class Bands(Model):
    """Anger from which the customer is upset, and from which they are furious."""

    upset: float = Field(default=0.35, gt=0, lt=1)
    furious: float = Field(default=0.7, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.furious <= self.upset:
            raise ValueError(f"furious ({self.furious}) must be above upset ({self.upset})")
        return self

    def of(self, anger: float) -> Band:
        if anger >= self.furious:
            return Band.FURIOUS
        return Band.UPSET if anger >= self.upset else Band.CALM


class Lines(Model):
    """The customer's lines: the opening, then per band a bank for each intent they answer.
    ``other`` is required in every band; an intent without lines falls back to it."""

    opening: LineBank
    calm: dict[Intent, LineBank]
    upset: dict[Intent, LineBank]
    furious: dict[Intent, LineBank]

    def bank(self, band: Band) -> Mapping[Intent, list[str]]:
        found: dict[Intent, list[str]] = getattr(self, band.value)
        return found


class EndWhen(Model):
    """When an ending happens by itself: all the given conditions hold."""

    anger_at_most: Level | None = None
    anger_at_least: Level | None = None
    patience_at_most: Level | None = None
    trust_at_least: Level | None = None

    def holds(self, state: HiddenState) -> bool:
        checks = (
            self.anger_at_most is None or state.anger <= self.anger_at_most,
            self.anger_at_least is None or state.anger >= self.anger_at_least,
            self.patience_at_most is None or state.patience <= self.patience_at_most,
            self.trust_at_least is None or state.trust >= self.trust_at_least,
        )
        return all(checks)

    @property
    def empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())


class Ending(Model):
    """The customer's last lines for one way the scenario ends."""

    lines: Annotated[list[Line], Field(min_length=2)]


class ConditionalEnding(Ending):
    #: any of these (each a set of conditions that must all hold) ends it
    when: Annotated[list[EndWhen], Field(min_length=1)]

    def holds(self, state: HiddenState) -> bool:
        return any(w.holds(state) for w in self.when)


class Endings(Model):
    #: the customer accepts the answer
    resolved: ConditionalEnding
    #: the customer gives up on the agent and leaves (patience gone, or fury)
    leaves_angry: ConditionalEnding
    #: the trainee ended it through the boundary protocol, warnings given
    ended_properly: Ending
    #: the trainee walked away before the protocol allowed it (the coach's D5 block)
    ended_improperly: Ending


class Training(Model):
    """How a session is scored (overrides of the defaults in calmline.trainer.scoring)."""

    pass_mark: int = Field(default=70, ge=0, le=100)
    #: weight of each principle group in the overall score
    weights: dict[Literal["A", "B", "C", "D", "E"], Annotated[float, Field(ge=0, le=10)]] = Field(
        default_factory=dict
    )
    #: a reply slower than this (seconds) counts as stalling (A3)
    stall_seconds: float = Field(default=90.0, gt=0, le=3600)


class Scenario(Model):
    """One roleplay: who, what happened, the hidden state and how it moves, lines, endings."""

    version: Literal[1] = 1
    title: str = Field(min_length=3, max_length=120)
    persona: Persona
    facts: Facts
    #: the principles this scenario trains (ids of the playbook)
    principles: list[str] = Field(min_length=1)
    start: HiddenState
    bands: Bands = Field(default_factory=Bands)
    reactions: Reactions
    lines: Lines
    endings: Endings
    #: the customer's lines after which, with no ending, the session stops (turn_limit)
    turn_limit: int = Field(default=12, ge=2, le=60)
    training: Training = Field(default_factory=Training)
    #: the file name without .yaml (set by the loader)
    name: str = Field(default="", max_length=60)
    #: where it was read from (set by the loader)
    source: str = Field(default="", max_length=4096)

    def placeholders(self) -> frozenset[str]:
        return LINE_SLOTS | frozenset(self.facts.terms)

    def slots(self) -> dict[str, str]:
        """The values of the placeholders of the lines."""
        return {"customer": self.persona.name, "company": self.facts.company, **self.facts.terms}


# ----- checks against the playbook ----------------------------------------------------------


def _fallback_problems(scenario: Scenario) -> Iterable[tuple[str, str]]:
    for band in Band:
        if Intent.OTHER not in scenario.lines.bank(band):
            yield (
                f"lines.{band.value}",
                "needs an 'other' list, the answer to a reply that fits no other situation",
            )


def _placeholder_problems(scenario: Scenario) -> Iterable[tuple[str, str]]:
    allowed = scenario.placeholders()
    named = ", ".join("{" + s + "}" for s in sorted(allowed))

    def check(path: str, line: str) -> Iterable[tuple[str, str]]:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(line) if f is not None]
        except ValueError:
            yield path, f"unbalanced braces in {line!r}"
            return
        for f in fields:
            if f not in allowed:
                yield path, f"{{{f}}} is not a placeholder here; use one of {named} (or add it "
                "to facts.terms)"

    for n, line in enumerate(scenario.lines.opening):
        yield from check(f"lines.opening.{n}", line)
    for band in Band:
        for intent, bank in scenario.lines.bank(band).items():
            for n, line in enumerate(bank):
                yield from check(f"lines.{band.value}.{intent.value}.{n}", line)
    for kind in ("resolved", "leaves_angry", "ended_properly", "ended_improperly"):
        ending: Ending = getattr(scenario.endings, kind)
        for n, line in enumerate(ending.lines):
            yield from check(f"endings.{kind}.lines.{n}", line)


def _reachable_problems(scenario: Scenario) -> Iterable[tuple[str, str]]:
    """Endings that no reaction can ever bring about."""
    r = scenario.reactions
    changes = [
        *r.credits.values(),
        *r.rules.values(),
        *r.acts.values(),
        *r.intents.values(),
        *r.offers.values(),
        *r.pacing.values(),
        r.every_turn,
    ]
    start = scenario.start
    moves = {
        "anger_at_most": (start.anger, min((c.anger for c in changes), default=0.0) < 0, "lowers"),
        "anger_at_least": (start.anger, max((c.anger for c in changes), default=0.0) > 0, "raises"),
        "patience_at_most": (start.patience, min(c.patience for c in changes) < 0, "lowers"),
        "trust_at_least": (start.trust, max(c.trust for c in changes) > 0, "raises"),
    }
    for kind in ("resolved", "leaves_angry"):
        ending: ConditionalEnding = getattr(scenario.endings, kind)
        for n, when in enumerate(ending.when):
            if when.empty:
                yield f"endings.{kind}.when.{n}", "give at least one condition"
                continue
            for key, value in when.model_dump().items():
                if value is None:
                    continue
                now, movable, verb = moves[key]
                already = now <= value if key.endswith("at_most") else now >= value
                if not already and not movable:
                    what = key.rsplit("_", 2)[0]
                    yield (
                        f"endings.{kind}.when.{n}.{key}",
                        f"cannot be reached: starts at {now} and no reaction {verb} {what}",
                    )


def _playbook_problems(scenario: Scenario, playbook: Playbook) -> Iterable[tuple[str, str]]:
    principles = {p.id for p in playbook.principles}
    for n, pid in enumerate(scenario.principles):
        if pid not in principles:
            yield f"principles.{n}", f"{pid!r} is not a principle of the playbook (A1..E3)"
    known = {
        "credits": set(playbook.credits),
        "rules": set(playbook.rules) | {PREMATURE_END_RULE},
        "acts": set(playbook.protocol.agent_acts),
        "pacing": set(PACING_KINDS),
    }
    for section, names in known.items():
        table: dict[str, StateChange] = getattr(scenario.reactions, section)
        for key in table:
            if key not in names:
                listed = ", ".join(sorted(names))
                yield f"reactions.{section}.{key}", f"unknown name; expected one of {listed}"
    if scenario.persona.demand and scenario.facts.relent is None:
        yield "facts.relent", "a demand persona needs the demand's figures (claim, demand, policy)"
    if scenario.reactions.offers and scenario.facts.relent is None:
        yield "reactions.offers", "offers are judged against facts.relent, which is missing"


# ----- reading files -------------------------------------------------------------------------


def _parse(name: str, raw: bytes) -> _Source:
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            f"{name}: the file is {len(raw):,} bytes; a scenario may be at most "
            f"{MAX_SCENARIO_BYTES:,}",
            source=name,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{name}: not valid UTF-8 at byte {exc.start}", source=name) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        raise ScenarioError(f"{where}: not valid YAML: {exc.problem}", source=name) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{name}: not valid YAML: {exc}", source=name) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{name}: a scenario is a mapping (title, persona, facts, start, reactions, lines, "
            f"endings), got {type(data).__name__}",
            source=name,
        )
    return _Source(name, text, data)


def _where(source: _Source, dotted: str) -> str:
    loc: list[Any] = [int(p) if p.isdigit() else p for p in dotted.split(".")] if dotted else []
    line = _line_of(source, loc)
    return f"{source.name}:{line}" if line else source.name


def _fail(source: _Source, problems: list[tuple[str, str]]) -> ScenarioError:
    lines = [f"{_where(source, path)}: {path or '(top level)'}: {msg}" for path, msg in problems]
    head = (
        lines[0]
        if len(lines) == 1
        else f"{len(lines)} problems in the scenario:\n  " + ("\n  ".join(lines))
    )
    return ScenarioError(head, source=source.name, problems=lines)


def _validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"] if p != "[key]")
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/training.md for the layout)"
        elif err["type"] == "missing":
            message = "required key is missing"
        elif err["type"] == "too_short" and path.startswith("lines."):
            message = f"give at least {MIN_LINES} lines so the customer does not repeat themselves"
        elif err["type"] == "enum":
            message = "unknown situation; expected one of " + ", ".join(i.value for i in Intent)
        got = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(got, dict | list):
            message += f" (got {got!r})"
        problems.append((path, message))
    return problems


def parse_scenario(
    name: str, raw: bytes, *, playbook: Playbook | None = None, source: str | None = None
) -> Scenario:
    """One scenario from the bytes of its YAML file; ``name`` is its name (the file stem).

    Raises :class:`ScenarioError` naming the file, line and key of every problem.
    """
    shown = source or f"{name}.yaml"
    parsed = _parse(shown, raw)
    if not _NAME.match(name):
        raise ScenarioError(
            f"{shown}: the file name {name!r} is the scenario's name; use lower-case letters, "
            "digits and hyphens (for example my-team-refund.yaml)",
            source=shown,
        )
    try:
        scenario = Scenario.model_validate(parsed.data)
    except ValidationError as exc:
        raise _fail(parsed, _validation_problems(exc)) from None
    book = playbook if playbook is not None else load_playbook()
    problems = [
        *_fallback_problems(scenario),
        *_playbook_problems(scenario, book),
        *_placeholder_problems(scenario),
        *_reachable_problems(scenario),
    ]
    if problems:
        raise _fail(parsed, problems)
    return scenario.model_copy(update={"name": name, "source": shown})


def load_scenario(path: str | Path, *, playbook: Playbook | None = None) -> Scenario:
    """One scenario file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such scenario file", source=str(p)) from None
    except IsADirectoryError:
        raise ScenarioError(
            f"{p}: is a folder; give a scenario's .yaml file", source=str(p)
        ) from None
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read it ({exc.strerror})", source=str(p)) from None
    return parse_scenario(p.stem, raw, playbook=playbook, source=str(p))


def load_scenarios(
    folder: str | Path | None = None, *, playbook: Playbook | None = None
) -> dict[str, Scenario]:
    """The built-in scenarios, with a team's folder over them (``folder``, else the
    ``CALMLINE_SCENARIOS`` variable when set): a team file of the same name replaces the
    built-in one. Sorted by name."""
    book = playbook if playbook is not None else load_playbook()
    found: dict[str, Scenario] = {}
    root = resources.files(_BUILT_IN_PACKAGE).joinpath("scenarios")
    for item in sorted(root.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".yaml"):
            stem = item.name.removesuffix(".yaml")
            found[stem] = parse_scenario(
                stem, item.read_bytes(), playbook=book, source=f"scenarios/{item.name}"
            )
    team = folder if folder is not None else os.environ.get("CALMLINE_SCENARIOS") or None
    if team is not None:
        where = Path(team)
        if not where.is_dir():
            raise ScenarioError(f"{where}: no such folder of scenarios", source=str(where))
        for path in sorted(where.glob("*.yaml")):
            found[path.stem] = load_scenario(path, playbook=book)
    return dict(sorted(found.items()))
