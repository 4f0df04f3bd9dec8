"""Reading conversation transcripts (JSONL or CSV) row by row, with a clear problem per bad row.

A transcript is one message per row with the fields ``conversation_id``, ``role`` (customer or
agent) and ``text``, and optionally ``timestamp`` (ISO 8601 or epoch seconds), ``author`` and
``customer_name``. Files are streamed: a row is read, checked and handed on before the next one
is read, so a transcript of any size runs in constant memory. A bad row becomes a
:class:`RowProblem` naming the file, line and field; the rows after it are still read. Only a
file that cannot be read at all raises :class:`~calmline.errors.TranscriptError`.

This is the one place where calmline reads transcript files; the engine never does I/O.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from calmline.core.types import Role, Turn
from calmline.errors import TranscriptError


class TranscriptFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


#: The fields calmline reads; every other field or column is ignored with a warning.
REQUIRED_FIELDS = ("conversation_id", "role", "text")
OPTIONAL_FIELDS = ("timestamp", "author", "customer_name")
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)

_EXTENSIONS = {
    ".jsonl": TranscriptFormat.JSONL,
    ".ndjson": TranscriptFormat.JSONL,
    ".csv": TranscriptFormat.CSV,
}
#: Longest conversation id, author or customer name (they are labels, not messages).
MAX_LABEL_CHARS = 200
#: Epoch values at or above this are taken to be milliseconds by mistake (year 5138).
_MAX_EPOCH_SECONDS = 1e11
_NUMBER_RE = re.compile(r"-?\d{1,15}(?:\.\d{1,9})?")
_SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class TranscriptRow:
    """One valid message of a transcript and the line it starts on."""

    conversation_id: str
    role: Role
    text: str
    line: int
    timestamp: float | None = None
    author: str | None = None
    customer_name: str | None = None

    def turn(self) -> Turn:
        return Turn(self.role, self.text, timestamp=self.timestamp, author=self.author)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a row was skipped (``warning=False``) or what was ignored in it (``warning=True``)."""

    source: str
    line: int
    field: str | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}"
        what = f"{self.field}: {self.message}" if self.field else self.message
        kind = "warning" if self.warning else "skipped"
        return f"{where}: {kind}: {what}"


Item = TranscriptRow | RowProblem


def format_for(path: str | Path, forced: TranscriptFormat | str | None = None) -> TranscriptFormat:
    """The format of a transcript file: ``forced`` when given, else from its extension."""
    if forced:
        try:
            return TranscriptFormat(str(forced).lower())
        except ValueError:
            raise TranscriptError(
                f"unknown transcript format {forced!r}; use jsonl or csv"
            ) from None
    suffix = Path(path).suffix.lower()
    fmt = _EXTENSIONS.get(suffix)
    if fmt is None:
        raise TranscriptError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            "name the file .jsonl or .csv, or pass --input-format jsonl|csv"
        )
    return fmt


class TranscriptReader:
    """Stream the rows of one transcript: a :class:`TranscriptRow` per good row, a
    :class:`RowProblem` per bad one (and per first use of an unknown field).

    ``max_chars`` is the playbook's ``limits.max_message_chars``: longer messages are skipped.
    After iteration, ``rows`` and ``skipped`` count the good and the bad rows.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        input_format: TranscriptFormat | str | None = None,
        max_chars: int = 20_000,
        name: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = name or str(path)
        self.format = format_for(path, input_format)
        self.max_chars = max_chars
        self.rows = 0
        self.skipped = 0
        self.json_lines = 0
        self._warned: set[str] = set()
        # A physical line (or CSV field) longer than this is not a message: skip it unread.
        self.max_line_chars = max(4 * max_chars, 1_000_000)
        self._check_readable()

    def _check_readable(self) -> None:
        try:
            with self.path.open("rb") as f:
                head = f.read(_SNIFF_BYTES)
        except FileNotFoundError:
            raise TranscriptError(f"{self.name}: no such file") from None
        except IsADirectoryError:
            raise TranscriptError(f"{self.name}: is a folder, not a transcript file") from None
        except OSError as exc:
            raise TranscriptError(f"{self.name}: cannot read it ({exc.strerror})") from None
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise TranscriptError(
                f"{self.name}: is UTF-16 text; save it as UTF-8 (CSV UTF-8 in spreadsheets)"
            )
        if b"\x00" in head:
            raise TranscriptError(
                f"{self.name}: looks like a binary file, not a {self.format.value} transcript"
            )

    def __iter__(self) -> Iterator[Item]:
        try:
            with self.path.open("rb") as raw:
                if self.format is TranscriptFormat.JSONL:
                    yield from self._jsonl(raw)
                else:
                    yield from self._csv(raw)
        except OSError as exc:
            raise TranscriptError(f"{self.name}: cannot read it ({exc.strerror})") from None

    # ----- JSONL ----------------------------------------------------------------------------

    def _jsonl(self, raw: IO[bytes]) -> Iterator[Item]:
        # Bytes per line: every character may take up to 6 bytes as a JSON \\u escape.
        limit = self.max_line_chars * 6
        line_no = 0
        while True:
            chunk = raw.readline(limit)
            if not chunk:
                return
            line_no += 1
            if len(chunk) >= limit and not chunk.endswith(b"\n"):
                while chunk and not chunk.endswith(b"\n"):  # skip the rest of the line
                    chunk = raw.readline(limit)
                yield self._problem(line_no, None, f"the line is longer than {limit:,} bytes")
                continue
            if line_no == 1 and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
            if not chunk.strip():
                continue
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield self._problem(
                    line_no, None, f"not valid UTF-8 (byte {exc.start + 1} of the line)"
                )
                continue
            try:
                data = json.loads(text.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                yield self._problem(
                    line_no, None, f"not valid JSON: {exc.msg} (column {exc.colno})"
                )
                continue
            except RecursionError:
                yield self._problem(line_no, None, "not valid JSON: nested too deeply")
                continue
            self.json_lines += 1
            if not isinstance(data, dict):
                yield self._problem(
                    line_no,
                    None,
                    f"expected a JSON object with conversation_id, role and text, "
                    f"got {json_kind(data)}",
                )
                continue
            yield from self._row(line_no, data)

    # ----- CSV ------------------------------------------------------------------------------

    def _csv(self, raw: IO[bytes]) -> Iterator[Item]:
        # newline="" keeps line ends as they are (the csv module needs that for quoted fields);
        # surrogateescape lets a row with broken UTF-8 be reported instead of stopping the file.
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        lines = _BoundedLines(stream, self.max_line_chars)
        with _csv_field_limit(self.max_line_chars):
            reader = csv.reader(lines, strict=True)
            try:
                header = next(reader)
            except StopIteration:
                return  # an empty file is an empty transcript
            except csv.Error as exc:
                raise TranscriptError(
                    f"{self.name}:1: cannot read the CSV header ({exc})"
                ) from None
            columns = [c.strip() for c in header]
            if any(_has_surrogates(c) for c in columns):
                raise TranscriptError(f"{self.name}:1: the CSV header is not valid UTF-8")
            missing = [f for f in REQUIRED_FIELDS if f not in columns]
            if missing:
                found = ", ".join(c for c in columns[:8] if c) or "nothing"
                raise TranscriptError(
                    f"{self.name}:1: not a calmline transcript: the CSV header lacks "
                    f"{', '.join(missing)} (a transcript needs conversation_id, role and text; "
                    f"found {found})"
                )
            dupes = sorted({c for c in columns if c and columns.count(c) > 1})
            if dupes:
                raise TranscriptError(
                    f"{self.name}:1: the CSV header names {', '.join(dupes)} more than once"
                )
            previous_end = reader.line_num
            while True:
                start = previous_end + 1
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    previous_end = reader.line_num
                    yield self._problem(start, None, f"not valid CSV ({exc})")
                    continue
                previous_end = reader.line_num
                if lines.overlong:
                    lines.overlong = False
                    yield self._problem(
                        start, None, f"the line is longer than {self.max_line_chars:,} characters"
                    )
                    continue
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue  # blank line
                if len(values) != len(columns):
                    yield self._problem(
                        start,
                        None,
                        f"has {len(values)} fields but the header has {len(columns)}",
                    )
                    continue
                bad = next(
                    (c for c, v in zip(columns, values, strict=True) if _has_surrogates(v)), None
                )
                if bad is not None:
                    yield self._problem(start, bad, "not valid UTF-8")
                    continue
                data: dict[str, Any] = {c: v for c, v in zip(columns, values, strict=True) if c}
                for c in OPTIONAL_FIELDS:
                    if c in data and not str(data[c]).strip():
                        data[c] = None
                yield from self._row(start, data)

    # ----- one row ----------------------------------------------------------------------------

    def _problem(self, line: int, field: str | None, message: str) -> RowProblem:
        self.skipped += 1
        return RowProblem(self.name, line, field, message)

    def _row(self, line: int, data: Mapping[str, Any]) -> Iterator[Item]:
        for key in data:
            if key not in KNOWN_FIELDS and key not in self._warned:
                self._warned.add(key)
                yield RowProblem(
                    self.name,
                    line,
                    None,
                    f"unknown field {str(key)[:60]!r} ignored (reported once per file)",
                    warning=True,
                )
        try:
            row = self._validate(line, data)
        except _BadField as exc:
            yield self._problem(line, exc.field, exc.message)
            return
        self.rows += 1
        yield row

    def _validate(self, line: int, data: Mapping[str, Any]) -> TranscriptRow:
        for f in REQUIRED_FIELDS:
            if f not in data or data[f] is None:
                raise _BadField(f, "missing (every row needs conversation_id, role and text)")
        conversation = _label(data["conversation_id"], "conversation_id", allow_number=True)
        if conversation is None:
            raise _BadField("conversation_id", "is empty")
        role_value = data["role"]
        if not isinstance(role_value, str):
            raise _BadField("role", f"expected customer or agent, got {json_kind(role_value)}")
        try:
            role = Role(role_value.strip().lower())
        except ValueError:
            raise _BadField(
                "role", f"expected customer or agent, got {_shorten(role_value)!r}"
            ) from None
        text = data["text"]
        if not isinstance(text, str):
            raise _BadField("text", f"expected text, got {json_kind(text)}")
        if not text.strip():
            raise _BadField("text", "is empty")
        if len(text) > self.max_chars:
            raise _BadField(
                "text",
                f"is {len(text):,} characters long; the limit is {self.max_chars:,} "
                "(limits.max_message_chars in the playbook)",
            )
        if _has_surrogates(text):
            raise _BadField("text", "not valid UTF-8 (it holds a lone surrogate escape)")
        return TranscriptRow(
            conversation_id=conversation,
            role=role,
            text=text,
            line=line,
            timestamp=parse_timestamp(data.get("timestamp")),
            author=_label(data.get("author"), "author"),
            customer_name=_label(data.get("customer_name"), "customer_name"),
        )


class _BadField(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _label(value: Any, field: str, *, allow_number: bool = False) -> str | None:
    """A short text field (conversation id, author, customer name); None when absent."""
    if value is None:
        return None
    if allow_number and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _BadField(field, f"expected text, got {json_kind(value)}")
    value = value.strip()
    if len(value) > MAX_LABEL_CHARS:
        raise _BadField(field, f"is longer than {MAX_LABEL_CHARS} characters")
    if _has_surrogates(value):
        raise _BadField(field, "not valid UTF-8")
    return value or None


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds from an ISO 8601 string, a number, or a string of digits.

    ISO times without a zone are taken as UTC. Raises ``_BadField`` for anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise _BadField("timestamp", "expected ISO 8601 or epoch seconds, got true/false")
    if isinstance(value, int | float):
        return _epoch(float(value), value)
    if not isinstance(value, str):
        raise _BadField("timestamp", f"expected ISO 8601 or epoch seconds, got {json_kind(value)}")
    text = value.strip()
    if not text:
        return None
    if _NUMBER_RE.fullmatch(text):
        return _epoch(float(text), text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _BadField(
            "timestamp",
            f"not ISO 8601 (2024-05-01T14:03:00Z) or epoch seconds: {_shorten(text)!r}",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _epoch(seconds: float, shown: object) -> float:
    if not math.isfinite(seconds) or seconds < 0:
        raise _BadField("timestamp", f"not a usable epoch time: {shown!r}")
    if seconds >= _MAX_EPOCH_SECONDS:
        raise _BadField(
            "timestamp", f"{shown!r} looks like milliseconds; give epoch seconds or ISO 8601"
        )
    return seconds


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_kind(value: Any) -> str:
    """How a JSON value is named in an error message ("text", "a number", "a list" ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _BoundedLines:
    """The lines of a text stream, with any line longer than ``limit`` replaced by a blank one
    (and ``overlong`` set) so the CSV reader never holds a giant line in memory."""

    def __init__(self, stream: IO[str], limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.overlong = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.stream.readline(self.limit)
        if not line:
            raise StopIteration
        if len(line) >= self.limit and not line.endswith(("\n", "\r")):
            while line and not line.endswith(("\n", "\r")):
                line = self.stream.readline(self.limit)
            self.overlong = True
            return "\n"
        return line


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """Raise the csv module's field size limit to ``limit`` for one file, then restore it."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


__all__ = [
    "KNOWN_FIELDS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "RowProblem",
    "TranscriptFormat",
    "TranscriptReader",
    "TranscriptRow",
    "format_for",
    "parse_timestamp",
]
