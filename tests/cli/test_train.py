"""`calmline train` and `calmline progress`: the JSON debrief, the same seed giving the same
session, clear errors for bad input, stored sessions and the progress they show."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

import calmline.trainer
from calmline.cli import app
from calmline.store.db import migrate

runner = CliRunner()
CASES = Path(__file__).parents[1] / "cases" / "trainer"
BUILT_IN_FOLDER = Path(calmline.trainer.__file__).parent / "scenarios"
BUILT_IN = [
    "demeaning",
    "insulter",
    "insurance-claim",
    "loyal-tense",
    "outrageous-demand",
    "repair-bad-news",
    "shouter",
    "turns-abusive",
]


def run(*args: str, input: str | None = None) -> Result:
    env = {
        "CALMLINE_PLAYBOOK": None,
        "CALMLINE_SCENARIOS": None,
        "CALMLINE_DATABASE_URL": None,
        "COLUMNS": "120",
    }
    return runner.invoke(app, list(args), env=env, input=input)  # type: ignore[arg-type]


def replies_file(tmp_path: Path, scenario: str, kind: str) -> Path:
    """The scripted trainee of tests/cases/trainer/<scenario>.yml as a replies file."""
    replies = yaml.safe_load((CASES / f"{scenario}.yml").read_text(encoding="utf-8"))[kind]
    # Repeat the last reply so the script outlasts any seed's customer.
    lines = [*replies, *[replies[-1]] * 10]
    path = tmp_path / f"{scenario}-{kind}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def debrief(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_list_names_every_built_in_scenario() -> None:
    result = run("train", "--list")
    assert result.exit_code == 0, result.output
    for name in BUILT_IN:
        assert name in result.stdout
    records = json.loads(run("train", "--list", "--format", "json").stdout)
    assert [r["name"] for r in records] == BUILT_IN
    shouter = next(r for r in records if r["name"] == "shouter")
    assert shouter["abusive"] is True and shouter["demand"] is False


@pytest.mark.parametrize("scenario", ["shouter", "outrageous-demand", "turns-abusive"])
def test_the_json_debrief_of_a_replies_file(tmp_path: Path, scenario: str) -> None:
    replies = replies_file(tmp_path, scenario, "good")
    data = debrief(
        run("train", "--scenario", scenario, "--replies", str(replies), "--seed", "7", "-f", "json")
    )
    assert data["scenario"] == scenario and data["seed"] == 7
    assert data["outcome"] in ("resolved", "ended_properly")
    assert data["passed"] is True
    assert set(data["scores"]) == {"A", "B", "C", "D", "E", "overall"}
    assert data["scores"]["overall"] >= data["pass_mark"]
    transcript = data["transcript"]
    assert transcript[0]["role"] == "customer"
    trainee_lines = [t for t in transcript if t["role"] == "trainee"]
    assert trainee_lines and all(t["reply_seconds"] == 20.0 for t in trainee_lines)


def test_an_arguing_trainee_is_played_and_fails_with_exit_0(tmp_path: Path) -> None:
    replies = replies_file(tmp_path, "loyal-tense", "bad")
    data = debrief(
        run("train", "-s", "loyal-tense", "--replies", str(replies), "--seed", "1", "-f", "json")
    )
    assert data["outcome"] == "leaves_angry"
    assert data["passed"] is False
    assert data["to_change"], "the debrief says what to change"
    assert data["to_change"][0]["said"] and data["to_change"][0]["better"]


def test_the_same_seed_and_replies_give_identical_json(tmp_path: Path) -> None:
    replies = str(replies_file(tmp_path, "insulter", "good"))
    args = ("train", "-s", "insulter", "--replies", replies, "-f", "json")
    first = run(*args, "--seed", "42")
    again = run(*args, "--seed", "42")
    assert first.exit_code == 0, first.output
    assert first.stdout == again.stdout
    others = {run(*args, "--seed", str(seed)).stdout for seed in range(1, 6)}
    assert len(others) > 1, "different seeds should play differently"


def test_reply_seconds_is_the_time_each_reply_took(tmp_path: Path) -> None:
    replies = str(replies_file(tmp_path, "shouter", "good"))
    data = debrief(
        run(
            "train",
            *("-s", "shouter", "--replies", replies, "--seed", "3", "-f", "json"),
            *("--reply-seconds", "0.5"),
        )
    )
    assert {t["reply_seconds"] for t in data["transcript"] if t["role"] == "trainee"} == {0.5}
    assert data["timing"]["too_fast"] >= 1  # answering a shouted line at once (A3)


def test_text_output_shows_the_transcript_and_the_debrief(tmp_path: Path) -> None:
    replies = str(replies_file(tmp_path, "repair-bad-news", "good"))
    result = run("train", "-s", "repair-bad-news", "--replies", replies, "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "Mei Lin Foster:" in result.stdout and "You (20 s):" in result.stdout
    assert "PASSED" in result.stdout and "Went well" in result.stdout
    assert "the rest were not used" in result.stderr


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, ("-s", "shouter"), "no such replies file"),
        (b"", ("-s", "shouter"), "no replies in the file"),
        (b"\n  \n", ("-s", "shouter"), "no replies in the file"),
        (b"I'm sorry.\nSorry \xff again\n", ("-s", "shouter"), "replies.txt:2: not valid UTF-8"),
        (b"x" * 5000, ("-s", "shouter"), "replies.txt:1: the reply is 5,000 characters"),
        (b"Hello.\n", ("-s", "nobody"), "unknown scenario 'nobody'; the scenarios are: demeaning"),
        (b"Hello.\n", (), "--replies needs --scenario NAME"),
        (b"Hello.\n", ("-s", "shouter", "--reply-seconds", "-1"), "--reply-seconds: expected 0"),
        (b"I'm sorry.\n", ("-s", "shouter", "--seed", "1"), "ran out before the session ended"),
        (b"Hello.\n", ("-s", "shouter", "--seed", "-1"), "--seed: expected a whole number"),
        (b"Hello.\n", ("-s", "shouter", "--seed", str(2**64)), "--seed: expected a whole"),
        (b"Hello.\n", ("-s", "shouter", "--trainee", "  "), "trainee: the name is empty"),
    ],
)
def test_bad_input_is_one_clear_error_and_exit_2(
    tmp_path: Path, content: bytes | None, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "replies.txt"
    if content is not None:
        path.write_bytes(content)
    result = run("train", "--replies", str(path), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_interactive_json_is_refused() -> None:
    result = run("train", "-s", "shouter", "--format", "json")
    assert result.exit_code == 2
    assert "--format json needs --replies FILE" in result.stderr


def test_a_team_folder_adds_scenarios_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    shutil.copy(BUILT_IN_FOLDER / "shouter.yaml", team / "our-shouter.yaml")
    listed = json.loads(run("train", "--list", "-f", "json", "--scenarios", str(team)).stdout)
    assert "our-shouter" in [r["name"] for r in listed]
    (team / "broken.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    result = run("train", "--list", "--scenarios", str(team))
    assert result.exit_code == 2
    assert "broken.yaml:" in result.stderr and "not valid YAML" in result.stderr
    result = run("train", "--list", "--scenarios", str(tmp_path / "missing"))
    assert result.exit_code == 2 and "no such folder of scenarios" in result.stderr


def test_an_interactive_session_asks_for_a_scenario_and_replies() -> None:
    script = yaml.safe_load((CASES / "loyal-tense.yml").read_text(encoding="utf-8"))["good"]
    typed = "\n".join(["nobody", "loyal-tense", "", *script, *[script[-1]] * 10]) + "\n"
    result = run("train", "--seed", "5", input=typed)
    assert result.exit_code == 0, result.output
    assert "Scenarios" in result.stdout and "No scenario 'nobody'" in result.stdout
    assert "The loyal customer in an unfamiliar world" in result.stdout  # the briefing
    assert "Debrief" in result.stdout


def test_quitting_an_interactive_session_scores_nothing() -> None:
    result = run("train", "-s", "shouter", "--seed", "1", input="/quit\n")
    assert result.exit_code == 0, result.output
    assert "nothing scored or stored" in result.stdout
    assert "Debrief" not in result.stdout


def test_the_end_of_input_leaves_an_interactive_session_quietly() -> None:
    result = run("train", "-s", "shouter", "--seed", "1", input="")
    assert result.exit_code == 0, result.output
    assert "nothing scored or stored" in result.stdout
    assert "Traceback" not in result.output


def test_sessions_are_stored_per_trainee_and_progress_shows_them(
    tmp_path: Path, database_url: str
) -> None:
    migrate(database_url)
    db = ("--database-url", database_url)
    for scenario, kind, seed in [
        ("shouter", "bad", "1"),
        ("shouter", "good", "2"),
        ("demeaning", "bad", "3"),
    ]:
        replies = str(replies_file(tmp_path, scenario, kind))
        result = run(
            "train", "-s", scenario, "--replies", replies, "--seed", seed, "--trainee", "Ada", *db
        )
        assert result.exit_code == 0, result.output
        assert "stored as training session" in result.stderr

    data = json.loads(run("progress", "Ada", *db, "--format", "json").stdout)
    assert data["trainee"] == "Ada" and data["sessions"] == 3
    assert {g: len(v["scores"]) for g, v in data["groups"].items()} == {
        "A": 3,
        "B": 3,
        "C": 3,
        "D": 2,  # only the shouter is an abusive persona
        "E": 0,
        "overall": 3,
    }
    assert data["groups"]["overall"]["trend"] == "declining"  # the last session was a bad one
    assert [(s["scenario"], s["attempts"], s["passed"]) for s in data["scenarios"]] == [
        ("demeaning", 1, False),
        ("shouter", 2, True),
    ]
    text = run("progress", "Ada", *db)
    assert text.exit_code == 0, text.output
    assert "declining" in text.stdout and "shouter" in text.stdout and "not yet" in text.stdout


def test_progress_of_an_unknown_trainee_is_exit_2(database_url: str) -> None:
    migrate(database_url)
    result = run("progress", "Nobody", "--database-url", database_url)
    assert result.exit_code == 2
    assert "no trainee 'Nobody'" in result.stderr


def test_storing_needs_a_migrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    replies = str(replies_file(tmp_path, "shouter", "good"))
    result = run(
        "train", "-s", "shouter", "--replies", replies, "--trainee", "Ada", "--database-url", url
    )
    assert result.exit_code == 2
    assert "calmline db upgrade" in result.stderr
