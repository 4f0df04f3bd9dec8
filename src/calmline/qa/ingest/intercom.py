"""Intercom conversations: the conversation's ``source`` is its first message and each
``conversation_parts`` entry of type ``comment`` is another.

Shapes read: one conversation object, a JSON array of them, an object with a
``conversations`` array (several may follow one another), or JSON Lines with one conversation
per line. Author types ``user``, ``lead`` and ``contact`` are the customer; ``admin``, ``bot``
and ``team`` are agents. Bodies are HTML: tags are dropped and entities decoded. Parts that are
not comments (notes, assignments, open, close, snooze ...) and comments without text are left
out and counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from calmline.core.types import Role
from calmline.qa.ingest.fields import (
    BadField,
    Tally,
    conversation,
    epoch_time,
    label,
    mapping,
    message_text,
    sequence,
    shown,
)
from calmline.qa.ingest.jsonstream import read_objects
from calmline.qa.types import Conversation, IngestProblem, Message

FORMAT = "intercom"
_WRAPPER_KEYS = frozenset({"conversations"})
_ROLES = {
    "user": Role.CUSTOMER,
    "lead": Role.CUSTOMER,
    "contact": Role.CUSTOMER,
    "admin": Role.AGENT,
    "bot": Role.AGENT,
    "team": Role.AGENT,
}
_CHANNELS = {"conversation": "chat", "email": "email", "facebook": "social", "twitter": "social"}


def read_intercom(
    path: str | Path, name: str, *, max_chars: int, max_record_bytes: int
) -> Iterator[Conversation | IngestProblem]:
    tally = Tally()
    for item in read_objects(
        path,
        name,
        wrapper_keys=_WRAPPER_KEYS,
        wanted=("conversations",),
        bare=True,
        limit=max_record_bytes,
        what="conversation",
    ):
        if isinstance(item, IngestProblem):
            yield item
            continue
        where, data = item
        yield from _conversation(data, where, name, tally, max_chars)
    summary = tally.problem(name)
    if summary is not None:
        yield summary


def _conversation(
    data: Mapping[str, Any], where: str, name: str, tally: Tally, max_chars: int
) -> Iterator[Conversation | IngestProblem]:
    try:
        conv_id = label(data.get("id"), "id")
        if conv_id is None:
            raise BadField("id", "missing (every conversation needs its id)")
        source = mapping(data.get("source"), "source")
        parts_list = mapping(data.get("conversation_parts"), "conversation_parts")
        parts = sequence(parts_list.get("conversation_parts"), "conversation_parts")
        team = label(data.get("team_assignee_id"), "team_assignee_id")
        assignee = label(data.get("admin_assignee_id"), "admin_assignee_id")
        source_type = source.get("type")
        channel = _CHANNELS.get(source_type) if isinstance(source_type, str) else None
        started = epoch_time(data.get("created_at"), "created_at")
    except BadField as exc:
        yield IngestProblem(name, where, exc.field, exc.message)
        return
    record = f"{where}, conversation {conv_id}"
    messages: list[Message] = []
    customer_name: str | None = None
    entries: list[tuple[str, Any]] = [("source", source)] if source else []
    entries += [(f"conversation_parts[{n}]", part) for n, part in enumerate(parts)]
    for field, entry in entries:
        try:
            entry = mapping(entry, field)
            if field != "source" and entry.get("part_type") != "comment":
                kind = entry.get("part_type")
                tally.add(f"{kind if isinstance(kind, str) else 'untyped'} parts")
                continue
            text = message_text(entry.get("body"), f"{field}.body", max_chars, html=True)
            if not text:
                tally.add("comments without text")
                continue
            author = mapping(entry.get("author"), f"{field}.author")
            kind = author.get("type")
            role = _ROLES.get(kind) if isinstance(kind, str) else None
            if role is None:
                raise BadField(
                    f"{field}.author.type",
                    f"expected user, lead, contact, admin, bot or team, got {shown(kind)}",
                )
            at = epoch_time(entry.get("created_at"), f"{field}.created_at")
            if at is None and field == "source":
                at = started
            author_name = label(author.get("name"), f"{field}.author.name")
            author_id = label(author.get("id"), f"{field}.author.id")
        except BadField as exc:
            yield IngestProblem(name, record, exc.field, exc.message)
            continue
        if role is Role.CUSTOMER and author_name and customer_name is None:
            customer_name = author_name
        messages.append(Message(role=role, text=text, at=at, author=author_name or author_id))
    agent_names = [m.author for m in messages if m.role is Role.AGENT and m.author]
    yield conversation(
        id=conv_id,
        messages=messages,
        source=name,
        record=record,
        format=FORMAT,
        agent=None if agent_names else assignee,
        team=team,
        customer_name=customer_name,
        channel=channel,
    )
