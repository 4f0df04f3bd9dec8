"""The command line contract: commands, options, output formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from calmline import Engine, Role, Severity, Turn, __version__
from calmline.cli import CONTEXT_TURNS, app
from calmline.transcript import RowProblem, TranscriptReader

CASES = Path(__file__).parent / "cases" / "transcripts"
EXAMPLE = CASES / "example.jsonl"
BAD_ROWS = CASES / "bad_rows.jsonl"

runner = CliRunner()

# A team playbook that makes the condescending-tone rule (B3) a block.
BLOCK_B3 = "rules:\n  B3:\n    severity: block\n"


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    base = {"CALMLINE_PLAYBOOK": None, "COLUMNS": "100"}
    base.update(env or {})
    return runner.invoke(app, list(args), input=stdin, env=base)  # type: ignore[arg-type]


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def records(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture()
def block_playbook(tmp_path: Path) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(BLOCK_B3, encoding="utf-8")
    return path


# ----- global -------------------------------------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"calmline {__version__}"


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("check", "analyze", "rules", "demo", "playbook"):
        assert command in result.stdout


def test_no_command_shows_help_and_exits_2() -> None:
    result = run()
    assert result.exit_code == 2
    assert "check" in result.output


@pytest.mark.parametrize("command", ["check", "analyze", "rules", "demo"])
def test_unknown_format_is_a_usage_error(command: str) -> None:
    args = {"check": ["check", "hello"], "analyze": ["analyze", str(EXAMPLE)]}.get(
        command, [command]
    )
    result = run(*args, "--format", "yaml")
    assert result.exit_code == 2
    no_traceback(result)


@pytest.mark.parametrize("command", ["check", "analyze", "rules", "demo"])
def test_every_command_refuses_a_bad_playbook_with_exit_2(command: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  B3:\n    seververity: block\n", encoding="utf-8")
    args = {"check": ["check", "hello"], "analyze": ["analyze", str(EXAMPLE)]}.get(
        command, [command]
    )
    result = run(*args, "--playbook", str(bad))
    assert result.exit_code == 2
    no_traceback(result)
    assert result.stdout == ""
    assert f"{bad}:3: rules.B3.seververity" in result.stderr
    assert result.stderr.startswith("calmline: error:")


def test_missing_playbook_file(tmp_path: Path) -> None:
    result = run("check", "hello", "--playbook", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "no such playbook file" in result.stderr


# ----- check --------------------------------------------------------------------------------------


def test_check_text_shows_rule_principle_severity_text_message_rewrite_and_fix() -> None:
    result = run("check", "Calm down. As I already explained, the refund takes five working days.")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "B3" in out and "No lecturing or talking down" in out  # rule and principle title
    assert "WARN" in out
    assert "“Calm down”" in out
    assert "talks down to the customer" in out  # the message
    assert "I can hear how frustrating this is" in out  # the rewrite
    assert "Suggested reply" in out
    assert "The refund takes five working days." in out


def test_check_clean_draft_is_ready_to_send() -> None:
    result = run("check", "Thanks for your patience, I will look into this now.")
    assert result.exit_code == 0
    assert "Ready to send" in result.stdout or "finding" in result.stdout


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_check_json_prints_one_object(fmt: str) -> None:
    draft = "Calm down. As I already explained, the refund takes five working days."
    result = run("check", draft, "--format", fmt)
    assert result.exit_code == 0
    if fmt == "jsonl":
        assert len(result.stdout.strip().splitlines()) == 1
    data = json.loads(result.stdout)
    assert set(data) >= {"draft", "findings", "credits", "blocked", "fixed"}
    assert data["draft"] == draft
    assert data["blocked"] is False
    b3 = [f for f in data["findings"] if f["rule"] == "B3"]
    assert [f["text"] for f in b3] == ["Calm down", "As I already explained"]
    assert all(f["principle"] == "B3" and f["severity"] == "warn" for f in b3)
    assert data["fixed"].endswith("The refund takes five working days.")


def test_check_exits_1_on_a_block_finding(block_playbook: Path) -> None:
    result = run("check", "Calm down, please.", "--playbook", str(block_playbook), "-f", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["blocked"] is True
    assert any(f["severity"] == "block" for f in data["findings"])
    text = run("check", "Calm down, please.", "--playbook", str(block_playbook))
    assert text.exit_code == 1
    assert "BLOCK" in text.stdout and "do not send" in text.stdout


def test_check_reads_the_playbook_from_the_environment(block_playbook: Path) -> None:
    result = run("check", "Calm down, please.", env={"CALMLINE_PLAYBOOK": str(block_playbook)})
    assert result.exit_code == 1
    result = run("check", "Thank you for waiting.", env={"CALMLINE_PLAYBOOK": str(block_playbook)})
    assert result.exit_code == 0


def test_check_blocks_an_agent_swearing_with_the_default_playbook(engine: Engine) -> None:
    if not any(r.id == "A8" for r in engine.rules):
        pytest.skip("rule A8 (responding in kind) is not in the default playbook yet")
    result = run("check", "Oh shut up, you stupid idiot.", "-f", "json")
    data = json.loads(result.stdout)
    assert any(f["rule"] == "A8" and f["severity"] == "block" for f in data["findings"])
    assert result.exit_code == 1


def test_check_reads_the_draft_from_stdin() -> None:
    result = run("check", "-", "-f", "json", stdin="Like I said, the engineer is booked.\n")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["draft"] == "Like I said, the engineer is booked."
    assert any(f["rule"] == "B3" for f in data["findings"])


@pytest.mark.parametrize(("args", "stdin"), [(("",), None), (("   ",), None), (("-",), "\n\n")])
def test_check_empty_draft_is_exit_2(args: tuple[str, ...], stdin: str | None) -> None:
    result = run("check", *args, stdin=stdin)
    assert result.exit_code == 2
    assert "draft is empty" in result.stderr
    no_traceback(result)


def test_check_too_long_draft_is_exit_2() -> None:
    result = run("check", "a" * 20_001)
    assert result.exit_code == 2
    assert "20,001 characters" in result.stderr and "max_message_chars" in result.stderr
    no_traceback(result)
    piped = run("check", "-", stdin="a " * 50_000)
    assert piped.exit_code == 2
    assert "longer than 20,000 characters" in piped.stderr
    exact = run("check", "-", "-f", "json", stdin="a" * 20_000 + "\n")
    assert exact.exit_code == 0


def test_check_invalid_utf8_draft_is_exit_2() -> None:
    result = run("check", "caf\udce9")  # how Python passes on undecodable argv bytes
    assert result.exit_code == 2
    assert "not valid UTF-8" in result.stderr
    no_traceback(result)


def test_check_with_context_uses_the_last_conversation_and_its_customer_name() -> None:
    draft = "Pay attention, the form is on our website."
    last = json.loads(run("check", draft, "--context", str(EXAMPLE), "-f", "json").stdout)
    first = json.loads(
        run(
            "check", draft, "--context", str(EXAMPLE), "--conversation", "T-1001", "-f", "json"
        ).stdout
    )
    named = json.loads(
        run(
            "check", draft, "--context", str(EXAMPLE), "--customer-name", "Sam", "-f", "json"
        ).stdout
    )
    assert "Tom" in last["fixed"]  # T-1002 is the last conversation of the file
    assert "Priya" in first["fixed"]
    assert "Sam" in named["fixed"] and "Tom" not in named["fixed"]


def test_check_with_context_matches_the_engine(engine: Engine) -> None:
    draft = "Like I said, there is nothing we can do about it."
    result = run(
        "check", draft, "--context", str(EXAMPLE), "--conversation", "T-1001", "-f", "json"
    )
    turns = [
        item.turn()
        for item in TranscriptReader(EXAMPLE)
        if not isinstance(item, RowProblem) and item.conversation_id == "T-1001"
    ]
    expected = engine.check_reply(draft, engine.context(turns, customer_name="Priya"))
    assert json.loads(result.stdout) == expected.to_dict()


def test_check_context_from_csv_and_forced_format(tmp_path: Path) -> None:
    draft = "Pay attention, the form is on our website."
    from_csv = run("check", draft, "--context", str(CASES / "example.csv"), "-f", "json")
    renamed = tmp_path / "context.txt"
    renamed.write_bytes(EXAMPLE.read_bytes())
    forced = run("check", draft, "--context", str(renamed), "--input-format", "jsonl", "-f", "json")
    assert from_csv.exit_code == forced.exit_code == 0
    assert json.loads(from_csv.stdout) == json.loads(forced.stdout)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--context", "nope.jsonl"), "no such file"),
        (("--context", str(EXAMPLE), "--conversation", "T-9999"), "no conversation 'T-9999'"),
        (("--conversation", "T-1001"), "needs --context"),
        (("--context", str(CASES / "not_a_transcript.csv")), "not a calmline transcript"),
    ],
)
def test_check_context_errors_are_exit_2(args: tuple[str, ...], needle: str) -> None:
    result = run("check", "Thanks for waiting.", *args)
    assert result.exit_code == 2
    assert needle in result.stderr
    no_traceback(result)


def test_check_context_with_bad_rows_reports_them_and_still_checks() -> None:
    result = run("check", "Sorry for the wait.", "--context", str(BAD_ROWS), "-f", "json")
    assert result.exit_code == 0
    assert f"{BAD_ROWS}:3: skipped: role" in result.stderr
    assert json.loads(result.stdout)["draft"] == "Sorry for the wait."


def test_check_prints_markup_in_a_draft_as_text() -> None:
    draft = "[red]Calm down[/red] <b>now</b> :smile:"
    result = run("check", draft)
    no_traceback(result)
    assert "[red]Calm down[/red] <b>now</b> :smile:" in result.stdout


# ----- analyze ------------------------------------------------------------------------------------


def test_analyze_json_is_one_array_with_one_object_per_message() -> None:
    result = run("analyze", str(EXAMPLE), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["line"] for d in data] == [1, 2, 3, 4, 5, 6]
    assert [d["role"] for d in data] == ["customer", "agent"] * 3
    for d in data:
        assert {"conversation_id", "line", "role", "signals", "anger", "abuse"} <= set(d)
        assert 0.0 <= d["anger"] <= 1.0
        assert d["abuse"] in {"none", "venting", "abusive", "safety"}
        if d["role"] == "agent":
            assert {"findings", "credits", "blocked", "fixed"} <= set(d)
        else:
            assert "findings" not in d
    assert data[0]["author"] == "Priya Shah" and data[0]["timestamp"] == 1714641240.0
    calm_down = data[1]
    assert any(f["rule"] == "B3" and f["text"] == "Calm down" for f in calm_down["findings"])


def test_analyze_jsonl_matches_json_and_csv_matches_jsonl() -> None:
    as_json = json.loads(run("analyze", str(EXAMPLE), "-f", "json").stdout)
    as_jsonl = records(run("analyze", str(EXAMPLE), "-f", "jsonl"))
    from_csv = records(run("analyze", str(CASES / "example.csv"), "-f", "jsonl"))
    assert as_json == as_jsonl
    strip = [{k: v for k, v in d.items() if k != "line"} for d in as_jsonl]
    assert strip == [{k: v for k, v in d.items() if k != "line"} for d in from_csv]
    assert [d["line"] for d in from_csv] == [2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("name", ["example.jsonl", "interleaved.jsonl"])
def test_analyze_checks_agent_messages_against_their_own_conversation(
    engine: Engine, name: str
) -> None:
    path = CASES / name
    data = records(run("analyze", str(path), "-f", "jsonl"))
    assert len(data) == sum(1 for _ in TranscriptReader(path))
    history: dict[str, list[Turn]] = {}
    names: dict[str, str] = {}
    for item in TranscriptReader(path):
        assert not isinstance(item, RowProblem)
        conv = history.setdefault(item.conversation_id, [])
        if item.customer_name:
            names[item.conversation_id] = item.customer_name
        record = next(d for d in data if d["line"] == item.line)
        if item.role is Role.AGENT:
            ctx = engine.context(
                conv, customer_name=names.get(item.conversation_id), agent_name=item.author
            )
            expected = engine.check_reply(item.text, ctx).to_dict()
            assert record["findings"] == expected["findings"]
            assert record["fixed"] == expected["fixed"]
        conv.append(item.turn())


def test_analyze_keeps_interleaved_conversations_apart() -> None:
    data = records(run("analyze", str(CASES / "interleaved.jsonl"), "-f", "jsonl"))
    replies = [(d["conversation_id"], d["fixed"]) for d in data if d["role"] == "agent"]
    # The same words answer an abusive customer in A and a calm one in B: only A needs more.
    assert replies[0][0] == "A" and replies[0][1] != "Your order ships on Thursday."
    assert replies[1] == ("B", "Your order ships on Thursday.")
    assert [d["conversation_id"] for d in data] == ["A", "B"] * 4


def test_engine_context_reuses_analyses_it_is_given(engine: Engine) -> None:
    turns = [
        Turn(Role.CUSTOMER, "This is the THIRD time I have called, you are useless!"),
        Turn(Role.AGENT, "I am sorry, let me look."),
        Turn(Role.CUSTOMER, "Hurry up."),
    ]
    fresh = engine.context(turns, customer_name="Ann")
    known = [engine.analyze_message(turns[0].text), None, None]
    reused = engine.context(turns, customer_name="Ann", analyses=known)
    assert reused.analyses[0] is known[0]  # taken as given, not read again
    assert reused.analyses[1] is None and reused.analyses[2] is not None  # the gap is filled
    assert reused.analyses == fresh.analyses and reused.upset == fresh.upset


def test_analyze_reads_agent_messages_for_signals_too(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rows = [
        {"conversation_id": "c", "role": "customer", "text": "Where is my refund?"},
        {"conversation_id": "c", "role": "agent", "text": "WE ARE DOING OUR BEST, STOP CHASING US"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    data = records(run("analyze", str(path), "-f", "jsonl"))
    assert any(s["type"] == "shouting" for s in data[1]["signals"])


def test_analyze_text_shows_each_conversation() -> None:
    result = run("analyze", str(EXAMPLE))
    assert result.exit_code == 0
    out = result.stdout
    assert "Conversation T-1001" in out and "Conversation T-1002" in out
    assert "Priya Shah" in out and "line 2" in out
    assert "anger" in out and "abuse" in out
    assert "Calm down" in out and "B3" in out
    assert "6 messages in 2 conversations" in out


def test_analyze_bad_rows_are_reported_skipped_and_exit_2() -> None:
    result = run("analyze", str(BAD_ROWS), "-f", "jsonl")
    assert result.exit_code == 2
    no_traceback(result)
    assert [d["line"] for d in records(result)] == [1, 11, 12]
    err = result.stderr
    for line, what in [
        (2, "not valid JSON"),
        (3, "role:"),
        (4, "text: missing"),
        (5, "text: is empty"),
        (6, "timestamp:"),
        (7, "not valid UTF-8"),
        (8, "text: is 20,001 characters"),
        (9, "got a list"),
    ]:
        assert f"{BAD_ROWS}:{line}: skipped: " in err and what in err, line
    assert f"{BAD_ROWS}:11: warning: unknown field 'channel'" in err
    assert "8 row(s) skipped" in err


def test_analyze_bad_csv_rows_exit_2_and_keep_good_rows() -> None:
    result = run("analyze", str(CASES / "bad_rows.csv"), "-f", "json")
    assert result.exit_code == 2
    assert [d["line"] for d in json.loads(result.stdout)] == [2, 3, 8]
    assert f"{CASES / 'bad_rows.csv'}:4: skipped: text: not valid UTF-8" in result.stderr


def test_analyze_only_warnings_is_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("conversation_id,role,text,queue\nc,customer,hello,vip\n", encoding="utf-8")
    result = run("analyze", str(path), "-f", "jsonl")
    assert result.exit_code == 0
    assert "warning: unknown field 'queue'" in result.stderr


def test_analyze_prints_html_and_markup_as_text() -> None:
    result = run("analyze", str(BAD_ROWS))
    no_traceback(result)
    assert "<script>alert('hi')</script> [bold]still waiting[/bold]" in result.stdout


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("missing.jsonl", "no such file"),
        ("chats.txt", "--input-format"),
        ("not_a_transcript.csv", "not a calmline transcript"),
    ],
)
def test_analyze_unreadable_file_is_exit_2(name: str, needle: str, tmp_path: Path) -> None:
    path = CASES / name if (CASES / name).exists() else tmp_path / name
    if name.endswith(".txt"):
        path.write_text("hello", encoding="utf-8")
    for fmt in ("json", "text"):
        result = run("analyze", str(path), "-f", fmt)
        assert result.exit_code == 2
        assert needle in result.stderr
        assert result.stdout == ""  # not even an opening bracket
        no_traceback(result)


def test_analyze_a_file_that_is_not_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text("dear diary\nit rained\n", encoding="utf-8")
    result = run("analyze", str(path), "-f", "json")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == []
    assert "is this a JSONL transcript" in result.stderr


def test_analyze_input_format_option(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes((CASES / "example.csv").read_bytes())
    result = run("analyze", str(path), "--input-format", "csv", "-f", "jsonl")
    assert result.exit_code == 0
    assert len(records(result)) == 6


def test_analyze_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    result = run("analyze", str(path), "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_analyze_long_conversation_keeps_a_bounded_context(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    rows = []
    for i in range(CONTEXT_TURNS + 20):
        role = "customer" if i % 2 == 0 else "agent"
        rows.append({"conversation_id": "c", "role": role, "text": f"Message number {i}."})
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    started = time.perf_counter()
    result = run("analyze", str(path), "-f", "jsonl")
    assert result.exit_code == 0
    assert len(records(result)) == len(rows)
    assert time.perf_counter() - started < 5


# ----- rules --------------------------------------------------------------------------------------


def test_rules_json_describes_every_rule(engine: Engine) -> None:
    result = run("rules", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ids = [d["id"] for d in data]
    assert ids == sorted(engine.settings.rules)
    for d in data:
        assert d["summary"] and d["principle"] and d["principle_title"]
        assert d["severity"] in {s.value for s in Severity}
    b3 = next(d for d in data if d["id"] == "B3")
    assert b3["principle_title"] == "No lecturing or talking down"
    assert b3["anti_pattern"].startswith("Calm down.")
    assert b3["fires_on_anti_pattern"] is True
    assert b3["flagged"] == "Calm down"
    assert b3["fixed"] == "I can hear how frustrating this is. The refund takes five working days."


def test_rules_text_shows_id_principle_example_and_rewrite() -> None:
    result = run("rules")
    assert result.exit_code == 0
    out = result.stdout
    assert "B3" in out and "condescending-tone" in out and "No lecturing" in out
    assert "Calm down. As I already explained" in out
    assert "I can hear how frustrating this is. The refund takes five working days." in out


def test_rules_follow_a_team_playbook(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("rules:\n  B3:\n    enabled: false\n", encoding="utf-8")
    data = json.loads(run("rules", "-f", "json", "--playbook", str(team)).stdout)
    b3 = next(d for d in data if d["id"] == "B3")
    assert b3["enabled"] is False and b3["fires_on_anti_pattern"] is None
    lines = records(run("rules", "-f", "jsonl", "--playbook", str(team)))
    assert [d["id"] for d in lines] == [d["id"] for d in data]


# ----- demo ---------------------------------------------------------------------------------------


def test_demo_text_coaches_turn_by_turn() -> None:
    started = time.perf_counter()
    result = run("demo")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "calmline demo" in out
    assert "Customer · Dana Whitfield · turn 1" in out
    assert "Agent · Sam · turn 2" in out
    assert "anger" in out and "abuse" in out
    assert "“Calm down”" in out and "B3" in out
    assert "Suggested reply" in out
    assert "Good:" in out  # credits on the better drafts
    assert "ms of engine time" in out
    assert elapsed < 5


def test_demo_jsonl_gives_one_object_per_turn() -> None:
    result = run("demo", "--format", "jsonl")
    assert result.exit_code == 0
    data = records(result)
    assert 12 <= len(data) <= 16
    assert [d["turn"] for d in data] == list(range(1, len(data) + 1))
    assert [d["role"] for d in data] == ["customer", "agent"] * (len(data) // 2)
    assert all(d["text"] for d in data)
    agents = [d for d in data if d["role"] == "agent"]
    assert all("findings" in d for d in agents)
    # early drafts have problems, the last ones are clean
    assert any(d["findings"] for d in agents[:3])
    assert not any(f["severity"] != "info" for d in agents[-2:] for f in d["findings"])
    # the customer gets angrier, then calms down
    angers = [d["anger"] for d in data if d["role"] == "customer"]
    assert max(angers) > 0.5 and angers[-1] < 0.2
    json_data = json.loads(run("demo", "--format", "json").stdout)
    assert json_data == data


def test_demo_engine_time_is_well_under_a_second(engine: Engine) -> None:
    from calmline.cli import analyse_rows
    from calmline.transcript import TranscriptReader as Reader

    root = Path(__file__).parent.parent / "src" / "calmline" / "demo" / "conversation.jsonl"
    started = time.perf_counter()
    items = list(analyse_rows(engine, iter(Reader(root)), "demo"))
    assert time.perf_counter() - started < 0.5
    assert not [i for i in items if isinstance(i, RowProblem)]


# ----- playbook validate --------------------------------------------------------------------------


def test_playbook_validate(tmp_path: Path, block_playbook: Path) -> None:
    good = run("playbook", "validate", str(block_playbook))
    assert good.exit_code == 0 and "valid" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("detectors:\n  shouting:\n    threshold: 2\n", encoding="utf-8")
    result = run("playbook", "validate", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:3: detectors.shouting.threshold" in result.stderr


# ----- the installed command ----------------------------------------------------------------------


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from calmline.cli import main; main()", *args]


def test_real_process_exit_codes(tmp_path: Path, block_playbook: Path) -> None:
    ok = subprocess.run(_command("check", "Thanks for waiting."), capture_output=True, text=True)
    assert ok.returncode == 0
    blocked = subprocess.run(
        _command("check", "Calm down.", "--playbook", str(block_playbook)),
        capture_output=True,
        text=True,
    )
    assert blocked.returncode == 1
    bad = subprocess.run(_command("analyze", str(BAD_ROWS), "-f", "jsonl"), capture_output=True)
    assert bad.returncode == 2
    assert b"Traceback" not in bad.stderr


def test_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    row = {"conversation_id": "c", "role": "customer", "text": "Where is my parcel? " * 10}
    path.write_text((json.dumps(row) + "\n") * 3000, encoding="utf-8")
    proc = subprocess.Popen(
        _command("analyze", str(path), "--format", "jsonl"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    assert b"Traceback" not in stderr, stderr.decode()
    assert b"Exception ignored" not in stderr, stderr.decode()
