"""Trainees' roleplay sessions: storing each debrief and reading back their progress.

A trainee is known by name and created the first time a session of theirs is recorded. Each
session keeps the scenario, seed, outcome, pass or fail, the scores per principle group
(A composure, B don'ts, C do's, D protocol, E relent, and overall: 0-100, or null for a group
the scenario does not count) and the whole debrief. ``progress`` turns a trainee's sessions into
what a coach wants to see: each group's scores over time with its trend, and per scenario the
attempts, the best overall score and whether it was ever passed.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from calmline.errors import InputError, StoreError, UnknownPractice, UnknownTrainee
from calmline.store import models
from calmline.store.db import Store
from calmline.store.models import NAME_CHARS, OUTCOME_CHARS, PRACTICE_ID_CHARS, SCENARIO_CHARS
from calmline.store.queries import unstorable

#: The principle groups a session is scored on, then the overall score.
GROUPS = ("A", "B", "C", "D", "E")
SCORE_KEYS = (*GROUPS, "overall")
#: The trend compares the latest score with the mean of up to this many scores before it ...
TREND_WINDOW = 3
#: ... and calls a difference of at least this many points a change.
TREND_MARGIN = 5.0

_SEED_RANGE = (-(2**63), 2**63 - 1)


class Trend(StrEnum):
    """Which way a trainee's score for a group is going over the last sessions."""

    IMPROVING = "improving"
    STEADY = "steady"
    DECLINING = "declining"


def trend_of(scores: Sequence[float]) -> Trend | None:
    """The trend of ``scores`` (oldest first): the latest against the mean of the few before it,
    TREND_MARGIN points or more apart being a change; None with fewer than two scores."""
    if len(scores) < 2:
        return None
    *before, latest = scores
    window = before[-TREND_WINDOW:]
    difference = latest - sum(window) / len(window)
    if difference >= TREND_MARGIN:
        return Trend.IMPROVING
    if difference <= -TREND_MARGIN:
        return Trend.DECLINING
    return Trend.STEADY


@dataclass(frozen=True, slots=True)
class StoredTrainingSession:
    """One recorded session as read back."""

    id: int
    trainee: str
    scenario: str
    seed: int
    outcome: str
    passed: bool
    #: A..E and overall, each 0-100 or None (the group was not counted)
    scores: Mapping[str, float | None]
    debrief: Mapping[str, Any]
    started_at: datetime
    finished_at: datetime

    @classmethod
    def from_row(cls, row: models.TrainingSession, trainee: str) -> StoredTrainingSession:
        return cls(
            id=row.id,
            trainee=trainee,
            scenario=row.scenario,
            seed=row.seed,
            outcome=row.outcome,
            passed=row.passed,
            scores={key: row.scores.get(key) for key in SCORE_KEYS},
            debrief=row.debrief,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "trainee": self.trainee,
            "scenario": self.scenario,
            "seed": self.seed,
            "outcome": self.outcome,
            "passed": self.passed,
            "scores": dict(self.scores),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class GroupProgress:
    """One principle group (or ``overall``) across a trainee's sessions."""

    group: str
    #: the scores of the sessions that counted this group, oldest first
    scores: tuple[float, ...]
    latest: float | None
    trend: Trend | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "scores": list(self.scores),
            "latest": self.latest,
            "trend": None if self.trend is None else self.trend.value,
        }


@dataclass(frozen=True, slots=True)
class ScenarioProgress:
    """A trainee's attempts at one scenario."""

    scenario: str
    attempts: int
    best_overall: float | None
    #: passed at least once
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "attempts": self.attempts,
            "best_overall": self.best_overall,
            "passed": self.passed,
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """How a trainee is doing: per principle group and per scenario."""

    trainee: str
    sessions: int
    #: A, B, C, D, E, overall in that order
    groups: tuple[GroupProgress, ...]
    #: by scenario name
    scenarios: tuple[ScenarioProgress, ...]

    def group(self, group: str) -> GroupProgress:
        for item in self.groups:
            if item.group == group:
                return item
        raise InputError(f"group: {group!r} is none of {', '.join(SCORE_KEYS)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "trainee": self.trainee,
            "sessions": self.sessions,
            "groups": {item.group: item.to_dict() for item in self.groups},
            "scenarios": [item.to_dict() for item in self.scenarios],
        }


def _counted(sessions: Sequence[StoredTrainingSession], key: str) -> Iterator[float]:
    """The ``key`` scores of the sessions that counted it, in order."""
    for stored in sessions:
        value = stored.scores.get(key)
        if value is not None:
            yield value


def progress_of(trainee: str, sessions: Sequence[StoredTrainingSession]) -> Progress:
    """The progress shown by ``sessions`` (oldest first)."""
    groups = []
    for key in SCORE_KEYS:
        scores = tuple(_counted(sessions, key))
        groups.append(
            GroupProgress(
                group=key,
                scores=scores,
                latest=scores[-1] if scores else None,
                trend=trend_of(scores),
            )
        )
    by_scenario: dict[str, list[StoredTrainingSession]] = {}
    for stored in sessions:
        by_scenario.setdefault(stored.scenario, []).append(stored)
    scenarios = []
    for name in sorted(by_scenario):
        attempts = by_scenario[name]
        overall = list(_counted(attempts, "overall"))
        scenarios.append(
            ScenarioProgress(
                scenario=name,
                attempts=len(attempts),
                best_overall=max(overall) if overall else None,
                passed=any(s.passed for s in attempts),
            )
        )
    return Progress(
        trainee=trainee, sessions=len(sessions), groups=tuple(groups), scenarios=tuple(scenarios)
    )


# ----- checking what is recorded ------------------------------------------------------------------


def check_trainee(name: object) -> str:
    """The trainee's name, stripped, or an InputError saying what is wrong with it."""
    if not isinstance(name, str):
        raise InputError(f"trainee: expected a name, got {type(name).__name__}")
    stripped = name.strip()
    if not stripped:
        raise InputError("trainee: the name is empty")
    if len(stripped) > NAME_CHARS:
        raise InputError(f"trainee: {len(stripped)} characters; the limit is {NAME_CHARS}")
    problem = unstorable(stripped)
    if problem:
        raise InputError(f"trainee: {stripped!r} {problem}")
    return stripped


def _text(debrief: Mapping[str, Any], key: str, limit: int) -> str:
    value = debrief.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"debrief: {key} must be a non-empty string, got {value!r}")
    if len(value) > limit:
        raise InputError(f"debrief: {key} is {len(value)} characters; the limit is {limit}")
    return value


def _scores(debrief: Mapping[str, Any]) -> dict[str, float | None]:
    scores = debrief.get("scores")
    if not isinstance(scores, Mapping):
        raise InputError(f"debrief: scores must be a mapping of {', '.join(SCORE_KEYS)}")
    checked: dict[str, float | None] = {}
    for key in SCORE_KEYS:
        if key not in scores:
            raise InputError(f"debrief: scores.{key} is missing")
        value = scores[key]
        if value is None and key != "overall":
            checked[key] = None
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= 100
        ):
            raise InputError(f"debrief: scores.{key} must be a number from 0 to 100, got {value!r}")
        checked[key] = float(value)
    return checked


def _check_json(value: Any, where: str) -> None:
    """Refuse what JSON, or one of the backends, cannot keep (NaN, NUL characters, objects)."""
    if isinstance(value, str):
        problem = unstorable(value)
        if problem:
            raise InputError(f"debrief: {where} {problem}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"debrief: {where} has a key that is not a string: {key!r}")
            _check_json(key, f"{where}.{key}")
            _check_json(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"debrief: {where} is {value}, which JSON cannot hold")
    elif value is not None and not isinstance(value, bool | int):
        raise InputError(f"debrief: {where} is a {type(value).__name__}, which JSON cannot hold")


def _plain(value: Any) -> Any:
    """``value`` with tuples and other mappings made JSON's lists and dicts."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _aware(at: datetime, name: str) -> datetime:
    if at.utcoffset() is None:
        raise InputError(f"{name}: {at.isoformat()} has no time zone")
    return at


class TrainingStore(Store):
    """Recorded training sessions in the calmline database."""

    def record(
        self,
        trainee: str,
        debrief: Mapping[str, Any],
        *,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        practice_id: str | None = None,
    ) -> int:
        """Store one session's debrief for ``trainee`` (created on first use) in one transaction;
        returns the session's id. ``finished_at`` defaults to now, ``started_at`` to it.

        With ``practice_id`` (a roleplay played over HTTP) the same transaction locks that
        practice session, links the debrief to it and marks it finished; when it already has a
        debrief, that one's id is returned and nothing is stored. So two first reads of a
        debrief at once, in any process, record it once, and a failure records nothing.
        """
        name = check_trainee(trainee)
        if not isinstance(debrief, Mapping):
            raise InputError(f"debrief: expected a mapping, got {type(debrief).__name__}")
        scenario = _text(debrief, "scenario", SCENARIO_CHARS)
        outcome = _text(debrief, "outcome", OUTCOME_CHARS)
        seed = debrief.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError(f"debrief: seed must be a whole number, got {seed!r}")
        if not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]:
            raise InputError(f"debrief: seed {seed} does not fit in 64 bits")
        passed = debrief.get("passed")
        if not isinstance(passed, bool):
            raise InputError(f"debrief: passed must be true or false, got {passed!r}")
        scores = _scores(debrief)
        _check_json(debrief, "debrief")
        finished = _aware(finished_at, "finished_at") if finished_at else self._clock()
        started = _aware(started_at, "started_at") if started_at else finished
        if started > finished:
            raise InputError(
                f"started_at {started.isoformat()} is after finished_at {finished.isoformat()}"
            )

        with self._database.writing(f"recording a training session of {name!r}") as session:
            practice = None if practice_id is None else _practice(session, practice_id, name)
            if practice is not None and practice.training_session_id is not None:
                return practice.training_session_id
            row = self._trainee(session, name)
            stored = models.TrainingSession(
                trainee_id=row.id,
                scenario=scenario,
                seed=seed,
                outcome=outcome,
                passed=passed,
                scores=scores,
                debrief=_plain(debrief),
                started_at=started,
                finished_at=finished,
            )
            session.add(stored)
            session.flush()
            if practice is not None:
                now = self._clock()
                practice.training_session_id = stored.id
                practice.finished_at = practice.finished_at or now
                practice.updated_at = now
                session.flush()
            return stored.id

    def trainees(self) -> tuple[str, ...]:
        """Every trainee's name, in alphabetical order."""
        with self._database.reading("listing trainees") as session:
            return tuple(session.scalars(sa.select(models.Trainee.name).order_by("name")))

    def sessions(self, trainee: str) -> tuple[StoredTrainingSession, ...]:
        """The trainee's sessions, oldest first; UnknownTrainee when none was ever recorded."""
        name = check_trainee(trainee)
        with self._database.reading(f"reading the training sessions of {name!r}") as session:
            row = self._trainee_row(session, name)
            if row is None:
                known = session.scalars(sa.select(models.Trainee.name)).all()
                raise UnknownTrainee(
                    f"no trainee {name!r}: no session of theirs is stored{_suggest(name, known)}"
                )
            rows = session.scalars(
                sa.select(models.TrainingSession)
                .where(models.TrainingSession.trainee_id == row.id)
                .order_by(models.TrainingSession.finished_at, models.TrainingSession.id)
            )
            return tuple(StoredTrainingSession.from_row(item, row.name) for item in rows)

    def progress(self, trainee: str) -> Progress:
        """Per principle group and per scenario, how the trainee is doing."""
        sessions = self.sessions(trainee)
        return progress_of(check_trainee(trainee), sessions)

    # ----- inside a transaction -------------------------------------------------------------

    @staticmethod
    def _trainee_row(session: Session, name: str) -> models.Trainee | None:
        query = sa.select(models.Trainee).where(models.Trainee.name == name)
        return session.scalars(query).one_or_none()

    def _trainee(self, session: Session, name: str) -> models.Trainee:
        """The trainee's row, inserted first if need be; two first sessions of the same new
        trainee at once both end up with the one row."""
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(models.Trainee).values(name=name, created_at=self._clock())
        session.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
        row = self._trainee_row(session, name)
        if row is None:  # pragma: no cover - the insert above or another writer made it
            raise StoreError(f"trainee {name!r} could not be created")
        return row


def _practice(session: Session, practice_id: str, trainee: str) -> models.PracticeSession:
    """The practice session's row, locked until the transaction ends; it must be ``trainee``'s."""
    if (
        not isinstance(practice_id, str)
        or not 0 < len(practice_id) <= PRACTICE_ID_CHARS
        or unstorable(practice_id)
    ):
        raise UnknownPractice(f"no practice session {practice_id!r:.60}")
    row = session.scalars(
        sa.select(models.PracticeSession)
        .where(models.PracticeSession.id == practice_id)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise UnknownPractice(f"no practice session {practice_id!r}")
    if row.trainee != trainee:
        raise InputError(
            f"practice session {practice_id} belongs to {row.trainee!r}, not {trainee!r}"
        )
    return row


def _suggest(name: str, known: Sequence[str]) -> str:
    """ "; did you mean ..." for a mistyped trainee name (case and spelling), else nothing."""
    by_folded = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(by_folded[c]) for c in close) + "?"
