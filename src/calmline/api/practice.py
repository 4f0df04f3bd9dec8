"""Roleplay over HTTP: a stored practice session played on from its seed and replies.

A practice session is kept as its scenario, seed and the trainee's replies (with how long
each took). Every request rebuilds the trainer's :class:`~calmline.trainer.simulator.Session`
from those (the customer's lines are seeded, so the replay is exact) and plays the new reply
on it before storing it: a reply the session refuses is never stored. A reply's time is
measured by the server, from the customer's previous line to the reply's arrival.

The customer's mood band stays hidden while the chat goes on, as in ``calmline train``; the
debrief shows it. The first read of a finished session's debrief records it in the
training store, so it counts in the trainee's progress.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from calmline.api.services import Services
from calmline.core.analyzer import Engine
from calmline.errors import InputError, PracticeConflict
from calmline.playbook.schema import Playbook
from calmline.store.practice import PracticeRecord
from calmline.trainer.scenario import Band, Scenario, load_scenarios
from calmline.trainer.scoring import Debrief, score
from calmline.trainer.simulator import CustomerTurn, Session

#: Seeds drawn when none is given (small enough to retype, as in calmline train).
SEED_RANGE = 1_000_000
_DIFFICULTY = {Band.CALM: "easy", Band.UPSET: "medium", Band.FURIOUS: "hard"}


class ScenarioBook:
    """The scenarios for the playbook in force, read again when the playbook changes."""

    def __init__(self) -> None:
        self._held: tuple[Engine, dict[str, Scenario]] | None = None
        self._lock = threading.Lock()

    def scenarios(self, engine: Engine) -> dict[str, Scenario]:
        with self._lock:
            held = self._held
        if held is not None and held[0] is engine:
            return held[1]
        playbook = engine.settings if isinstance(engine.settings, Playbook) else None
        found = load_scenarios(None, playbook=playbook)
        with self._lock:
            self._held = (engine, found)
        return found

    def get(self, engine: Engine, name: str) -> Scenario:
        found = self.scenarios(engine)
        if name not in found:
            raise InputError(
                f"scenario: no scenario {name!r}; the scenarios are: {', '.join(found)}"
            )
        return found[name]


BOOK = ScenarioBook()


def scenario_summary(scenario: Scenario) -> dict[str, Any]:
    """A scenario as the trainee picks it: what it trains and the briefing."""
    groups = ["A", "B", "C"] + (["D"] if scenario.persona.abusive else [])
    groups += ["E"] if scenario.persona.demand else []
    return {
        "id": scenario.name,
        "title": scenario.title,
        "summary": scenario.persona.description,
        "customer": scenario.persona.name,
        "principles": list(scenario.principles),
        "difficulty": _DIFFICULTY[scenario.bands.of(scenario.start.anger)],
        "scored_on": groups,
        "briefing": briefing(scenario),
    }


def briefing(scenario: Scenario) -> dict[str, Any]:
    facts = scenario.facts
    return {
        "customer": scenario.persona.name,
        "description": scenario.persona.description,
        "company": facts.company,
        "what_happened": facts.what_happened,
        "policy": facts.policy,
        "can_offer": list(facts.can_offer),
    }


def seed_or_random(seed: int | None) -> int:
    return secrets.randbelow(SEED_RANGE) if seed is None else seed


def replay(record: PracticeRecord, scenario: Scenario, engine: Engine) -> Session:
    """The session as far as the stored replies took it."""
    session = Session(scenario, engine, seed=record.seed, trainee=record.trainee)
    session.opening()
    for text, seconds in record.replies:
        if session.done:  # the playbook changed under a running session: stop where it ends
            break
        session.reply(text, seconds=seconds)
    return session


def view(record: PracticeRecord, session: Session) -> dict[str, Any]:
    """The session as the trainee sees it: the lines so far, whether it has ended, how."""
    turns: list[dict[str, Any]] = []
    for exchange in session.transcript:
        turn: dict[str, Any] = {"role": exchange.role, "text": exchange.text}
        if exchange.role != "customer":
            turn["seconds"] = exchange.reply_seconds
        turns.append(turn)
    outcome = session.outcome
    return {
        "id": record.id,
        "scenario": record.scenario,
        "title": session.scenario.title,
        "customer_name": session.scenario.persona.name,
        "trainee": record.trainee,
        "seed": record.seed,
        "replies": len(record.replies),
        "turns": turns,
        "done": session.done,
        "outcome": outcome.value if outcome is not None else None,
        "debriefed": record.training_session_id is not None,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "briefing": briefing(session.scenario),
    }


def customer_view(turn: CustomerTurn, session: Session) -> dict[str, Any]:
    """The customer's answer; its band only once the session is over (reading the customer
    is part of the exercise)."""
    shown = turn.to_dict()
    if not session.done:
        shown["band"] = None
    return shown


def _now() -> datetime:
    return datetime.now(UTC)


class Practice:
    """Practice sessions on the running services."""

    def __init__(self, services: Services, book: ScenarioBook = BOOK) -> None:
        self.services = services
        self.book = book

    def scenarios(self) -> dict[str, Scenario]:
        return self.book.scenarios(self.services.engine)

    def start(
        self, trainee: str, scenario: str, seed: int | None, created_by: str
    ) -> dict[str, Any]:
        engine = self.services.engine
        chosen = self.book.get(engine, scenario)
        record = self.services.practice.start(
            trainee, chosen.name, seed_or_random(seed), created_by
        )
        return view(record, replay(record, chosen, engine))

    def session(self, record: PracticeRecord) -> Session:
        engine = self.services.engine
        return replay(record, self.book.get(engine, record.scenario), engine)

    def reply(self, record: PracticeRecord, text: str, turn: int | None) -> dict[str, Any]:
        """Play the trainee's reply and store it; the customer's answer and the session."""
        seen = len(record.replies)
        if turn is not None and turn != seen:
            raise PracticeConflict(
                f"practice session {record.id} has {seen} replies, not {turn}: another reply "
                "came first; read the session again"
            )
        session = self.session(record)
        if session.done or record.finished:
            raise PracticeConflict(
                f"practice session {record.id} has ended; it takes no more replies"
            )
        seconds = max(0.0, round((_now() - record.updated_at).total_seconds(), 3))
        answer = session.reply(text, seconds=seconds)
        record = self.services.practice.add_reply(record.id, text, seconds, expected=seen)
        if session.done:
            record = self.services.practice.finish(record.id, None)
        return {**view(record, session), "customer": customer_view(answer, session)}

    def debrief(self, record: PracticeRecord) -> Debrief:
        """The finished session's debrief, recorded in the training store the first time."""
        session = self.session(record)
        if not session.done:
            raise PracticeConflict(
                f"practice session {record.id} has not ended yet; reply until it is done"
            )
        debrief = score(session)
        if record.training_session_id is None:
            # One transaction locks the practice session, records the debrief and links it:
            # two first reads at once (in any process) record it once.
            finished = record.finished_at or record.updated_at
            self.services.training.record(
                record.trainee,
                debrief.to_dict(),
                started_at=record.started_at,
                finished_at=max(finished, record.started_at),
                practice_id=record.id,
            )
        return debrief
