"""The dynamics every scenario must show: a trainee who follows the playbook resolves it (or
ends it properly through the protocol) and passes; one who argues and blames makes it worse
and fails; the same seed plays the same way. Every scenario with a case file
(tests/cases/trainer/<scenario>.yml, `good:` and `bad:` replies) is played."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from calmline.engine import default_engine
from calmline.trainer import load_scenarios
from calmline.trainer.scenario import Scenario
from calmline.trainer.scoring import Debrief, score
from calmline.trainer.simulator import Outcome, Session

CASES = Path(__file__).parents[1] / "cases" / "trainer"
SCENARIOS = load_scenarios()
SCRIPTED = sorted(p.stem for p in CASES.glob("*.yml") if p.stem in SCENARIOS)
SEEDS = (1, 2, 3)
#: seconds a scripted trainee takes over each reply
REPLY_SECONDS = 20.0


def scripted(name: str, kind: str) -> list[str]:
    data = yaml.safe_load((CASES / f"{name}.yml").read_text(encoding="utf-8"))
    replies: list[str] = data[kind]
    return replies


def play(scenario: Scenario, replies: list[str], seed: int) -> Debrief:
    """A session played with the scripted replies in turn (the last repeated if the customer
    is still talking), scored."""
    session = Session(scenario, default_engine(), seed=seed)
    session.opening()
    turn = 0
    while not session.done:
        session.reply(replies[min(turn, len(replies) - 1)], seconds=REPLY_SECONDS)
        turn += 1
    return score(session)


def test_the_reference_scenarios_have_scripted_trainees() -> None:
    assert {"shouter"} <= set(SCRIPTED)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", SCRIPTED)
def test_a_playbook_trainee_resolves_or_ends_properly_and_passes(name: str, seed: int) -> None:
    debrief = play(SCENARIOS[name], scripted(name, "good"), seed)
    assert debrief.outcome in (Outcome.RESOLVED, Outcome.ENDED_PROPERLY), debrief.to_dict()
    assert debrief.passed, debrief.scores


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", SCRIPTED)
def test_an_arguing_trainee_makes_it_worse_and_fails(name: str, seed: int) -> None:
    scenario = SCENARIOS[name]
    debrief = play(scenario, scripted(name, "bad"), seed)
    assert debrief.outcome not in (Outcome.RESOLVED, Outcome.ENDED_PROPERLY)
    assert not debrief.passed
    final = debrief.transcript[-1].state
    assert final is not None
    assert final.anger > scenario.start.anger or final.patience < scenario.start.patience
    assert final.trust <= scenario.start.trust
    assert len(debrief.to_change) == 3


@pytest.mark.parametrize("name", SCRIPTED)
def test_same_seed_same_transcript(name: str) -> None:
    for kind in ("good", "bad"):
        first = play(SCENARIOS[name], scripted(name, kind), 42).to_dict()
        again = play(SCENARIOS[name], scripted(name, kind), 42).to_dict()
        assert first == again


@pytest.mark.parametrize("name", SCRIPTED)
def test_different_seeds_give_different_lines(name: str) -> None:
    lines = {
        tuple(e.text for e in play(SCENARIOS[name], scripted(name, "good"), seed).transcript)
        for seed in range(6)
    }
    assert len(lines) > 1
