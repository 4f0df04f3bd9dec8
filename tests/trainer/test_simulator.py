"""The simulated customer: answers what the trainee said, same seed same session, misuse refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from calmline.engine import default_engine
from calmline.errors import InputError, TrainingError
from calmline.trainer import load_scenarios
from calmline.trainer.scenario import Band, Intent, Scenario
from calmline.trainer.simulator import Outcome, Session

CASES = Path(__file__).parents[1] / "cases" / "trainer"
INTENTS = yaml.safe_load((CASES / "intents.yml").read_text(encoding="utf-8"))["intents"]
ENGINE = default_engine()


@pytest.fixture(scope="module")
def shouter() -> Scenario:
    return load_scenarios()["shouter"]


def _play(scenario: Scenario, seed: int, replies: list[str]) -> Session:
    session = Session(scenario, ENGINE, seed=seed)
    session.opening()
    for text in replies:
        if session.done:
            break
        session.reply(text, seconds=20)
    return session


@pytest.mark.parametrize("case", INTENTS, ids=[c["reply"][:40] for c in INTENTS])
def test_the_customer_hears_the_intent_of_a_reply(shouter: Scenario, case: dict[str, Any]) -> None:
    session = Session(shouter, ENGINE, seed=1)
    session.opening()
    session.reply(case["reply"], seconds=20)
    trainee = session.transcript[-2]
    assert trainee.role == "trainee"
    assert trainee.intent == Intent(case["intent"])


def test_the_next_line_answers_the_reply_from_the_bank_of_the_new_band(shouter: Scenario) -> None:
    session = Session(shouter, ENGINE, seed=3)
    session.opening()
    turn = session.reply("Ray, do you realise you are shouting at me?", seconds=20)
    assert turn.answers is Intent.MAKE_AWARE
    assert turn.band is Band.UPSET  # made aware, he backs down (D1)
    templates = shouter.lines.upset[Intent.MAKE_AWARE]
    rendered = {t.replace("{item}", shouter.facts.terms["item"]) for t in templates}
    assert turn.text in rendered


def test_the_coach_reads_the_customer_lines(shouter: Scenario) -> None:
    session = Session(shouter, ENGINE, seed=5)
    session.opening()
    assert session.transcript[0].hostile
    assert session.coach.state.value == "abusive"  # shouting in capitals starts the protocol


def test_same_seed_same_session_and_seeds_differ(shouter: Scenario) -> None:
    replies = ["Let me look at the order.", "OK.", "I see.", "Right.", "Hmm.", "Go on."]
    first = [e.to_dict() for e in _play(shouter, 7, replies).transcript]
    again = [e.to_dict() for e in _play(shouter, 7, replies).transcript]
    assert first == again
    others = {str([e.to_dict() for e in _play(shouter, s, replies).transcript]) for s in range(8)}
    assert len(others) > 1


def test_a_line_is_not_repeated_while_unused_ones_remain(shouter: Scenario) -> None:
    session = _play(shouter, 11, ["Let me look at the order."] * 4)
    said = [e.text for e in session.transcript if e.role == "customer"][1:]
    assert len(said) == len(set(said))


def test_ending_before_the_protocol_is_an_improper_end(shouter: Scenario) -> None:
    session = Session(shouter, ENGINE, seed=2)
    session.opening()
    turn = session.reply("I am ending this conversation now. Goodbye.", seconds=20)
    assert session.done
    assert turn.outcome is Outcome.ENDED_IMPROPERLY
    assert session.outcome is Outcome.ENDED_IMPROPERLY


def test_the_turn_limit_stops_a_session_that_goes_nowhere(shouter: Scenario) -> None:
    session = _play(shouter.model_copy(update={"turn_limit": 3}), 4, ["Right."] * 10)
    assert session.outcome in (Outcome.TURN_LIMIT, Outcome.LEAVES_ANGRY)
    customer_lines = [e for e in session.transcript if e.role == "customer"]
    assert len(customer_lines) <= 4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.reply("Hello", seconds=5), "call opening"),
        (lambda s: (s.opening(), s.opening()), "already started"),
        (lambda s: (s.opening(), s.reply("  ", seconds=5)), "got nothing"),
        (lambda s: (s.opening(), s.reply("Hi", seconds=-1)), "0 or more"),
        (lambda s: (s.opening(), s.reply("Hi", seconds=float("nan"))), "0 or more"),
        (lambda s: (s.opening(), s.reply("x" * 5000, seconds=5)), "limit"),
    ],
)
def test_misuse_is_a_training_error(shouter: Scenario, call: Any, message: str) -> None:
    session = Session(shouter, ENGINE, seed=1)
    with pytest.raises(TrainingError, match=message) as caught:
        call(session)
    assert isinstance(caught.value, InputError)
    assert caught.value.code == "training_invalid"


def test_no_reply_after_the_end(shouter: Scenario) -> None:
    session = Session(shouter, ENGINE, seed=2)
    session.opening()
    session.reply("I am ending this conversation now. Goodbye.", seconds=20)
    with pytest.raises(TrainingError, match="has ended"):
        session.reply("Hello?", seconds=5)


def test_each_reply_says_which_reactions_moved_the_state(shouter: Scenario) -> None:
    session = Session(shouter, ENGINE, seed=1)
    session.opening()
    session.reply("You're wrong, the driver did come.", seconds=20)
    trainee = session.transcript[-2]
    assert "rules.B1" in trainee.reactions
    assert "every_turn" in trainee.reactions
    assert trainee.to_dict()["reactions"] == list(trainee.reactions)
    assert trainee.state is not None and trainee.state.anger > shouter.start.anger
