"""Telling an archive's format from its extension and the shape of its first record."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from pathlib import Path

from calmline.errors import ArchiveError
from calmline.qa.ingest.jsonstream import JsonSyntaxError, first_keys

FORMATS: tuple[str, ...] = (
    "calmline-jsonl",
    "calmline-csv",
    "zendesk",
    "intercom",
    "transcribe",
    "twcs",
)

EXPECTED = (
    "expected calmline JSONL or CSV (conversation_id, role, text), a Zendesk ticket export "
    "(tickets with comments), Intercom conversations (conversation_parts), Amazon Transcribe "
    "or Contact Lens call analytics (Transcript), or a TWCS CSV (tweet_id, inbound, "
    "in_response_to_tweet_id)"
)
_SNIFF_BYTES = 65_536
_SNIFF_LINES = 20
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}")
_CALMLINE_FIELDS = frozenset({"conversation_id", "role", "text"})
_TWCS_FIELDS = frozenset({"tweet_id", "inbound", "text", "in_response_to_tweet_id"})
#: Keys that settle the format on their own as soon as they are seen.
_DECISIVE = frozenset(
    {"tickets", "comments", "requester_id", "conversations", "conversation_parts", "Transcript"}
)


def detect_format(path: str | Path) -> str:
    """The format of an archive file (one of :data:`FORMATS`); :class:`ArchiveError` naming
    the file when it cannot be read or matches none of them."""
    name = str(path)
    head = _head(Path(path), name)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = Path(path).suffix.lower()
    if not stripped:
        raise ArchiveError(f"{name}: not a recognised archive: the file is empty; {EXPECTED}")
    if stripped[:1] in (b"{", b"["):
        return _json_format(Path(path), name)
    if suffix in (".json", ".jsonl", ".ndjson"):
        raise ArchiveError(
            f"{name}: not a recognised archive: a {suffix} file that does not start with "
            f"a JSON object or array; {EXPECTED}"
        )
    return _csv_format(head, name)


def _head(path: Path, name: str) -> bytes:
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise ArchiveError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ArchiveError(f"{name}: is a folder, not an archive file") from None
    except OSError as exc:
        raise ArchiveError(f"{name}: cannot read it ({exc.strerror})") from None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ArchiveError(f"{name}: is UTF-16 text; save it as UTF-8")
    if b"\x00" in head:
        raise ArchiveError(f"{name}: not a recognised archive: it looks like a binary file")
    return head


def _csv_format(head: bytes, name: str) -> str:
    first_line = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    try:
        header = next(csv.reader(io.StringIO(first_line)), [])
    except csv.Error:
        header = []
    columns = {c.strip().lower() for c in header}
    if columns >= _TWCS_FIELDS:
        return "twcs"
    if columns >= _CALMLINE_FIELDS:
        return "calmline-csv"
    raise ArchiveError(f"{name}: not a recognised archive: {EXPECTED}; found {_names(columns)}")


def _json_format(path: Path, name: str) -> str:
    try:
        with path.open("rb") as raw:
            kind, keys = first_keys(raw, enough=_DECISIVE)
    except JsonSyntaxError as exc:
        # JSON Lines with a broken first line: the first good line of the head decides.
        good_line = _first_good_line(path)
        if good_line is None:
            raise ArchiveError(
                f"{name}:{exc.line}: not a recognised archive: not valid JSON ({exc.message})"
            ) from None
        kind, keys = "object", good_line
    except OSError as exc:
        raise ArchiveError(f"{name}: cannot read it ({exc.strerror})") from None
    if keys >= _CALMLINE_FIELDS:
        return "calmline-jsonl"
    if kind == "object" and "tickets" in keys:
        return "zendesk"
    if "comments" in keys or "requester_id" in keys:
        return "zendesk"
    if "conversation_parts" in keys or (kind == "object" and "conversations" in keys):
        return "intercom"
    if "source" in keys and "id" in keys:  # a conversation as the list API gives it, no parts
        return "intercom"
    if "Transcript" in keys:
        return "transcribe"
    raise ArchiveError(
        f"{name}: not a recognised archive: {EXPECTED}; the first record has {_names(keys)}"
    )


def _first_good_line(path: Path) -> set[str] | None:
    """The keys of the first line (of the first few) that is a whole JSON object."""
    with path.open("rb") as raw:
        for _ in range(_SNIFF_LINES):
            line = raw.readline(_SNIFF_BYTES)
            if not line:
                return None
            try:
                data = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(data, dict):
                return set(data)
    return None


def _names(found: set[str]) -> str:
    """The field names found, for the error: only ones shaped like names, so a line of
    someone's message is never echoed."""
    names = sorted(n for n in found if _NAME.fullmatch(n))
    if not names:
        return "no field names"
    more = f" and {len(names) - 8} more" if len(names) > 8 else ""
    return ", ".join(names[:8]) + more
