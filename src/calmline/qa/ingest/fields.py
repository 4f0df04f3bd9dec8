"""Reading the fields every export shares: labels, times, message bodies (HTML or plain), and
putting a conversation together from its messages."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from calmline.core.types import Role
from calmline.qa.types import Conversation, IngestProblem, Message
from calmline.transcript import json_kind

#: The longest id, name or label read from an export (they are labels, not messages).
MAX_LABEL_CHARS = 200
#: The largest record (a ticket, a conversation, a call, a line) read; larger ones are skipped.
MAX_RECORD_BYTES = 5_000_000
#: Epoch values at or above this are milliseconds (year 5138 in seconds).
_MILLISECONDS_FROM = 1e11


class BadField(Exception):
    """A field of a record that cannot be used: the record (or message) is skipped."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


#: how a JSON value is named in an error message (shared with calmline's transcript reader)
kind_of = json_kind


def label(value: Any, field: str) -> str | None:
    """An id or a name as text (numbers become text); None when absent or empty."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadField(field, f"expected text or a whole number, got {kind_of(value)}")
    value = value.strip()
    if len(value) > MAX_LABEL_CHARS:
        raise BadField(field, f"is longer than {MAX_LABEL_CHARS} characters")
    return value or None


def mapping(value: Any, field: str) -> Mapping[str, Any]:
    """An object field; an absent one is empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadField(field, f"expected an object, got {kind_of(value)}")
    return value


def sequence(value: Any, field: str) -> list[Any]:
    """An array field; an absent one is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadField(field, f"expected a list, got {kind_of(value)}")
    return value


def epoch_time(value: Any, field: str, *, milliseconds: bool = False) -> datetime | None:
    """A UTC time from epoch seconds (or milliseconds) given as a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadField(field, f"expected epoch seconds, got {kind_of(value)}")
    seconds = value / 1000 if milliseconds else float(value)
    if not math.isfinite(seconds) or seconds < 0 or seconds >= _MILLISECONDS_FROM:
        raise BadField(field, f"not a usable epoch time: {value!r}")
    return datetime.fromtimestamp(seconds, UTC)


def iso_time(value: Any, field: str) -> datetime | None:
    """A UTC time from ISO 8601 text (no zone means UTC) or epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_time(value, field)
    if not isinstance(value, str):
        raise BadField(field, f"expected an ISO 8601 time, got {kind_of(value)}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadField(field, f"not an ISO 8601 time: {shown(value)}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SHOWABLE = re.compile(r"[\w :+./-]{1,40}")
_LONG_NUMBER = re.compile(r"\d{7}")


def shown(value: Any) -> str:
    """A bad value as a problem may show it: short words, times and numbers only, so a message,
    an email address or a phone number that landed in the wrong field is never repeated."""
    text = str(value)
    if _SHOWABLE.fullmatch(text) and not _LONG_NUMBER.search(text.replace(" ", "")):
        return repr(text)
    return f"a value of {len(text)} characters (not shown)"


# ----- bodies -------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
)
#: Elements whose content is never text a person wrote to the other.
_HIDDEN_TAGS = frozenset({"script", "style", "head", "title", "template"})


class _TextOfHtml(HTMLParser):
    """The text of an HTML body: tags dropped, entities decoded, script and style left out.

    Parsing only collects text; nothing in the body is ever run or fetched."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body, one line per paragraph."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = ("".join(parser.parts)).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


def message_text(value: Any, field: str, max_chars: int, *, html: bool = False) -> str:
    """The text of a message body; raises BadField when it is not text or too long.

    ``html`` bodies lose their tags; plain bodies are kept exactly as written (markup in them
    is just text). An empty result is returned as "" for the caller to count."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadField(field, f"expected text, got {kind_of(value)}")
    text = html_to_text(value) if html else value.strip()
    if len(text) > max_chars:
        raise BadField(
            field,
            f"is {len(text):,} characters long; the limit is {max_chars:,} "
            "(limits.max_message_chars in the playbook)",
        )
    return text


# ----- conversations ------------------------------------------------------------------------------


def main_author(messages: Iterable[Message], role: Role) -> str | None:
    """The author of most messages of ``role`` (the first of them on a tie)."""
    counts = Counter(m.author for m in messages if m.role is role and m.author)
    if not counts:
        return None
    return counts.most_common(1)[0][0]


def conversation(
    *,
    id: str,
    messages: list[Message],
    source: str,
    record: str,
    format: str,
    agent: str | None = None,
    team: str | None = None,
    customer_name: str | None = None,
    channel: str | None = None,
) -> Conversation | IngestProblem:
    """A conversation, or a problem when it has no message to score."""
    if not messages:
        return IngestProblem(source, record, "", f"conversation {id} has no message to score")
    return Conversation(
        id=id,
        messages=tuple(messages),
        source=source,
        record=record,
        format=format,
        agent=agent or main_author(messages, Role.AGENT),
        team=team,
        customer_name=customer_name,
        channel=channel,
    )


class Tally:
    """Counts of things left out on purpose (internal notes, assignments, empty bodies), reported
    once per file as one warning so a large archive does not flood the caller."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def problem(self, source: str) -> IngestProblem | None:
        if not self.counts:
            return None
        parts = ", ".join(f"{n:,} {what}" for what, n in sorted(self.counts.items()))
        return IngestProblem(
            source, "whole file", "", f"left out (not messages to score): {parts}", warning=True
        )
