"""Call analytics output: Amazon Transcribe Call Analytics and Amazon Connect Contact Lens.

One JSON object is one call (a file may hold several, one after another, as JSON Lines). Its
``Transcript`` array holds the utterances: ``Content``, ``BeginOffsetMillis`` and either
``ParticipantRole`` (Transcribe: ``AGENT`` or ``CUSTOMER``) or ``ParticipantId``, resolved
through the ``Participants`` array (Contact Lens). Utterances are read one at a time, so a
long call is held as its utterances' text only. Consecutive utterances of the same speaker stay
separate messages. Other roles (``SYSTEM``, bots, supervisors) are left out and counted.

The output gives offsets from the start of the call, not times. A message's time is the
utterance's ``AbsoluteTime`` when present (Contact Lens chat), else the start time in the file
name (Contact Lens names its files ``<contact id>_analysis_2024-05-02T09:14:00Z.json``) plus the
offset, else unknown. The conversation id is ``CustomerMetadata.ContactId``, else ``JobName``,
else the file name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from calmline.core.types import Role
from calmline.errors import ArchiveError
from calmline.qa.ingest.fields import (
    BadField,
    Tally,
    conversation,
    iso_time,
    kind_of,
    label,
    mapping,
    message_text,
    sequence,
)
from calmline.qa.ingest.jsonstream import (
    BadValue,
    JsonStream,
    JsonSyntaxError,
    RawValue,
    decode,
    syntax_problem,
)
from calmline.qa.types import Conversation, IngestProblem, Message

FORMAT = "transcribe"
_ROLES = {"AGENT": Role.AGENT, "CUSTOMER": Role.CUSTOMER}
_STARTED_IN_NAME = re.compile(r"_(\d{4}-\d\d-\d\dT\d\d[:_-]?\d\d[:_-]?\d\d(?:\.\d{1,6})?Z)")
#: Top-level fields read whole (each is small); every other one is skipped unread.
_SMALL_FIELDS = ("Participants", "CustomerMetadata", "JobName", "Channel")


def read_transcribe(
    path: str | Path, name: str, *, max_chars: int, max_record_bytes: int
) -> Iterator[Conversation | IngestProblem]:
    started = _start_from_name(Path(path).name)
    tally = Tally()
    try:
        with Path(path).open("rb") as raw:
            stream = JsonStream(raw)
            calls = 0
            while (first := stream.peek()) is not None:
                calls += 1
                where = f"line {stream.line()}"
                if first != ord("{"):
                    stream.skip()
                    yield IngestProblem(name, where, "", "expected a call (a JSON object)")
                    continue
                yield from _call(
                    stream, where, name, calls, started, tally, max_chars, max_record_bytes
                )
    except JsonSyntaxError as exc:
        yield syntax_problem(name, exc)
    except OSError as exc:
        raise ArchiveError(f"{name}: cannot read it ({exc.strerror})") from None
    summary = tally.problem(name)
    if summary is not None:
        yield summary


def _call(
    stream: JsonStream,
    where: str,
    name: str,
    index: int,
    started: datetime | None,
    tally: Tally,
    max_chars: int,
    max_record_bytes: int,
) -> Iterator[Conversation | IngestProblem]:
    small: dict[str, Any] = {}
    utterances: list[tuple[str, RawValue]] = []
    bad: list[IngestProblem] = []
    for key in stream.members():
        if key == "Transcript" and stream.peek() == ord("["):
            for n, value in enumerate(stream.items(max_record_bytes)):
                utterances.append((f"Transcript[{n}]", value))
        elif key in _SMALL_FIELDS:
            value = stream.value(max_record_bytes)
            try:
                small[key] = _decoded(value, key, max_record_bytes)
            except BadField as exc:
                bad.append(IngestProblem(name, where, exc.field, exc.message))
        else:
            stream.skip()
    yield from bad
    try:
        meta = mapping(small.get("CustomerMetadata"), "CustomerMetadata")
        call_id = (
            label(meta.get("ContactId"), "CustomerMetadata.ContactId")
            or label(small.get("JobName"), "JobName")
            or (Path(name).stem if index == 1 else f"{Path(name).stem}#{index}")
        )
        roles: dict[str, str] = {}
        for n, p in enumerate(sequence(small.get("Participants"), "Participants")):
            p = mapping(p, f"Participants[{n}]")
            pid = label(p.get("ParticipantId"), f"Participants[{n}].ParticipantId")
            prole = label(p.get("ParticipantRole"), f"Participants[{n}].ParticipantRole")
            if pid and prole:
                roles[pid] = prole.upper()
        channel = label(small.get("Channel"), "Channel")
    except BadField as exc:
        yield IngestProblem(name, where, exc.field, exc.message)
        return
    record = f"{where}, call {call_id}"
    timed: list[tuple[int, int, Message]] = []
    for order, (field, value) in enumerate(utterances):
        try:
            u = mapping(_decoded(value, field, max_record_bytes), field)
            role_name = label(u.get("ParticipantRole"), f"{field}.ParticipantRole")
            pid = label(u.get("ParticipantId"), f"{field}.ParticipantId")
            if role_name is None and pid is not None:
                role_name = roles.get(pid, pid.upper())
            if role_name is None:
                raise BadField(f"{field}.ParticipantRole", "missing (and no ParticipantId)")
            role = _ROLES.get(role_name.upper())
            if role is None:
                tally.add(f"{role_name.lower()[:20]} utterances")
                continue
            text = message_text(u.get("Content"), f"{field}.Content", max_chars)
            if not text:
                tally.add("utterances without text")
                continue
            offset = u.get("BeginOffsetMillis")
            if offset is not None and (
                isinstance(offset, bool) or not isinstance(offset, int | float) or offset < 0
            ):
                raise BadField(
                    f"{field}.BeginOffsetMillis",
                    f"expected milliseconds from the start, got {kind_of(offset)}",
                )
            at = iso_time(u.get("AbsoluteTime"), f"{field}.AbsoluteTime")
            if at is None and started is not None and offset is not None:
                at = started + timedelta(milliseconds=offset)
        except BadField as exc:
            yield IngestProblem(name, record, exc.field, exc.message)
            continue
        timed.append((int(offset or 0), order, Message(role=role, text=text, at=at)))
    timed.sort(key=lambda t: (t[0], t[1]))
    yield conversation(
        id=call_id,
        messages=[m for _, _, m in timed],
        source=name,
        record=record,
        format=FORMAT,
        channel=channel.lower() if channel else "voice",
    )


def _decoded(value: RawValue, field: str, limit: int) -> Any:
    if value.data is None:
        raise BadField(field, f"is {value.size:,} bytes; the limit is {limit:,} (skipped unread)")
    try:
        return decode(value)
    except BadValue as exc:
        raise BadField(field, str(exc)) from None


def _start_from_name(filename: str) -> datetime | None:
    m = _STARTED_IN_NAME.search(filename)
    if m is None:
        return None
    text = m.group(1)
    digits = re.sub(r"\D", "", text[11:])[:6]
    try:
        moment = datetime.strptime(text[:10] + digits, "%Y-%m-%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC)
