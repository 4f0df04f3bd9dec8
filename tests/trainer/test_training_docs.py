"""docs/training.md cannot drift: the scenario table, the team example and the pass/fail
matrix are checked against what the code does."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline.playbook.loader import load_playbook
from calmline.trainer import load_scenarios
from calmline.trainer.scenario import parse_scenario
from tests.trainer.test_dynamics import SCENARIOS, SCRIPTED, play, scripted

DOC = Path(__file__).parents[2] / "docs" / "training.md"
TEXT = DOC.read_text(encoding="utf-8")
SEEDS = (1, 2, 3)


def _table(marker: str) -> dict[str, str]:
    """The rows between <!-- marker ... --> and <!-- /marker -->, by their first cell."""
    start = TEXT.index(f"<!-- {marker}:")
    end = TEXT.index(f"<!-- /{marker} -->")
    rows: dict[str, str] = {}
    for line in TEXT[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = line.strip()
    return rows


def scenario_row(name: str) -> str:
    s = SCENARIOS[name]
    yes = {True: "yes", False: "no"}
    return f"| `{name}` | {s.title} | {yes[s.persona.abusive]} | {yes[s.persona.demand]} |"


def matrix_cell(name: str, kind: str) -> str:
    debriefs = [play(SCENARIOS[name], scripted(name, kind), seed) for seed in SEEDS]
    passed = {d.passed for d in debriefs}
    verdict = "pass" if passed == {True} else "fail" if passed == {False} else "mixed"
    outcomes = " / ".join(sorted({d.outcome.value for d in debriefs}))
    return f"{verdict}: {outcomes}"


def matrix_row(name: str) -> str:
    return f"| `{name}` | {matrix_cell(name, 'good')} | {matrix_cell(name, 'bad')} |"


def test_every_scenario_is_listed_as_it_is() -> None:
    rows = _table("scenarios")
    for name in load_scenarios():
        assert rows.get(name) == scenario_row(name), (
            f"docs/training.md: the scenarios table needs this row:\n{scenario_row(name)}"
        )


@pytest.mark.parametrize("name", SCRIPTED)
def test_the_pass_fail_matrix_is_the_actual_result(name: str) -> None:
    row = matrix_row(name)
    assert _table("matrix").get(name) == row, (
        f"docs/training.md: the pass/fail matrix needs this row:\n{row}"
    )


def test_the_team_example_is_a_valid_scenario() -> None:
    block = TEXT.split("<!-- example:", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    scenario = parse_scenario("parcel-in-the-rain", block.encode(), playbook=load_playbook())
    assert scenario.persona.name == "Jo Reyes"
