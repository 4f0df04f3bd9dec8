"""benchmarks/accuracy.py scores held-out files given on its command line, and refuses bad ones.

The fixtures in ``data/`` are a handful of rows in the official formats (OLID test folder,
GoEmotions TSV, Stanford politeness CSV); the figures they give mean nothing, only that every
file is read, every row scored and the tables printed.
"""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "accuracy.py"
DATA = Path(__file__).parent / "data"
OLID_TEST = DATA / "olid-test"
GOEMOTIONS = DATA / "goemotions-test.tsv"
POLITENESS = DATA / "politeness.csv"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args), "--no-better-profanity", "--no-save"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def data_rows(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.fixture(scope="module")
def held_out() -> subprocess.CompletedProcess[str]:
    return run(
        "--olid-test", OLID_TEST, "--goemotions-test", GOEMOTIONS, "--politeness", POLITENESS
    )


def test_held_out_files_are_scored(held_out: subprocess.CompletedProcess[str]) -> None:
    assert held_out.returncode == 0, held_out.stderr
    out = held_out.stdout
    level_a = data_rows(OLID_TEST / "labels-levela.csv")
    level_b = data_rows(OLID_TEST / "labels-levelb.csv")
    assert f"OLID level A (held-out test): {level_a} rows scored" in out
    assert f"OLID level B (held-out test) (OFF rows): {level_b} rows scored" in out
    assert f"GoEmotions anger (held-out test): {data_rows(GOEMOTIONS)} rows scored" in out
    # the politeness task keeps the top and bottom quartile of the file's scores only
    with POLITENESS.open(newline="", encoding="utf-8") as fh:
        scores = [float(r["Normalized Score"]) for r in csv.DictReader(fh)]
    low, _, high = statistics.quantiles(scores, n=4, method="inclusive")
    polite, impolite = sum(s >= high for s in scores), sum(s <= low for s in scores)
    assert f"{polite + impolite} rows scored (polite {polite} / impolite {impolite})" in out
    assert "| macro-F1 |" in out


def test_every_system_and_target_is_reported(held_out: subprocess.CompletedProcess[str]) -> None:
    out = held_out.stdout
    for system in (
        "calmline rules: abuse level not none",
        "calmline + models: abuse level not none",
        "offensive head alone",
        "anger head alone",
        "politeness head alone",
    ):
        assert f"| {system}" in out
    targets = out.split("## Targets of issue 6")[1].split("## Time")[0]
    assert "OLID A macro-F1 >= 0.80" in targets
    assert "(dev, indicative)" not in targets  # these files are held out, not the dev data
    assert any(word in targets for word in ("PASS", "FAIL"))
    assert "The whole run took" in out


def test_a_malformed_file_exits_2_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken-goemotions.tsv"
    bad.write_text("fine text\t2\tid1\na row with no ids\tangry\tid2\n", encoding="utf-8")
    result = run("--goemotions-test", bad)
    assert result.returncode == 2
    assert "broken-goemotions.tsv" in result.stderr
    assert "line 2" in result.stderr


def test_a_missing_labels_file_exits_2_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "olid"
    folder.mkdir()
    (folder / "testset-levela.tsv").write_text(
        (OLID_TEST / "testset-levela.tsv").read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = run("--olid-test", folder)
    assert result.returncode == 2
    assert "labels-levela.csv" in result.stderr
