"""CSV and Parquet exports: what is written reads back as the scores and roll-ups, quotes are
redacted, and a failed run leaves no file behind."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from calmline.qa.aggregate import Aggregator, scenarios_by_principle
from calmline.qa.export import CsvScores, Exports, ParquetScores
from calmline.qa.types import ConversationScore
from tests.qa.test_aggregate import load_scores

TABLES = ("conversations", "agents", "teams", "weeks", "principles", "recommendations")


def _export(scores: list[ConversationScore], folder: Path) -> Aggregator:
    agg = Aggregator(scenarios=scenarios_by_principle())
    with Exports(csv_dir=folder / "csv", parquet_dir=folder / "parquet") as exports:
        for score in scores:
            agg.add(score)
            exports.write(score)
        exports.finish(agg)
    return agg


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_both_exports_hold_every_conversation(tmp_path: Path) -> None:
    scores = load_scores()
    _export(scores, tmp_path)
    for name in TABLES:
        assert (tmp_path / "csv" / f"{name}.csv").is_file()
        assert (tmp_path / "parquet" / f"{name}.parquet").is_file()
    rows = _read_csv(tmp_path / "csv" / "conversations.csv")
    table = pq.read_table(tmp_path / "parquet" / "conversations.parquet").to_pylist()
    assert [r["conversation_id"] for r in rows] == [s.conversation_id for s in scores]
    assert [r["conversation_id"] for r in table] == [s.conversation_id for s in scores]
    for score, row, record in zip(scores, rows, table, strict=True):
        assert float(row["score"]) == record["score"] == score.score
        assert row["outcome"] == record["outcome"] == score.outcome
        assert row["agent"] == (score.agent or "") and record["agent"] == score.agent
        hits = json.loads(row["hits"])
        assert len(hits) == len(record["hits"]) == len(score.hits)
        assert [h["principle"] for h in hits] == [h.principle for h in score.hits]
        assert record["started_at"] == score.started_at
        assert set(row["principles_violated"].split()) == {h.principle for h in score.violated}


def test_quotes_are_redacted_in_both(tmp_path: Path) -> None:
    _export(load_scores(), tmp_path)
    for path in (tmp_path / "csv").iterdir():
        text = path.read_text(encoding="utf-8")
        assert "maria.lopez@example.com" not in text and "7946" not in text
        assert "Maria" not in text
    table = pq.read_table(tmp_path / "parquet" / "conversations.parquet").to_pylist()
    quotes = [h["quote"] for r in table for h in r["hits"]]
    assert "I will handle this myself and email [email] today." in quotes
    assert "[name], insulting me won't help, call [phone]." in quotes
    assert not any("Maria" in q or "@" in q for q in quotes)


def test_roll_ups_match_the_aggregator(tmp_path: Path) -> None:
    agg = _export(load_scores(), tmp_path)
    agents = {r["agent"]: r for r in _read_csv(tmp_path / "csv" / "agents.csv")}
    assert set(agents) == set(agg.agents)
    assert int(agents["Ben"]["conversations"]) == agg.agents["Ben"].conversations
    assert agents["Ben"]["team"] == "south"
    weeks = pq.read_table(tmp_path / "parquet" / "weeks.parquet").to_pylist()
    assert {w["week"]: w["conversations"] for w in weeks} == {
        k: g.conversations for k, g in agg.weeks.items()
    }
    recs = _read_csv(tmp_path / "csv" / "recommendations.csv")
    ben = [r for r in recs if r["agent"] == "Ben"]
    assert [r["principle"] for r in ben] == [w.principle for w in agg.weakest("Ben")]
    assert "insurance-claim" in ben[0]["scenarios"].split()
    principles = pq.read_table(tmp_path / "parquet" / "principles.parquet").to_pylist()
    b1 = [p for p in principles if p["level"] == "agent" and p["key"] == "Ben"]
    assert {p["principle"]: p["violated"] for p in b1}["B1"] == 5


def test_parquet_is_written_in_row_groups(tmp_path: Path) -> None:
    scores = load_scores() * 5
    sink = ParquetScores(tmp_path / "c.parquet", row_group_size=8)
    for score in scores:
        sink.write(score)
    sink.commit()
    meta = pq.ParquetFile(tmp_path / "c.parquet").metadata
    assert meta.num_rows == len(scores)
    assert meta.num_row_groups == 5


def test_an_error_leaves_no_file(tmp_path: Path) -> None:
    scores = load_scores()
    with pytest.raises(RuntimeError), Exports(csv_dir=tmp_path, parquet_dir=tmp_path) as exports:
        for score in scores:
            exports.write(score)
        raise RuntimeError("the run failed half way")
    assert list(tmp_path.iterdir()) == []


def test_an_earlier_export_survives_a_failed_one(tmp_path: Path) -> None:
    path = tmp_path / "conversations.csv"
    sink = CsvScores(path)
    sink.write(load_scores()[0])
    sink.commit()
    before = path.read_bytes()
    again = CsvScores(path)
    again.write(load_scores()[1])
    again.abort()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["conversations.csv"]


def test_an_empty_run_writes_headers(tmp_path: Path) -> None:
    with Exports(csv_dir=tmp_path / "csv", parquet_dir=tmp_path / "pq") as exports:
        exports.finish(Aggregator())
    assert _read_csv(tmp_path / "csv" / "agents.csv") == []
    header = (tmp_path / "csv" / "agents.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("agent,team,conversations")
    assert pq.read_table(tmp_path / "pq" / "conversations.parquet").num_rows == 0
