"""CSV and Parquet exports of the scores, written as they stream, and of the roll-ups.

Every file is written under a temporary name beside its destination and renamed into place
only when it is complete: a failed or interrupted run leaves no partial export behind (and
the previous export, if any, untouched). Quotes are redacted (emails, phone numbers and the
conversation's customer name) before they are written.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

from calmline.qa.aggregate import LEVELS, Aggregator, customer_names, redact_quote
from calmline.qa.types import ConversationScore

#: Conversation rows per Parquet row group (bounded memory; a few MB of rows).
ROW_GROUP_SIZE = 10_000

CONVERSATION_COLUMNS = (
    "conversation_id",
    "source",
    "format",
    "agent",
    "team",
    "week",
    "started_at",
    "customer_messages",
    "agent_messages",
    "score",
    "outcome",
    "anger_start",
    "anger_end",
    "anger_peak",
    "abuse",
    "protocol_needed",
    "protocol_followed",
    "protocol_steps",
    "principles_followed",
    "principles_violated",
    "hits",
)


def conversation_record(score: ConversationScore) -> dict[str, Any]:
    """One conversation as a flat record: hits as a list of dicts with redacted quotes."""
    names = customer_names(score)
    return {
        **score.fields(),
        "protocol_steps": " ".join(score.protocol_steps),
        "principles_followed": " ".join(sorted({h.principle for h in score.followed})),
        "principles_violated": " ".join(sorted({h.principle for h in score.violated})),
        "hits": [h.to_dict(quote=redact_quote(h.quote, names)) for h in score.hits],
    }


def _csv_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float:  # most cells: no conversion
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """A file object whose content replaces ``path`` only when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        encoding = None if "b" in mode else "utf-8"
        newline = None if "b" in mode else ""
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise


class _TempTarget:
    """A destination written under a temporary name and renamed on commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.done = False

    def replace(self) -> None:
        self.tmp.replace(self.path)
        self.done = True

    def discard(self) -> None:
        if not self.done:
            with contextlib.suppress(FileNotFoundError):
                self.tmp.unlink()
            self.done = True


class ScoreSink(Protocol):
    """Where scores go as they stream: one call per score, then commit (or abort)."""

    target: _TempTarget

    def write(self, score: ConversationScore) -> None: ...
    def write_record(self, record: dict[str, Any]) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class CsvScores:
    """Per-conversation scores as CSV, one row written per score as it arrives."""

    def __init__(self, path: Path) -> None:
        self.target = _TempTarget(path)
        self._file = self.target.tmp.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(CONVERSATION_COLUMNS)
        self.rows = 0

    def write(self, score: ConversationScore) -> None:
        self.write_record(conversation_record(score))

    def write_record(self, record: dict[str, Any]) -> None:
        """One row from :func:`conversation_record` (built once when several sinks share it)."""
        self._writer.writerow([_csv_value(record[c]) for c in CONVERSATION_COLUMNS])
        self.rows += 1

    def commit(self) -> None:
        self._file.close()
        self.target.replace()

    def abort(self) -> None:
        self._file.close()
        self.target.discard()


def _conversation_schema() -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    hit = pa.struct(
        [
            ("principle", pa.string()),
            ("source", pa.string()),
            ("followed", pa.bool_()),
            ("quote", pa.string()),
            ("message", pa.int32()),
            ("severity", pa.string()),
        ]
    )
    return pa.schema(
        [
            ("conversation_id", pa.string()),
            ("source", pa.string()),
            ("format", pa.string()),
            ("agent", pa.string()),
            ("team", pa.string()),
            ("week", pa.string()),
            ("started_at", pa.timestamp("us", tz="UTC")),
            ("customer_messages", pa.int32()),
            ("agent_messages", pa.int32()),
            ("score", pa.float64()),
            ("outcome", pa.string()),
            ("anger_start", pa.float64()),
            ("anger_end", pa.float64()),
            ("anger_peak", pa.float64()),
            ("abuse", pa.string()),
            ("protocol_needed", pa.bool_()),
            ("protocol_followed", pa.bool_()),
            ("protocol_steps", pa.string()),
            ("principles_followed", pa.string()),
            ("principles_violated", pa.string()),
            ("hits", pa.list_(hit)),
        ]
    )


def _import_pyarrow() -> Any:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        from calmline.errors import InputError

        raise InputError("Parquet exports need pyarrow: pip install 'calmline[qa]'") from None
    return pq


class ParquetScores:
    """Per-conversation scores as Parquet, written a row group at a time."""

    def __init__(self, path: Path, *, row_group_size: int = ROW_GROUP_SIZE) -> None:
        pq = _import_pyarrow()
        self.target = _TempTarget(path)
        self.schema = _conversation_schema()
        self.row_group_size = row_group_size
        self._writer = pq.ParquetWriter(str(self.target.tmp), self.schema)
        self._buffer: list[dict[str, Any]] = []
        self.rows = 0

    def write(self, score: ConversationScore) -> None:
        self.write_record(conversation_record(score))

    def write_record(self, record: dict[str, Any]) -> None:
        self._buffer.append(record)
        self.rows += 1
        if len(self._buffer) >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._buffer:
            table = pa.Table.from_pylist(self._buffer, schema=self.schema)
            self._writer.write_table(table, row_group_size=self.row_group_size)
            self._buffer = []

    def commit(self) -> None:
        self._flush()
        self._writer.close()
        self.target.replace()

    def abort(self) -> None:
        self._buffer = []
        with contextlib.suppress(Exception):
            self._writer.close()
        self.target.discard()


class Exports:
    """The exports asked for (CSV and/or Parquet folders), fed as scores stream past.

    Use as a context manager: on a clean exit the streamed files are committed and the
    roll-ups written (call :meth:`finish` with the aggregator first); on an error nothing is
    left behind.
    """

    def __init__(self, *, csv_dir: Path | None = None, parquet_dir: Path | None = None) -> None:
        self.csv_dir = csv_dir
        self.parquet_dir = parquet_dir
        self.sinks: list[ScoreSink] = []
        self.written: list[Path] = []

    def __enter__(self) -> Exports:
        try:
            if self.csv_dir is not None:
                self.sinks.append(CsvScores(self.csv_dir / "conversations.csv"))
            if self.parquet_dir is not None:
                self.sinks.append(ParquetScores(self.parquet_dir / "conversations.parquet"))
        except BaseException:
            self._abort()
            raise
        return self

    def write(self, score: ConversationScore) -> None:
        if self.sinks:
            record = conversation_record(score)
            for sink in self.sinks:
                sink.write_record(record)

    def finish(self, aggregator: Aggregator) -> list[Path]:
        """Commit the streamed files and write the roll-ups; the paths written."""
        for sink in self.sinks:
            sink.commit()
            self.written.append(sink.target.path)
        self.sinks = []
        if self.csv_dir is not None:
            self.written += write_aggregates_csv(aggregator, self.csv_dir)
        if self.parquet_dir is not None:
            self.written += write_aggregates_parquet(aggregator, self.parquet_dir)
        return self.written

    def _abort(self) -> None:
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                sink.abort()
        self.sinks = []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Sinks still open here were not finished: an error, or finish() was never called.
        self._abort()


# ----- roll-ups ---------------------------------------------------------------------------------


def aggregate_tables(aggregator: Aggregator) -> dict[str, list[dict[str, Any]]]:
    """The roll-ups as tables of flat records: agents, teams, weeks, principles and
    recommendations (an agent's weakest principles with the scenarios that train them)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for level in LEVELS:
        rows = []
        for key, stats in aggregator.groups(level).items():
            row = {level: key, **stats.row()}
            del row["key"]
            if level == "agent":
                row = {"agent": key, "team": aggregator.agent_team.get(key), **row}
            rows.append(row)
        tables[f"{level}s"] = rows
    principles = []
    for level in LEVELS:
        for key, stats in aggregator.groups(level).items():
            for pid, tally in sorted(stats.principles.items()):
                principles.append(
                    {
                        "level": level,
                        "key": key,
                        "principle": pid,
                        "followed": tally.followed,
                        "violated": tally.violated,
                        "follow_rate": tally.follow_rate,
                    }
                )
    tables["principles"] = principles
    recommendations = []
    for agent, weak in aggregator.recommendations().items():
        for rank, w in enumerate(weak, 1):
            recommendations.append(
                {
                    "agent": agent,
                    "rank": rank,
                    "principle": w.principle,
                    "followed": w.followed,
                    "violated": w.violated,
                    "follow_rate": w.follow_rate,
                    "scenarios": " ".join(w.scenarios),
                }
            )
    tables["recommendations"] = recommendations
    return tables


_TABLE_COLUMNS = {
    "principles": ("level", "key", "principle", "followed", "violated", "follow_rate"),
    "recommendations": (
        "agent",
        "rank",
        "principle",
        "followed",
        "violated",
        "follow_rate",
        "scenarios",
    ),
}


def _columns(name: str, rows: list[dict[str, Any]], aggregator: Aggregator) -> list[str]:
    if rows:
        return list(rows[0])
    if name in _TABLE_COLUMNS:
        return list(_TABLE_COLUMNS[name])
    level = name.removesuffix("s")
    sample = {level: "", **aggregator.overall.row()}
    del sample["key"]
    return (["agent", "team"] if level == "agent" else []) + [c for c in sample if c != "agent"]


def write_aggregates_csv(aggregator: Aggregator, folder: Path) -> list[Path]:
    written = []
    for name, rows in aggregate_tables(aggregator).items():
        path = folder / f"{name}.csv"
        columns = _columns(name, rows, aggregator)
        with atomic_file(path) as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_csv_value(row.get(c)) for c in columns])
        written.append(path)
    return written


def write_aggregates_parquet(aggregator: Aggregator, folder: Path) -> list[Path]:
    pq = _import_pyarrow()
    import pyarrow as pa

    written = []
    for name, rows in aggregate_tables(aggregator).items():
        path = folder / f"{name}.parquet"
        columns = _columns(name, rows, aggregator)
        table = pa.Table.from_pydict({c: [row.get(c) for row in rows] for c in columns})
        target = _TempTarget(path)
        try:
            pq.write_table(table, str(target.tmp))
            target.replace()
        finally:
            target.discard()
        written.append(path)
    return written
