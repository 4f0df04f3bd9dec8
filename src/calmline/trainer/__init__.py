"""Roleplay training: scenarios as data, a simulated customer on the coach, scoring."""

from __future__ import annotations

from calmline.trainer.scenario import Intent, Scenario, load_scenario, load_scenarios

__all__ = ["Intent", "Scenario", "load_scenario", "load_scenarios"]
