"""The persona scenarios' line banks are large and varied enough to sound like a person, and a
customer who turns abusive stays abusive to the coach while furious (so the boundary protocol
runs to its end instead of restarting)."""

from __future__ import annotations

import pytest

from calmline import Engine
from calmline.coach.coach import CALMED_ANGER
from calmline.core.rule import render
from calmline.core.types import AbuseLevel
from calmline.trainer import load_scenarios
from calmline.trainer.scenario import Band

SCENARIOS = load_scenarios()
#: The persona scenarios whose banks hold at least this many lines per situation.
PERSONAS = [
    "demeaning",
    "loyal-tense",
    "insulter",
    "outrageous-demand",
    "repair-bad-news",
    "turns-abusive",
]
MIN_VARIANTS = 6


@pytest.mark.parametrize("name", PERSONAS)
def test_every_situation_has_many_different_lines(name: str) -> None:
    scenario = SCENARIOS[name]
    banks = {"opening": scenario.lines.opening}
    for band in Band:
        for intent, lines in scenario.lines.bank(band).items():
            banks[f"{band.value}.{intent.value}"] = lines
    for where, lines in banks.items():
        assert len(lines) >= MIN_VARIANTS, f"{name}: lines.{where} has {len(lines)} lines"
        assert len(set(lines)) == len(lines), f"{name}: lines.{where} repeats a line"
        lengths = sorted(len(line) for line in lines)
        assert lengths[-1] >= 1.5 * lengths[0], f"{name}: lines.{where} are all one length"


@pytest.mark.parametrize("name", [n for n in PERSONAS if SCENARIOS[n].persona.abusive])
def test_a_furious_abusive_customer_reads_as_abusive_to_the_coach(
    engine: Engine, name: str
) -> None:
    scenario = SCENARIOS[name]
    slots = scenario.slots()
    for intent, lines in scenario.lines.bank(Band.FURIOUS).items():
        for line in lines:
            analysis = engine.analyze_message(render(line, slots))
            assert analysis.abuse is AbuseLevel.ABUSIVE or analysis.anger >= CALMED_ANGER, (
                f"{name}: lines.furious.{intent.value}: {line!r} would read as calmed down"
            )
