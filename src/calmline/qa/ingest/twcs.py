"""Twitter-style support threads (the TWCS CSV): one tweet per row, threads linked by ids.

Columns read: ``tweet_id``, ``author_id``, ``inbound`` (True: the customer wrote it; False: the
brand did), ``created_at`` (``Wed Oct 04 13:59:33 +0000 2017`` or ISO 8601), ``text``,
``response_tweet_id`` (ids of the replies, comma-separated) and ``in_response_to_tweet_id``.

A thread is every tweet linked to another by a reply id, read in any row order (replies may
come before what they answer). A thread is complete, and handed on at once, when every tweet it
refers to has been read; threads that refer to tweets missing from the file are handed on at
the end of the file. Memory is therefore bounded by the open threads of one file (a file
sorted by thread holds one or two, a random sample most of its tweets), and at most
``MAX_OPEN_TWEETS`` tweets wait: beyond that the thread idle longest is handed on as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calmline.core.types import Role
from calmline.errors import ArchiveError
from calmline.qa.ingest.fields import MAX_LABEL_CHARS, BadField, conversation, shown
from calmline.qa.types import Conversation, IngestProblem, Message

FORMAT = "twcs"
REQUIRED = ("tweet_id", "author_id", "inbound", "created_at", "text")
LINKS = ("response_tweet_id", "in_response_to_tweet_id")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
# Twitter's created_at: "Wed Oct 04 13:59:33 +0000 2017", read by position (strptime is slow).
_TWITTER_SHAPE = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d [+-]\d{4} \d{4}")
_MONTHS = {
    m: n
    for n, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
#: At most this many tweets wait in open threads (about 1.5 KB each); beyond, the thread idle
#: longest is handed on as it is.
MAX_OPEN_TWEETS = 100_000
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class _Tweet:
    id: str
    line: int
    at: datetime
    message: Message


@dataclass(eq=False, slots=True)
class _Thread:
    seq: int
    tweets: list[_Tweet] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)


def read_twcs(
    path: str | Path,
    name: str,
    *,
    max_chars: int,
    max_line_chars: int,
    max_open_tweets: int = MAX_OPEN_TWEETS,
) -> Iterator[Conversation | IngestProblem]:
    """The threads of a TWCS file as conversations, with a problem per bad row."""
    try:
        with Path(path).open("rb") as raw:
            yield from _threads(raw, name, max_chars, max_line_chars, max_open_tweets)
    except OSError as exc:
        raise ArchiveError(f"{name}: cannot read it ({exc.strerror})") from None


def _threads(
    raw: io.BufferedReader, name: str, max_chars: int, max_line_chars: int, max_open_tweets: int
) -> Iterator[Conversation | IngestProblem]:
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
    previous_limit = csv.field_size_limit(max_line_chars)
    try:
        reader = csv.reader(text, strict=True)
        try:
            header = [c.strip().lower() for c in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise ArchiveError(f"{name}:1: cannot read the CSV header ({exc})") from None
        missing = [c for c in (*REQUIRED, "in_response_to_tweet_id") if c not in header]
        if missing:
            raise ArchiveError(
                f"{name}:1: not a TWCS file: the CSV header lacks {', '.join(missing)}"
            )
        column = {c: header.index(c) for c in (*REQUIRED, *LINKS) if c in header}
        owner: dict[str, _Thread] = {}  # tweet id (read or referred to) -> its open thread
        active: OrderedDict[_Thread, None] = OrderedDict()  # open threads, idle longest first
        open_tweets = 0
        early = 0
        seq = 0
        end = reader.line_num
        while True:
            start = end + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                end = reader.line_num
                yield IngestProblem(name, f"line {start}", "", f"not valid CSV ({exc})")
                continue
            end = reader.line_num
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != len(header):
                yield IngestProblem(
                    name,
                    f"line {start}",
                    "",
                    f"has {len(values)} fields but the header has {len(header)}",
                )
                continue
            try:
                tweet, links = _tweet(values, column, start, max_chars)
            except BadField as exc:
                yield IngestProblem(name, f"line {start}", exc.field, exc.message)
                continue
            if tweet.id in owner and tweet.id in owner[tweet.id].ids:
                yield IngestProblem(
                    name, f"line {start}", "tweet_id", f"tweet {tweet.id} was read before"
                )
                continue
            thread = _join(owner, tweet.id, links, seq, active)
            seq += 1
            active[thread] = None
            active.move_to_end(thread)
            open_tweets += 1
            thread.tweets.append(tweet)
            thread.ids.add(tweet.id)
            thread.missing.discard(tweet.id)
            owner[tweet.id] = thread
            for link in links:
                if link not in thread.ids:
                    thread.missing.add(link)
                    owner[link] = thread
            if not thread.missing:
                open_tweets -= _forget(thread, owner, active)
                yield _conversation(thread, name)
            while open_tweets > max_open_tweets:
                # Bounded memory: the thread idle longest is handed on before it is complete.
                oldest = next(iter(active))
                open_tweets -= _forget(oldest, owner, active)
                early += 1
                yield _conversation(oldest, name)
        for thread in sorted(active, key=lambda t: t.seq):
            yield _conversation(thread, name)
        if early:
            yield IngestProblem(
                name,
                "whole file",
                "",
                f"{early:,} threads were handed on before every tweet they refer to was read "
                f"(over {max_open_tweets:,} tweets were waiting); a later reply to one of them "
                "starts a thread of its own",
                warning=True,
            )
    finally:
        csv.field_size_limit(previous_limit)


def _forget(thread: _Thread, owner: dict[str, _Thread], active: OrderedDict[_Thread, None]) -> int:
    """Close a thread: drop it from the open ones; the number of its tweets."""
    for tid in thread.ids | thread.missing:
        if owner.get(tid) is thread:
            del owner[tid]
    del active[thread]
    return len(thread.tweets)


def _join(
    owner: dict[str, _Thread],
    tweet_id: str,
    links: list[str],
    seq: int,
    active: OrderedDict[_Thread, None],
) -> _Thread:
    """The thread a tweet belongs to: the threads that hold it or its links, merged."""
    found: dict[int, _Thread] = {}
    for tid in (tweet_id, *links):
        thread = owner.get(tid)
        if thread is not None:
            found[id(thread)] = thread
    if not found:
        return _Thread(seq)
    threads = sorted(found.values(), key=lambda t: len(t.ids) + len(t.missing), reverse=True)
    into = threads[0]
    for other in threads[1:]:
        into.tweets.extend(other.tweets)
        into.ids |= other.ids
        into.missing |= other.missing
        into.seq = min(into.seq, other.seq)
        for tid in other.ids | other.missing:
            owner[tid] = into
        del active[other]
    into.missing -= into.ids
    return into


def _tweet(
    values: list[str], column: dict[str, int], line: int, max_chars: int
) -> tuple[_Tweet, list[str]]:
    def get(name: str) -> str:
        value = values[column[name]] if name in column else ""
        if _SURROGATE.search(value):  # bytes that were not UTF-8, kept as escapes
            raise BadField(name, "not valid UTF-8")
        return value.strip()

    tweet_id = _id(get("tweet_id"), "tweet_id")
    if tweet_id is None:
        raise BadField("tweet_id", "is empty")
    author = _id(get("author_id"), "author_id")
    inbound = get("inbound").lower()
    if inbound in _TRUE:
        role = Role.CUSTOMER
    elif inbound in _FALSE:
        role = Role.AGENT
    else:
        raise BadField("inbound", f"expected True or False, got {shown(inbound)}")
    at = _time(get("created_at"))
    text = get("text")
    if not text:
        raise BadField("text", "is empty")
    if len(text) > max_chars:
        raise BadField(
            "text",
            f"is {len(text):,} characters long; the limit is {max_chars:,} "
            "(limits.max_message_chars in the playbook)",
        )
    links: list[str] = []
    for name in LINKS:
        for part in get(name).split(","):
            link = _id(part.strip(), name)
            if link is not None and link != tweet_id:
                links.append(link)
    return _Tweet(tweet_id, line, at, Message(role=role, text=text, at=at, author=author)), links


def _id(value: str, field: str) -> str | None:
    # Some copies of TWCS carry float ids ("192625.0").
    value = value.removesuffix(".0")
    if len(value) > MAX_LABEL_CHARS:
        raise BadField(field, f"is longer than {MAX_LABEL_CHARS} characters")
    return value or None


def _time(value: str) -> datetime:
    if not value:
        raise BadField("created_at", "is empty")
    if len(value) == 30 and value[4:7] in _MONTHS and _TWITTER_SHAPE.match(value):
        try:
            moment = datetime(
                int(value[26:30]),
                _MONTHS[value[4:7]],
                int(value[8:10]),
                int(value[11:13]),
                int(value[14:16]),
                int(value[17:19]),
                tzinfo=UTC,
            )
        except ValueError:
            raise BadField("created_at", f"not a real date: {shown(value)}") from None
        shift = timedelta(hours=int(value[21:23]), minutes=int(value[23:25]))
        return moment - shift if value[20] == "+" else moment + shift
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadField(
            "created_at",
            f"expected a time like 'Wed Oct 04 13:59:33 +0000 2017' or ISO 8601, "
            f"got {shown(value)}",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _conversation(thread: _Thread, name: str) -> Conversation | IngestProblem:
    tweets = sorted(thread.tweets, key=lambda t: (t.at, _order(t.id)))
    first = tweets[0]
    messages = [t.message for t in tweets]
    brand = next((m.author for m in messages if m.role is Role.AGENT and m.author), None)
    return conversation(
        id=first.id,
        messages=messages,
        source=name,
        record=f"line {min(t.line for t in tweets)}",
        format=FORMAT,
        team=brand,
        channel="social",
    )


def _order(tweet_id: str) -> tuple[int, str]:
    return (int(tweet_id), "") if tweet_id.isdigit() else (0, tweet_id)
