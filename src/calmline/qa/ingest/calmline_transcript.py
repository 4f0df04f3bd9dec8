"""calmline's own transcripts (JSONL or CSV, one message per row), grouped into conversations.

Rows are read by :class:`calmline.transcript.TranscriptReader`, so the rules for a good row are
the same as ``calmline analyze``'s. Rows of a conversation need not be next to each other, but
memory stays bounded: a conversation is *open* until no row of it has come for
``idle_rows`` rows, or until more than ``max_open`` conversations are open (then the one idle
longest is closed). A closed conversation is handed on at once. A row that comes back for a
conversation closed earlier starts a second part with the same id, and a warning says so.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from calmline.core.types import Role
from calmline.errors import ArchiveError, TranscriptError
from calmline.qa.ingest.fields import conversation
from calmline.qa.types import Conversation, IngestProblem, Message
from calmline.transcript import RowProblem, TranscriptReader, TranscriptRow

#: A conversation with no row for this many rows is complete.
IDLE_ROWS = 10_000
#: At most this many conversations are open at once.
MAX_OPEN = 10_000
#: Ids of closed conversations remembered to warn when their rows come back.
_REMEMBER_CLOSED = 100_000
#: A conversation longer than this is split into parts (same id, a warning each time).
MAX_MESSAGES = 10_000


@dataclass(slots=True)
class _Open:
    id: str
    first_line: int
    last_row: int
    messages: list[Message] = field(default_factory=list)
    customer_name: str | None = None
    part: int = 1


def read_transcript(
    path: str | Path,
    name: str,
    *,
    fmt: str,
    max_chars: int,
    idle_rows: int = IDLE_ROWS,
    max_open: int = MAX_OPEN,
) -> Iterator[Conversation | IngestProblem]:
    """The conversations of a calmline transcript (``fmt`` is ``calmline-jsonl`` or
    ``calmline-csv``), each as soon as it is complete, with a problem per bad row."""
    try:
        reader = TranscriptReader(
            path, input_format=fmt.removeprefix("calmline-"), max_chars=max_chars, name=name
        )
        yield from _group(reader, name, fmt, idle_rows, max_open)
    except TranscriptError as exc:
        raise ArchiveError(exc.message) from None


def _group(
    reader: TranscriptReader, name: str, fmt: str, idle_rows: int, max_open: int
) -> Iterator[Conversation | IngestProblem]:
    open_: OrderedDict[str, _Open] = OrderedDict()  # least recently active first
    closed: OrderedDict[str, int] = OrderedDict()  # id -> parts so far
    rows = 0

    def close(conv: _Open) -> Conversation | IngestProblem:
        closed[conv.id] = conv.part
        closed.move_to_end(conv.id)
        if len(closed) > _REMEMBER_CLOSED:
            closed.popitem(last=False)
        return conversation(
            id=conv.id,
            messages=conv.messages,
            source=name,
            record=f"line {conv.first_line}",
            format=fmt,
            customer_name=conv.customer_name,
        )

    for item in reader:
        if isinstance(item, RowProblem):
            yield IngestProblem(
                name, f"line {item.line}", item.field or "", item.message, warning=item.warning
            )
            continue
        rows += 1
        conv = open_.get(item.conversation_id)
        if conv is None:
            part = closed.pop(item.conversation_id, 0) + 1
            if part > 1:
                yield IngestProblem(
                    name,
                    f"line {item.line}",
                    "conversation_id",
                    f"rows of conversation {item.conversation_id} come back after it was closed "
                    f"(no row of it for {idle_rows:,} rows, or over {max_open:,} conversations "
                    f"open); read as part {part} (sort the file by conversation to avoid this)",
                    warning=True,
                )
            conv = _Open(item.conversation_id, item.line, rows, part=part)
            open_[item.conversation_id] = conv
        else:
            open_.move_to_end(item.conversation_id)
            conv.last_row = rows
        if len(conv.messages) >= MAX_MESSAGES:
            yield IngestProblem(
                name,
                f"line {item.line}",
                "",
                f"conversation {conv.id} has over {MAX_MESSAGES:,} messages; "
                "the rest is read as another part",
                warning=True,
            )
            del open_[conv.id]
            yield close(conv)
            conv = _Open(conv.id, item.line, rows, part=closed.pop(conv.id) + 1)
            open_[conv.id] = conv
        conv.messages.append(_message(item))
        if item.customer_name:
            conv.customer_name = item.customer_name
        while open_:
            oldest = next(iter(open_.values()))
            if len(open_) <= max_open and rows - oldest.last_row < idle_rows:
                break
            del open_[oldest.id]
            yield close(oldest)
    for conv in open_.values():
        yield close(conv)


def _message(row: TranscriptRow) -> Message:
    at = None if row.timestamp is None else datetime.fromtimestamp(row.timestamp, UTC)
    return Message(role=Role(row.role), text=row.text, at=at, author=row.author)
