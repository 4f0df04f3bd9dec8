"""`calmline qa` end to end on small archives: the summary, the report and exports it writes,
problems on stderr as FILE:RECORD, exit codes, and clear errors for bad options."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from calmline.cli import app

runner = CliRunner()
DATA = Path(__file__).parents[1] / "qa" / "data"
ARCHIVE = DATA / "cli-archive.jsonl"
BAD = DATA / "cli-archive-bad.jsonl"


def run(*args: str) -> Result:
    env = {"CALMLINE_PLAYBOOK": None, "COLUMNS": "120"}
    return runner.invoke(app, ["qa", *args], env=env)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_a_clean_archive_gives_a_summary_report_and_exports(tmp_path: Path) -> None:
    report = tmp_path / "review.html"
    result = run(
        str(ARCHIVE),
        "--workers",
        "1",
        "--report",
        str(report),
        "--csv",
        str(tmp_path / "csv"),
        "--parquet",
        str(tmp_path / "pq"),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    rows = _lines(ARCHIVE)
    assert summary["conversations"] == len({r["conversation_id"] for r in rows})
    assert summary["messages"] == len(rows)
    assert summary["skipped"] == 0
    assert set(summary["agents"]) == {r["author"] for r in rows if r["role"] == "agent"}
    assert str(report) in summary["written"]
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert '<section id="agents">' in html and "<svg" in html
    with (tmp_path / "csv" / "conversations.csv").open(encoding="utf-8", newline="") as f:
        ids = [r["conversation_id"] for r in csv.DictReader(f)]
    assert ids == list(dict.fromkeys(r["conversation_id"] for r in rows))
    table = pq.read_table(tmp_path / "pq" / "conversations.parquet")
    assert table.column("conversation_id").to_pylist() == ids
    assert (tmp_path / "pq" / "recommendations.parquet").is_file()


def test_text_output_shows_the_team_table_and_the_files(tmp_path: Path) -> None:
    result = run(str(ARCHIVE), "--workers", "1", "--csv", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "all" in result.stdout and "convs" in result.stdout
    assert "conversations.csv" in result.stdout
    assert "messages/s" in result.stdout


def test_skipped_records_are_named_and_exit_2(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    result = run(str(ARCHIVE), str(BAD), "--workers", "1", "--report", str(report), "-f", "json")
    assert result.exit_code == 2
    assert f"{BAD}:line 3: skipped: role:" in result.stderr
    assert f"{BAD}:line 4: skipped:" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["skipped"] == 2
    # what could be used was scored and the report still written
    assert summary["conversations"] == len({r["conversation_id"] for r in _lines(ARCHIVE)}) + 1
    assert report.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl"], "missing.jsonl: no such archive file"),
        ([str(ARCHIVE), "--input-format", "fax"], "--input-format: 'fax' is not one of"),
        ([str(ARCHIVE), "--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine dask"),
        (
            [str(ARCHIVE), "--engine", "dask", "--scheduler", "127.0.0.1:1"],
            "is not a tcp://HOST:PORT address",
        ),
        ([str(ARCHIVE), "--playbook", "no-such-playbook.yaml"], "no-such-playbook.yaml"),
    ],
)
def test_bad_options_are_one_clear_error(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("calmline: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_file_of_no_known_format_is_an_error(tmp_path: Path) -> None:
    odd = tmp_path / "notes.bin"
    odd.write_bytes(b"\x00\x01 nothing anyone exports")
    result = run(str(odd), "--workers", "1")
    assert result.exit_code == 2
    assert str(odd) in result.stderr


def test_a_report_that_cannot_be_written_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run(str(ARCHIVE), "--workers", "1", "--report", str(blocker / "r.html"))
    assert result.exit_code == 2
    assert result.stderr.startswith("calmline: error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_the_customer_name_is_redacted_in_exports(tmp_path: Path) -> None:
    result = run(str(ARCHIVE), "--workers", "1", "--csv", str(tmp_path))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "conversations.csv").read_text(encoding="utf-8")
    names = {r["customer_name"] for r in _lines(ARCHIVE)}
    for record in csv.DictReader(text.splitlines()):
        for hit in json.loads(record["hits"]):
            assert not set(hit["quote"].split()) & names, hit


@pytest.mark.slow  # a LocalCluster of two workers starts in a few seconds
def test_dask_gives_the_same_summary_as_local(tmp_path: Path) -> None:
    local = run(str(ARCHIVE), "--workers", "1", "-f", "json")
    dask = run(str(ARCHIVE), "--engine", "dask", "--workers", "2", "-f", "json")
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    one, two = json.loads(local.stdout), json.loads(dask.stdout)
    for key in ("elapsed_seconds", "messages_per_second"):
        del one[key], two[key]
    assert one == two
