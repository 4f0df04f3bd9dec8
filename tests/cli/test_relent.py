"""`calmline relent`: the advice, its table and wording, JSON output, and bad input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from calmline.cli import app
from calmline.coach.relent import Figure, RelentRequest, advise_relent

runner = CliRunner()

INSURANCE = (
    "--claim", "640", "--demand", "100%", "--policy", "50%",
    "--annual-spend", "950", "--tenure", "6", "--promised", "--name", "Dana",
)  # fmt: skip
MESSAGE = "You people are USELESS. I want a full refund of £120 or I will sue."


def run(*args: str) -> Result:
    env = {"CALMLINE_PLAYBOOK": None, "COLUMNS": "120"}
    return runner.invoke(app, ["relent", *args], env=env)  # type: ignore[arg-type]


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_text_shows_advice_table_reasoning_and_wording() -> None:
    result = run(*INSURANCE)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Advice: bargain (E1): pay £480" in text
    for row in ("stand firm", "▶ bargain", "grant"):
        assert row in text
    for cost in ("£647.25", "£321.10", "£377.40"):
        assert cost in text
    assert "Customer value: £950 a year" in text
    assert "Suggested wording" in text and "Dana, I'm sorry" in text and "£480" in text


def test_json_is_the_advice_with_the_request() -> None:
    data = as_json(run(*INSURANCE, "--format", "json"))
    expected = advise_relent(
        RelentRequest(Figure(percent=100), Figure(percent=50), 640, 950, 6, promised=True),
        customer_name="Dana",
    ).to_dict()
    assert {k: v for k, v in data.items() if k != "request"} == expected
    assert data["request"]["promised"] is True and data["request"]["policy"] == {"percent": 50}
    line = run(*INSURANCE, "--format", "jsonl").stdout
    assert line.count("\n") == 1 and json.loads(line) == data


def test_demand_and_threats_are_read_from_the_message() -> None:
    data = as_json(
        run("--policy", "60", "--annual-spend", "400", "--tenure", "1", "--message", MESSAGE,
            "--threat", "public", "-f", "json")
    )  # fmt: skip
    assert data["demand"] == 120 and data["claim"] == 120
    assert data["request"]["threats"] == ["threat.legal", "threat.public"]
    # --demand overrides the message
    assert (
        as_json(run("--policy", "60", "--message", MESSAGE, "--demand", "80", "-f", "json"))[
            "demand"
        ]
        == 80
    )


def test_threats_and_audience_change_the_advice() -> None:
    base = ("--demand", "150", "--policy", "50", "--annual-spend", "3000", "--tenure", "12")
    quiet = as_json(run(*base, "-f", "json"))
    loud = as_json(run(*base, "--threat", "public", "--audience", "8000", "-f", "json"))
    assert loud["word_of_mouth_cost"] > quiet["word_of_mouth_cost"]
    stand = {d["option"]: d for d in loud["options"]}["stand_firm"]
    assert (
        stand["public_probability"]
        > {d["option"]: d for d in quiet["options"]}["stand_firm"]["public_probability"]
    )
    assert loud["recommendation"] == "grant"


def test_a_sign_sets_the_currency() -> None:
    data = as_json(run("--demand", "$300", "--policy", "$20", "-f", "json"))
    assert data["currency"] == "USD" and "$" in data["wording"]


def test_the_team_playbook_is_used(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("relent:\n  bargain_step: 0.25\n  currency: EUR\n", encoding="utf-8")
    data = as_json(run(*INSURANCE, "--playbook", str(team), "-f", "json"))
    assert data["currency"] == "EUR"
    bargain = {d["option"]: d for d in data["options"]}["bargain"]
    assert bargain["payout"] == 400


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--demand", "150%", "--policy", "50%", "--claim", "10"), "--demand: percent: 150%"),
        (("--demand", "100", "--policy", "120"), "policy (120) is above the demand (100)"),
        (("--demand", "100", "--policy", "20", "--annual-spend", "-5"), "--annual-spend: cannot"),
        (("--demand", "100", "--policy", "20", "--claim", "-3"), "--claim: cannot be negative"),
        (("--demand", "100", "--policy", "20", "--tenure", "-1"), "--tenure: cannot be negative"),
        (("--demand", "100", "--policy", "20", "--audience", "-3"), "--audience: cannot"),
        (("--demand", "100%", "--policy", "20"), "give the claim value too (--claim)"),
        (("--demand", "lots", "--policy", "1"), "--demand: 'lots' is not an amount"),
        (("--demand", "-20", "--policy", "1"), "--demand: '-20' is not an amount"),
        (("--demand", "€90", "--policy", "£30"), "currencies differ"),
        (("--policy", "5"), "give --demand, or --message"),
        (
            (
                "--demand",
                "5",
            ),
            "give --policy",
        ),
        (("--policy", "5", "--message", "Where is my parcel?"), "give the demand with --demand"),
        (("--demand", "5", "--policy", "1", "--playbook", "missing.yaml"), "no such playbook"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert "calmline: error: " in result.stderr and message in result.stderr


def test_an_unknown_threat_is_refused_by_the_option_parser() -> None:
    result = run("--demand", "5", "--policy", "1", "--threat", "violent")
    assert result.exit_code == 2 and "violent" in result.output
