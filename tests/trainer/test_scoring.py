"""The debrief: groups scored only where the scenario trains them, timing (A3), the pass mark,
and changes that quote the trainee's own sentence next to a better one."""

from __future__ import annotations

import json

import pytest

from calmline.engine import default_engine
from calmline.errors import TrainingError
from calmline.trainer import load_scenarios
from calmline.trainer.scenario import Scenario
from calmline.trainer.scoring import Debrief, score
from calmline.trainer.simulator import Outcome, Session

ENGINE = default_engine()
MAKE_AWARE = "Ray, I do want to help, but do you realise you are shouting at me?"
APOLOGY = "I'm so sorry the van didn't come twice, that must have been really frustrating."
OFFER = "I will personally book a priority slot tomorrow between 8 and 10 and add £50 credit."


@pytest.fixture(scope="module")
def shouter() -> Scenario:
    return load_scenarios()["shouter"]


def _session(scenario: Scenario, replies: list[tuple[str, float]], seed: int = 1) -> Session:
    session = Session(scenario, ENGINE, seed=seed, trainee="sam")
    session.opening()
    for text, seconds in replies:
        if session.done:
            break
        session.reply(text, seconds=seconds)
    return session


def test_the_json_debrief_has_what_the_cli_and_store_rely_on(shouter: Scenario) -> None:
    debrief = score(_session(shouter, [(MAKE_AWARE, 20), (APOLOGY, 20), (OFFER, 20)]))
    data = json.loads(json.dumps(debrief.to_dict()))
    assert {"scenario", "seed", "transcript", "outcome", "passed", "scores"} <= set(data)
    assert set(data["scores"]) == {"A", "B", "C", "D", "E", "overall"}
    assert data["scores"]["E"] is None  # the shouter makes no demand
    assert data["scenario"] == "shouter"
    assert data["trainee"] == "sam"
    assert data["outcome"] == "resolved"
    assert data["passed"] is True
    assert data["transcript"][0]["role"] == "customer"


def test_answering_a_hostile_line_too_fast_costs_composure(shouter: Scenario) -> None:
    paced = _finished(shouter, 20)
    rushed = _finished(shouter, 0.5)
    assert rushed.scores["A"] is not None and paced.scores["A"] is not None
    assert rushed.scores["A"] < paced.scores["A"]
    assert rushed.timing.too_fast >= 1
    assert any(c.principle == "A3" for c in rushed.to_change)


def _finished(scenario: Scenario, first_seconds: float) -> Debrief:
    session = _session(scenario, [(MAKE_AWARE, first_seconds), (APOLOGY, 20), (OFFER, 20)])
    return score(session)


def test_stalling_costs_composure(shouter: Scenario) -> None:
    stalled = score(_session(shouter, [(MAKE_AWARE, 300), (APOLOGY, 20), (OFFER, 20)]))
    assert stalled.timing.stalled == 1
    assert stalled.scores["A"] == 85
    assert any("300 s" in c.why for c in stalled.to_change)


def test_a_change_quotes_the_trainee_and_offers_a_better_line(shouter: Scenario) -> None:
    debrief = score(_session(shouter, [("Calm down. You're wrong about that.", 20)] * 6))
    assert not debrief.passed
    said = {c.said for c in debrief.to_change}
    assert said & {"Calm down.", "You're wrong about that.", "Calm down. You're wrong about that."}
    assert all(c.better and c.better != c.said for c in debrief.to_change)
    assert len(debrief.to_change) == 3


def test_ending_before_the_protocol_scores_zero_for_d_and_fails(shouter: Scenario) -> None:
    debrief = score(_session(shouter, [("I am ending this conversation now. Goodbye.", 20)]))
    assert debrief.outcome is Outcome.ENDED_IMPROPERLY
    assert debrief.scores["D"] == 0
    assert not debrief.passed


def test_a_good_score_without_an_ending_that_passes_does_not_pass(shouter: Scenario) -> None:
    limited = shouter.model_copy(update={"turn_limit": 2})
    debrief = score(_session(limited, [("I have your order open here.", 20)] * 5))
    assert debrief.outcome in (Outcome.TURN_LIMIT, Outcome.LEAVES_ANGRY)
    assert not debrief.passed


def test_weights_from_the_scenario_change_the_overall(shouter: Scenario) -> None:
    replies = [(MAKE_AWARE, 0.5), (APOLOGY, 20), (OFFER, 20)]
    plain = score(_session(shouter, replies))
    training = shouter.training.model_copy(update={"weights": {"A": 10.0}})
    heavy = score(_session(shouter.model_copy(update={"training": training}), replies))
    assert heavy.scores["overall"] is not None and plain.scores["overall"] is not None
    assert heavy.scores["overall"] < plain.scores["overall"]


def test_an_unfinished_session_cannot_be_scored(shouter: Scenario) -> None:
    session = Session(shouter, ENGINE, seed=1)
    session.opening()
    with pytest.raises(TrainingError, match="not ended"):
        score(session)


@pytest.mark.parametrize(
    ("offer", "option", "expected_e"),
    [
        (
            "What I can offer you is £480 towards the £640, and I will arrange it today.",
            "bargain",
            100,
        ),
        ("I will pay the full amount, £640, today.", "grant", 60),
        ("I'm sorry, the policy pays £320 because food is bought at home too.", "stand_firm", 40),
    ],
)
def test_relent_is_judged_against_the_advice(offer: str, option: str, expected_e: int) -> None:
    claim = load_scenarios()["insurance-claim"]
    session = Session(claim, ENGINE, seed=1)
    session.opening()
    session.reply("Helen, I'm so sorry you were told it was covered.", seconds=20)
    if not session.done:
        session.reply(offer, seconds=20)
    while not session.done:
        session.reply("I will send you the confirmation by email today.", seconds=20)
    offers = [e.offer for e in session.transcript if e.offer]
    assert offers[0] == option
    debrief = score(session)
    assert debrief.scores["E"] == expected_e
    assert debrief.scores["D"] is None  # not an abusive persona
    if expected_e < 100:
        change = next(c for c in debrief.to_change if c.principle.startswith("E"))
        assert "£480" in change.better  # the advised bargain, in words to say


def test_ignoring_the_shouting_costs_d_and_the_better_line_is_the_d1_script(
    shouter: Scenario,
) -> None:
    debrief = score(_session(shouter, [(APOLOGY, 20)] * 12))
    assert debrief.scores["D"] == 40
    change = next(c for c in debrief.to_change if c.principle == "D1")
    assert change.said == APOLOGY
    assert change.better.startswith("Ray")


def test_warning_a_customer_who_is_not_abusive_costs_d(shouter: Scenario) -> None:
    warn = "If this continues I will have no option but to end this conversation."
    calm = score(_session(shouter, [(MAKE_AWARE, 20), (APOLOGY, 20), (warn, 20), (OFFER, 20)]))
    assert calm.scores["D"] == 80
