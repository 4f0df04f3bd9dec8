"""Training sessions: recorded per trainee, read back in order, progress per group and scenario."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.errors import InputError, StoreError
from calmline.store import models
from calmline.store.db import make_engine, make_session_factory
from calmline.store.training import TrainingStore, Trend, UnknownTrainee, trend_of

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def debrief(
    scenario: str = "shouter",
    *,
    overall: float | None = 60.0,
    passed: bool = False,
    seed: int = 7,
    outcome: str = "left_angry",
    **groups: float | None,
) -> dict[str, Any]:
    scores: dict[str, float | None] = {"A": 60.0, "B": 60.0, "C": 60.0, "D": None, "E": None}
    scores.update(groups)
    scores["overall"] = overall
    return {
        "scenario": scenario,
        "seed": seed,
        "outcome": outcome,
        "passed": passed,
        "scores": scores,
        "transcript": [
            {"role": "customer", "text": "This is the third time I have called!"},
            {"role": "trainee", "text": "I'm sorry, let me sort it out now."},
        ],
        "went_well": ["apologised (B5)"],
        "to_change": [],
    }


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_first_session_creates_the_trainee_and_reads_back_as_recorded(
    sessions: sessionmaker[Session],
) -> None:
    store = TrainingStore(sessions, clock=lambda: at(0))
    session_id = store.record(
        "  Ada Okafor ", debrief(passed=True, overall=82.5), started_at=at(-5), finished_at=at(0)
    )
    assert store.trainees() == ("Ada Okafor",)
    (stored,) = store.sessions("Ada Okafor")
    assert stored.id == session_id
    assert (stored.trainee, stored.scenario, stored.seed) == ("Ada Okafor", "shouter", 7)
    assert (stored.outcome, stored.passed) == ("left_angry", True)
    assert stored.scores == {"A": 60.0, "B": 60.0, "C": 60.0, "D": None, "E": None, "overall": 82.5}
    assert stored.debrief["transcript"][1]["text"] == "I'm sorry, let me sort it out now."
    assert (stored.started_at, stored.finished_at) == (at(-5), at(0))
    assert stored.to_dict()["finished_at"] == "2026-11-30T09:00:00+00:00"


def test_a_trainee_is_created_once_and_sessions_come_oldest_first(
    sessions: sessionmaker[Session],
) -> None:
    store = TrainingStore(sessions)
    ids = [
        store.record("sam", debrief("insulter"), finished_at=at(30)),
        store.record("sam", debrief("shouter"), finished_at=at(10)),
        store.record("sam", debrief("demeaning"), finished_at=at(20)),
    ]
    store.record("kim", debrief(), finished_at=at(5))
    assert store.trainees() == ("kim", "sam")
    assert [s.scenario for s in store.sessions("sam")] == ["shouter", "demeaning", "insulter"]
    assert sorted(s.id for s in store.sessions("sam")) == sorted(ids)
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(models.Trainee)) == 2


def test_progress_per_group_and_per_scenario(sessions: sessionmaker[Session]) -> None:
    store = TrainingStore(sessions)
    history = [
        debrief("shouter", A=40, B=50, C=55, D=30, overall=45),
        debrief("shouter", A=50, B=50, C=50, D=60, overall=58),
        debrief("outrageous-demand", A=70, B=50, C=45, E=80, overall=72, passed=True),
        debrief("shouter", A=80, B=51, C=30, D=90, overall=88, passed=True),
    ]
    for minute, item in enumerate(history):
        store.record("ada", item, finished_at=at(minute))

    progress = store.progress("ada")
    assert progress.sessions == 4
    assert progress.group("A").scores == (40.0, 50.0, 70.0, 80.0)
    assert progress.group("A").latest == 80.0
    assert progress.group("A").trend is Trend.IMPROVING
    assert progress.group("B").trend is Trend.STEADY
    assert progress.group("C").trend is Trend.DECLINING
    # groups a scenario does not count are left out of their history
    assert progress.group("D").scores == (30.0, 60.0, 90.0)
    assert progress.group("E").scores == (80.0,)
    assert progress.group("E").trend is None
    assert [(s.scenario, s.attempts, s.best_overall, s.passed) for s in progress.scenarios] == [
        ("outrageous-demand", 1, 72.0, True),
        ("shouter", 3, 88.0, True),
    ]
    as_json = progress.to_dict()
    assert as_json["groups"]["D"]["trend"] == "improving"
    assert as_json["scenarios"][1] == {
        "scenario": "shouter",
        "attempts": 3,
        "best_overall": 88.0,
        "passed": True,
    }
    with pytest.raises(InputError, match="group: 'F' is none of A, B, C, D, E, overall"):
        progress.group("F")


@pytest.mark.parametrize(
    ("scores", "trend"),
    [
        ([], None),
        ([50], None),
        ([50, 55], Trend.IMPROVING),
        ([50, 54.9], Trend.STEADY),
        ([50, 45], Trend.DECLINING),
        # only the three before the latest count: an early low score is forgotten
        ([0, 80, 80, 80, 80], Trend.STEADY),
        ([90, 90, 40, 40, 40, 60], Trend.IMPROVING),
    ],
)
def test_the_trend_compares_the_latest_with_the_few_before(
    scores: list[float], trend: Trend | None
) -> None:
    assert trend_of(scores) is trend


def test_an_unknown_trainee_is_a_clear_error(sessions: sessionmaker[Session]) -> None:
    store = TrainingStore(sessions)
    with pytest.raises(UnknownTrainee, match="no trainee 'nobody'") as raised:
        store.progress("nobody")
    assert raised.value.code == "trainee_unknown"
    with pytest.raises(UnknownTrainee):
        store.sessions("nobody")


def test_a_mistyped_trainee_name_gets_a_suggestion(sessions: sessionmaker[Session]) -> None:
    store = TrainingStore(sessions)
    store.record("Ada Okafor", debrief())
    with pytest.raises(UnknownTrainee, match="did you mean 'Ada Okafor'"):
        store.progress("ada okafr")
    with pytest.raises(UnknownTrainee) as raised:
        store.progress("Zed")
    assert "did you mean" not in raised.value.message


def _without(key: str) -> dict[str, Any]:
    value = debrief()
    del value[key]
    return value


def _with(**changes: Any) -> dict[str, Any]:
    value = debrief()
    value.update(changes)
    return value


def _scores(**changes: Any) -> dict[str, Any]:
    value = debrief()
    value["scores"].update(changes)
    return value


@pytest.mark.parametrize(
    ("trainee", "value", "message"),
    [
        ("", debrief(), "trainee: the name is empty"),
        ("x" * 201, debrief(), "trainee: 201 characters; the limit is 200"),
        ("a\x00b", debrief(), "trainee: 'a\\x00b' contains a NUL character"),
        ("ada", ["not", "a", "mapping"], "debrief: expected a mapping, got list"),
        ("ada", _without("scenario"), "debrief: scenario must be a non-empty string"),
        ("ada", _with(scenario="s" * 201), "debrief: scenario is 201 characters"),
        ("ada", _without("outcome"), "debrief: outcome must be a non-empty string"),
        ("ada", _with(seed="7"), "debrief: seed must be a whole number, got '7'"),
        ("ada", _with(seed=True), "debrief: seed must be a whole number"),
        ("ada", _with(seed=2**64), "debrief: seed 18446744073709551616 does not fit in 64 bits"),
        ("ada", _with(passed="yes"), "debrief: passed must be true or false, got 'yes'"),
        ("ada", _without("scores"), "debrief: scores must be a mapping of A, B, C, D, E, overall"),
        ("ada", _with(scores={"A": 50}), "debrief: scores.B is missing"),
        ("ada", _scores(A=101), "debrief: scores.A must be a number from 0 to 100, got 101"),
        ("ada", _scores(C=math.nan), "debrief: scores.C must be a number from 0 to 100"),
        ("ada", _scores(overall=None), "debrief: scores.overall must be a number"),
        ("ada", _with(note="a\x00b"), "debrief: debrief.note contains a NUL character"),
        ("ada", _with(extra={"x": math.inf}), "debrief: debrief.extra.x is inf"),
        ("ada", _with(when=T0), "debrief: debrief.when is a datetime, which JSON cannot hold"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    sessions: sessionmaker[Session], trainee: str, value: Any, message: str
) -> None:
    store = TrainingStore(sessions)
    with pytest.raises(InputError, match=re.escape(message)):
        store.record(trainee, value)
    assert store.trainees() == ()


def test_times_must_be_aware_and_in_order(sessions: sessionmaker[Session]) -> None:
    store = TrainingStore(sessions)
    with pytest.raises(InputError, match="finished_at: 2026-11-30T09:00:00 has no time zone"):
        store.record("ada", debrief(), finished_at=T0.replace(tzinfo=None))
    with pytest.raises(InputError, match=r"started_at .* is after finished_at"):
        store.record("ada", debrief(), started_at=at(5), finished_at=at(0))
    assert store.trainees() == ()


def test_an_unmigrated_database_is_refused_with_the_upgrade_hint(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(StoreError, match="calmline db upgrade"):
            TrainingStore(make_session_factory(engine))
    finally:
        engine.dispose()


def test_deleting_a_trainee_deletes_their_sessions(sessions: sessionmaker[Session]) -> None:
    store = TrainingStore(sessions)
    store.record("ada", debrief(), finished_at=at(0))
    with sessions.begin() as session:
        session.execute(sa.delete(models.Trainee).where(models.Trainee.name == "ada"))
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(models.TrainingSession)) == 0
