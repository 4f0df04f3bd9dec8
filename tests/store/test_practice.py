"""Practice sessions over HTTP: started, replied to one reply at a time (optimistic
concurrency), finished with their debrief, listed; and saved playbook versions. SQLite and
PostgreSQL."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from calmline.errors import InputError, PracticeConflict, StoreError, UnknownPractice
from calmline.store.playbooks import PlaybookStore
from calmline.store.practice import PracticeRecord, PracticeStore
from calmline.store.training import TrainingStore
from tests.store.helpers import T0
from tests.store.test_training import debrief


def ticking() -> Callable[[], datetime]:
    """A clock one minute later on each call."""
    minutes = iter(range(10_000))
    return lambda: T0 + timedelta(minutes=next(minutes))


@pytest.fixture
def practice(sessions: sessionmaker[Session]) -> PracticeStore:
    return PracticeStore(sessions, clock=ticking())


def test_a_new_session_has_no_replies(practice: PracticeStore) -> None:
    started = practice.start(" Ada Okafor ", "shouter", 42, "Trainer Tess")
    assert isinstance(started, PracticeRecord)
    assert len(started.id) == 32 and int(started.id, 16) >= 0
    assert (started.trainee, started.scenario, started.seed) == ("Ada Okafor", "shouter", 42)
    assert started.replies == ()
    assert started.started_at == started.updated_at == T0
    assert (started.finished_at, started.training_session_id) == (None, None)
    assert started.created_by == "Trainer Tess"
    assert not started.finished
    assert practice.get(started.id) == started
    assert started.to_dict() == {
        "id": started.id,
        "trainee": "Ada Okafor",
        "scenario": "shouter",
        "seed": 42,
        "replies": [],
        "started_at": T0.isoformat(),
        "updated_at": T0.isoformat(),
        "finished_at": None,
        "training_session_id": None,
        "created_by": "Trainer Tess",
    }


def test_replies_are_appended_in_order(practice: PracticeStore) -> None:
    started = practice.start("Ada", "shouter", -(2**63), "Ada")
    one = practice.add_reply(started.id, "I'm sorry, let me look into it.", 12.5, expected=0)
    two = practice.add_reply(started.id, "Ça y est : c’est réglé 🙂", 3, expected=1)
    assert two.replies == (
        ("I'm sorry, let me look into it.", 12.5),
        ("Ça y est : c’est réglé 🙂", 3.0),
    )
    assert one.updated_at < two.updated_at
    assert practice.get(started.id) == two
    assert two.to_dict()["replies"][1] == {"text": "Ça y est : c’est réglé 🙂", "seconds": 3.0}
    assert two.seed == -(2**63)


def test_a_reply_to_a_session_that_moved_on_is_a_conflict(practice: PracticeStore) -> None:
    started = practice.start("Ada", "shouter", 1, "Ada")
    practice.add_reply(started.id, "first", 1.0, expected=0)
    for stale in (0, 2, 5):
        with pytest.raises(PracticeConflict, match="has 1 replies, not") as caught:
            practice.add_reply(started.id, "again", 1.0, expected=stale)
        assert caught.value.code == "practice_conflict"
    assert practice.get(started.id).replies == (("first", 1.0),)


def test_two_replies_at_once_count_once(practice: PracticeStore) -> None:
    started = practice.start("Ada", "shouter", 1, "Ada")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def reply(n: int) -> None:
        barrier.wait()
        try:
            practice.add_reply(started.id, f"reply {n}", 1.0, expected=0)
            outcomes.append("added")
        except PracticeConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=reply, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added"] + ["conflict"] * 7
    assert len(practice.get(started.id).replies) == 1


def test_finishing_links_the_debrief_and_stops_replies(
    practice: PracticeStore, sessions: sessionmaker[Session]
) -> None:
    started = practice.start("Ada", "shouter", 7, "Ada")
    practice.add_reply(started.id, "Sorry about that.", 2.0, expected=0)
    recorded = TrainingStore(sessions).record("Ada", debrief())
    done = practice.finish(started.id, recorded)
    assert done.finished and done.training_session_id == recorded
    with pytest.raises(PracticeConflict, match="takes no more replies"):
        practice.add_reply(started.id, "one more", 1.0, expected=1)
    # finishing again keeps the first finish time
    again = practice.finish(started.id, recorded)
    assert again.finished_at == done.finished_at
    assert practice.finish(started.id, None).training_session_id == recorded


def test_a_session_finished_without_a_debrief_can_be_given_one_later(
    practice: PracticeStore, sessions: sessionmaker[Session]
) -> None:
    started = practice.start("Ada", "shouter", 7, "Ada")
    ended = practice.finish(started.id, None)
    assert ended.finished and ended.training_session_id is None
    training = TrainingStore(sessions)
    first = training.record("Ada", debrief())
    linked = practice.finish(started.id, first)
    assert (linked.training_session_id, linked.finished_at) == (first, ended.finished_at)
    other = training.record("Ada", debrief())
    with pytest.raises(PracticeConflict, match=f"already debriefed as training session {first}"):
        practice.finish(started.id, other)


def test_a_debrief_recorded_for_a_session_is_linked_in_the_same_transaction(
    practice: PracticeStore, sessions: sessionmaker[Session]
) -> None:
    started = practice.start("Ada", "shouter", 7, "Ada")
    training = TrainingStore(sessions)
    outcomes: list[int] = []
    barrier = threading.Barrier(6)

    def record() -> None:
        barrier.wait()
        outcomes.append(training.record("Ada", debrief(), practice_id=started.id))

    threads = [threading.Thread(target=record) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 6 and len(set(outcomes)) == 1  # recorded once, every reader its id
    assert len(training.sessions("Ada")) == 1
    linked = practice.get(started.id)
    assert linked.training_session_id == outcomes[0] and linked.finished
    # Someone else's session, or one that does not exist: nothing is recorded.
    bens = practice.start("Ben", "shouter", 7, "Ben")
    with pytest.raises(InputError, match="belongs to 'Ben', not 'Ada'"):
        training.record("Ada", debrief(), practice_id=bens.id)
    with pytest.raises(UnknownPractice):
        training.record("Ada", debrief(), practice_id="0" * 32)
    with pytest.raises(UnknownPractice):
        training.record("Ada", debrief(), practice_id="x" * 100)
    assert len(training.sessions("Ada")) == 1
    assert practice.get(bens.id).training_session_id is None


@pytest.mark.parametrize("missing", [12345, 0, -1, 2**40])
def test_finishing_with_a_debrief_that_does_not_exist_is_refused(
    practice: PracticeStore, missing: int
) -> None:
    started = practice.start("Ada", "shouter", 7, "Ada")
    with pytest.raises(InputError, match=f"no training session {missing}"):
        practice.finish(started.id, missing)
    assert not practice.get(started.id).finished


@pytest.mark.parametrize(
    "practice_id", ["0" * 32, "", "x" * 37, "x" * 100_000, "a\x00b", "\ud800", None, 5]
)
def test_an_unknown_session_is_its_own_error(practice: PracticeStore, practice_id: object) -> None:
    for attempt in (
        lambda: practice.get(practice_id),  # type: ignore[arg-type]
        lambda: practice.add_reply(practice_id, "hi", 1.0, expected=0),  # type: ignore[arg-type]
        lambda: practice.finish(practice_id, None),  # type: ignore[arg-type]
    ):
        with pytest.raises(UnknownPractice, match="no practice session") as caught:
            attempt()
        assert caught.value.code == "practice_unknown"
        assert isinstance(caught.value, StoreError)


@pytest.mark.parametrize(
    ("text", "seconds", "expected", "match"),
    [
        ("a\x00b", 1.0, 0, "NUL"),
        ("\ud800", 1.0, 0, "surrogate"),
        (None, 1.0, 0, "reply"),
        ("hi", -1.0, 0, "seconds"),
        ("hi", math.nan, 0, "seconds"),
        ("hi", math.inf, 0, "seconds"),
        ("hi", True, 0, "seconds"),
        ("hi", "3", 0, "seconds"),
        ("hi", 1.0, -1, "expected"),
        ("hi", 1.0, "0", "expected"),
    ],
)
def test_a_reply_is_checked_before_anything_is_written(
    practice: PracticeStore, text: object, seconds: object, expected: object, match: str
) -> None:
    started = practice.start("Ada", "shouter", 1, "Ada")
    with pytest.raises(InputError, match=match):
        practice.add_reply(started.id, text, seconds, expected=expected)  # type: ignore[arg-type]
    assert practice.get(started.id).replies == ()


@pytest.mark.parametrize(
    ("trainee", "scenario", "seed", "created_by", "match"),
    [
        ("", "shouter", 1, "Ada", "trainee"),
        ("x" * 201, "shouter", 1, "Ada", "trainee"),
        ("Ada", "", 1, "Ada", "scenario"),
        ("Ada", "s" * 201, 1, "Ada", "scenario"),
        ("Ada", "shouter", 2**63, "Ada", "64 bits"),
        ("Ada", "shouter", 1.5, "Ada", "seed"),
        ("Ada", "shouter", True, "Ada", "seed"),
        ("Ada", "shouter", 1, " ", "created by"),
    ],
)
def test_a_start_is_checked(
    practice: PracticeStore,
    trainee: str,
    scenario: str,
    seed: int,
    created_by: str,
    match: str,
) -> None:
    with pytest.raises(InputError, match=match):
        practice.start(trainee, scenario, seed, created_by)
    assert practice.list() == ()


def test_sessions_are_listed_newest_first(practice: PracticeStore) -> None:
    ada_1 = practice.start("Ada", "shouter", 1, "Ada")
    bo = practice.start("Bo", "shouter", 1, "Tess")
    ada_2 = practice.start("Ada", "refund", 2, "Ada")
    assert [r.id for r in practice.list()] == [ada_2.id, bo.id, ada_1.id]
    assert [r.id for r in practice.list(trainee="Ada")] == [ada_2.id, ada_1.id]
    assert [r.id for r in practice.list(trainee=" Ada ")] == [ada_2.id, ada_1.id]
    assert [r.id for r in practice.list(limit=1)] == [ada_2.id]
    assert practice.list(trainee="Nobody") == ()
    for bad in (0, -3, 1001, True):
        with pytest.raises(InputError, match="limit"):
            practice.list(limit=bad)


# ----- playbook versions --------------------------------------------------------------------------

YAML = "extends: default\nrules:\n  B4:\n    severity: block\n"


def test_no_playbook_was_saved_yet(sessions: sessionmaker[Session]) -> None:
    assert PlaybookStore(sessions).latest() is None


def test_the_newest_playbook_version_is_the_latest(sessions: sessionmaker[Session]) -> None:
    playbooks = PlaybookStore(sessions, clock=ticking())
    first = playbooks.save(YAML, "Ada Admin", note="stricter B4")
    assert playbooks.latest() == (first, YAML)
    second = playbooks.save("extends: default\n# Ça va 🙂\n", "Ada Admin")
    assert second > first
    assert playbooks.latest() == (second, "extends: default\n# Ça va 🙂\n")
    # a new store on the same database sees it too (what a restarted service does)
    assert PlaybookStore(sessions).latest() == (second, "extends: default\n# Ça va 🙂\n")


@pytest.mark.parametrize(
    ("text", "created_by", "note", "match"),
    [
        ("", "Ada", None, "playbook"),
        ("   \n", "Ada", None, "playbook"),
        ("a: \x00", "Ada", None, "NUL"),
        (YAML, "", None, "created by"),
        (YAML, "Ada", "n" * 1001, "note"),
        (YAML, "Ada", "\ud800", "note"),
    ],
)
def test_a_playbook_version_is_checked(
    sessions: sessionmaker[Session], text: str, created_by: str, note: str | None, match: str
) -> None:
    playbooks = PlaybookStore(sessions)
    with pytest.raises(InputError, match=match):
        playbooks.save(text, created_by, note)
    assert playbooks.latest() is None
