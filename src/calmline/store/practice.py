"""Roleplay sessions played over HTTP: kept between requests until they are debriefed.

The simulated customer is rebuilt from the scenario, the seed and the trainee's replies so
far, so a session is stored as just those. Two replies to the same session at once (two
browser tabs, a retried request) must not both count: ``add_reply`` appends only when the
caller saw the session as it is (``expected`` replies), else it is a PracticeConflict and the
caller reads the session again.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from calmline.errors import InputError, PracticeConflict, UnknownPractice
from calmline.store import models
from calmline.store.db import Store
from calmline.store.models import NAME_CHARS, PRACTICE_ID_CHARS, SCENARIO_CHARS
from calmline.store.queries import check_text, unstorable
from calmline.store.training import check_trainee

_SEED_RANGE = (-(2**63), 2**63 - 1)
#: The most practice sessions one ``list`` call returns.
MAX_LIST = 1000


@dataclass(frozen=True, slots=True)
class PracticeRecord:
    """A practice session as stored: what is needed to play it on from where it is."""

    #: uuid4 hex, the public id
    id: str
    trainee: str
    scenario: str
    seed: int
    #: the trainee's replies so far: (text, seconds they took)
    replies: tuple[tuple[str, float], ...]
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    #: the recorded debrief (training_sessions.id), once there is one
    training_session_id: int | None
    #: the name on the API key that started it
    created_by: str

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @classmethod
    def from_row(cls, row: models.PracticeSession) -> PracticeRecord:
        return cls(
            id=row.id,
            trainee=row.trainee,
            scenario=row.scenario,
            seed=row.seed,
            replies=tuple((str(r["text"]), float(r["seconds"])) for r in row.replies),
            started_at=row.started_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
            training_session_id=row.training_session_id,
            created_by=row.created_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "trainee": self.trainee,
            "scenario": self.scenario,
            "seed": self.seed,
            "replies": [{"text": text, "seconds": seconds} for text, seconds in self.replies],
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "training_session_id": self.training_session_id,
            "created_by": self.created_by,
        }


def _practice_id(practice_id: object) -> str:
    """The id as given, or UnknownPractice when it cannot be one (so a bad id is a 404)."""
    if (
        not isinstance(practice_id, str)
        or not practice_id
        or len(practice_id) > PRACTICE_ID_CHARS
        or unstorable(practice_id)
    ):
        raise UnknownPractice(f"no practice session {_shown_id(practice_id)}")
    return practice_id


def _shown_id(practice_id: object) -> str:
    text = repr(practice_id)
    return text if len(text) <= 60 else text[:57] + "..."


class PracticeStore(Store):
    """Practice sessions in the calmline database."""

    def start(self, trainee: str, scenario: str, seed: int, created_by: str) -> PracticeRecord:
        """A new session of ``scenario`` for ``trainee``, with no replies yet."""
        trainee = check_trainee(trainee)
        scenario = check_text(scenario, "scenario", SCENARIO_CHARS)
        created_by = check_text(created_by, "created by", NAME_CHARS)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError(f"seed: expected a whole number, got {seed!r}")
        if not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]:
            raise InputError(f"seed: {seed} does not fit in 64 bits")
        now = self._clock()
        row = models.PracticeSession(
            id=uuid.uuid4().hex,
            trainee=trainee,
            scenario=scenario,
            seed=seed,
            replies=[],
            started_at=now,
            updated_at=now,
            created_by=created_by,
        )
        with self._database.writing(f"starting a practice session for {trainee!r}") as session:
            session.add(row)
            session.flush()
            return PracticeRecord.from_row(row)

    def get(self, practice_id: str) -> PracticeRecord:
        """The session; UnknownPractice when there is none."""
        practice_id = _practice_id(practice_id)
        with self._database.reading(f"reading practice session {practice_id}") as session:
            row = session.get(models.PracticeSession, practice_id)
            if row is None:
                raise UnknownPractice(f"no practice session {practice_id!r}")
            return PracticeRecord.from_row(row)

    def add_reply(
        self, practice_id: str, text: str, seconds: float, *, expected: int
    ) -> PracticeRecord:
        """Append the trainee's reply, which took them ``seconds``, if the session still has
        ``expected`` replies and has not finished; else PracticeConflict, and nothing changes."""
        practice_id = _practice_id(practice_id)
        if not isinstance(text, str):
            raise InputError(f"reply: expected text, got {type(text).__name__}")
        problem = unstorable(text)
        if problem:
            raise InputError(f"reply: the text {problem}")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise InputError(f"seconds: expected a number of seconds, 0 or more, got {seconds!r}")
        if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
            raise InputError(f"expected: a count of replies, 0 or more, got {expected!r}")
        doing = f"adding a reply to practice session {practice_id}"
        with self._database.writing(doing) as session:
            row = self._locked(session, practice_id)
            if row.finished_at is not None:
                raise PracticeConflict(
                    f"practice session {practice_id} finished at {row.finished_at.isoformat()}; "
                    "it takes no more replies"
                )
            if len(row.replies) != expected:
                raise PracticeConflict(
                    f"practice session {practice_id} has {len(row.replies)} replies, not "
                    f"{expected}: another reply came first; read the session again"
                )
            # A new list, not an append: the JSON column notices a new value, not a mutation.
            row.replies = [*row.replies, {"text": text, "seconds": float(seconds)}]
            row.updated_at = self._clock()
            session.flush()
            return PracticeRecord.from_row(row)

    def finish(self, practice_id: str, training_session_id: int | None) -> PracticeRecord:
        """Mark the session finished, with its recorded debrief when there is one.

        Finishing again keeps the first finish time, and fills in a debrief not given
        before; a different debrief than the one already linked is a PracticeConflict.
        """
        practice_id = _practice_id(practice_id)
        if training_session_id is not None and (
            isinstance(training_session_id, bool) or not isinstance(training_session_id, int)
        ):
            raise InputError(
                f"training session id: expected a whole number or None, got {training_session_id!r}"
            )
        with self._database.writing(f"finishing practice session {practice_id}") as session:
            row = self._locked(session, practice_id)
            if training_session_id is not None:
                if row.training_session_id not in (None, training_session_id):
                    raise PracticeConflict(
                        f"practice session {practice_id} is already debriefed as training "
                        f"session {row.training_session_id}"
                    )
                if (
                    not 0 < training_session_id < 2**31
                    or session.get(models.TrainingSession, training_session_id) is None
                ):
                    raise InputError(f"no training session {training_session_id}")
                row.training_session_id = training_session_id
            now = self._clock()
            if row.finished_at is None:
                row.finished_at = now
            row.updated_at = now
            session.flush()
            return PracticeRecord.from_row(row)

    def list(self, *, trainee: str | None = None, limit: int = 50) -> tuple[PracticeRecord, ...]:
        """Sessions, the most recently started first; only ``trainee``'s when given."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            raise InputError(f"limit: expected 1 to {MAX_LIST}, got {limit!r}")
        query = sa.select(models.PracticeSession)
        if trainee is not None:
            query = query.where(models.PracticeSession.trainee == check_trainee(trainee))
        query = query.order_by(
            models.PracticeSession.started_at.desc(), models.PracticeSession.id.desc()
        ).limit(limit)
        with self._database.reading("listing practice sessions") as session:
            return tuple(PracticeRecord.from_row(row) for row in session.scalars(query))

    # ----- inside a transaction -------------------------------------------------------------

    @staticmethod
    def _locked(session: Session, practice_id: str) -> models.PracticeSession:
        row = session.scalars(
            sa.select(models.PracticeSession)
            .where(models.PracticeSession.id == practice_id)
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise UnknownPractice(f"no practice session {practice_id!r}")
        return row
