"""The good behaviours credited in agent replies, from tests/cases/credits.yml."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

import calmline
from calmline import Engine
from tests.caseload import CASES

DATA = yaml.safe_load((CASES / "credits.yml").read_text(encoding="utf-8"))


def _cases() -> list[Any]:
    params = []
    for behaviour, kinds in DATA.items():
        for expect in ("shows", "lacks"):
            for n, draft in enumerate(kinds.get(expect) or []):
                label = f"{behaviour}-{expect}-{n}-{draft[:40]}"
                params.append(pytest.param(behaviour, expect, draft, id=label))
    return params


@pytest.mark.parametrize(("behaviour", "expect", "draft"), _cases())
def test_credit(engine: Engine, behaviour: str, expect: str, draft: str) -> None:
    credits = engine.check_reply(draft).credits
    mine = [c for c in credits if c.behaviour == behaviour]
    shown = [(c.behaviour, c.text) for c in credits]
    if expect == "shows":
        assert mine, f"{draft!r} is not credited with {behaviour}; got {shown}"
        (credit,) = mine
        assert draft[credit.span[0] : credit.span[1]] == credit.text
    else:
        assert not mine, f"{draft!r} is credited with {behaviour}: {shown}"


def test_every_credited_behaviour_has_cases() -> None:
    behaviours = set(calmline.load_playbook().credits) - {"name"}  # name: the customer's name
    assert behaviours <= set(DATA), f"no cases for {behaviours - set(DATA)}"
    assert all(DATA[b].get("shows") and DATA[b].get("lacks") for b in behaviours)
