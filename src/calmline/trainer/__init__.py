"""Roleplay training: scenarios as data, a simulated customer on the coach, scoring."""

from __future__ import annotations

from calmline.trainer.scenario import Intent, Scenario, load_scenario, load_scenarios
from calmline.trainer.scoring import Change, Debrief, score
from calmline.trainer.simulator import CustomerTurn, Exchange, Outcome, Session

__all__ = [
    "Change",
    "CustomerTurn",
    "Debrief",
    "Exchange",
    "Intent",
    "Outcome",
    "Scenario",
    "Session",
    "load_scenario",
    "load_scenarios",
    "score",
]
