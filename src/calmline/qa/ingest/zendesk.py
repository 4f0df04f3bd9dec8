"""Zendesk ticket exports: each ticket with its comments is a conversation.

Two shapes are read: a JSON object with a ``tickets`` array (and, optionally, a ``users`` array,
as the incremental export API returns with ``include=users``), possibly one page after another;
and JSON Lines with one ticket per line (the full JSON export). Each ticket carries its
``comments``. A comment's role comes from, in order: the sideloaded user of its ``author_id``
(``end-user`` is the customer; ``agent`` and ``admin`` are agents), the comment's own ``author``
object (its ``role``), and otherwise the ticket: the requester is the customer and anyone else
an agent. Private comments (``public: false``) are internal notes, not messages to the
customer: they are left out and counted.

Users are read in a first pass over the file (they may come after the tickets), so memory holds
the users (id, role, name) plus one ticket.
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
    iso_time,
    label,
    mapping,
    message_text,
    sequence,
)
from calmline.qa.ingest.jsonstream import read_objects
from calmline.qa.types import Conversation, IngestProblem, Message

FORMAT = "zendesk"
_WRAPPER_KEYS = frozenset({"tickets", "users", "next_page", "end_of_stream", "after_cursor"})
_ROLES = {"end-user": Role.CUSTOMER, "end_user": Role.CUSTOMER, "agent": Role.AGENT}
_ROLES["admin"] = Role.AGENT


def read_zendesk(
    path: str | Path, name: str, *, max_chars: int, max_record_bytes: int
) -> Iterator[Conversation | IngestProblem]:
    users: dict[str, tuple[Role | None, str | None]] = {}
    for item in read_objects(
        path,
        name,
        wrapper_keys=_WRAPPER_KEYS,
        wanted=("users",),
        bare=False,
        limit=max_record_bytes,
        what="user",
    ):
        if isinstance(item, IngestProblem):
            continue  # the second pass reports problems with the file once
        where, data = item
        try:
            uid = label(data.get("id"), "id")
            role = data.get("role")
            if uid is not None:
                users[uid] = (
                    _ROLES.get(role.lower()) if isinstance(role, str) else None,
                    label(data.get("name"), "name"),
                )
        except BadField:
            continue
    tally = Tally()
    for item in read_objects(
        path,
        name,
        wrapper_keys=_WRAPPER_KEYS,
        wanted=("tickets",),
        bare=True,
        limit=max_record_bytes,
        what="ticket",
    ):
        if isinstance(item, IngestProblem):
            yield item
            continue
        where, data = item
        yield from _ticket(data, where, name, users, tally, max_chars)
    summary = tally.problem(name)
    if summary is not None:
        yield summary


def _ticket(
    data: Mapping[str, Any],
    where: str,
    name: str,
    users: Mapping[str, tuple[Role | None, str | None]],
    tally: Tally,
    max_chars: int,
) -> Iterator[Conversation | IngestProblem]:
    try:
        ticket_id = label(data.get("id"), "id")
        if ticket_id is None:
            raise BadField("id", "missing (every ticket needs its id)")
        requester = label(data.get("requester_id"), "requester_id")
        assignee = label(data.get("assignee_id"), "assignee_id")
        group = label(data.get("group_id"), "group_id")
        channel = label(mapping(data.get("via"), "via").get("channel"), "via.channel")
        comments = sequence(data.get("comments"), "comments")
    except BadField as exc:
        yield IngestProblem(name, where, exc.field, exc.message)
        return
    record = f"{where}, ticket {ticket_id}"
    messages: list[Message] = []
    for n, comment in enumerate(comments):
        field = f"comments[{n}]"
        try:
            message = _comment(comment, field, requester, users, max_chars)
        except BadField as exc:
            yield IngestProblem(name, record, exc.field, exc.message)
            continue
        if isinstance(message, Message):
            messages.append(message)
        elif message == "private":
            tally.add("internal notes")
        else:
            tally.add("comments without text")
    customer_name = users.get(requester, (None, None))[1] if requester else None
    agent = None
    if assignee is not None:
        agent = users.get(assignee, (None, None))[1] or assignee
    yield conversation(
        id=ticket_id,
        messages=messages,
        source=name,
        record=record,
        format=FORMAT,
        agent=agent,
        team=group,
        customer_name=customer_name,
        channel=channel,
    )


def _comment(
    comment: Any,
    field: str,
    requester: str | None,
    users: Mapping[str, tuple[Role | None, str | None]],
    max_chars: int,
) -> Message | str:
    comment = mapping(comment, field)
    public = comment.get("public", True)
    if not isinstance(public, bool):
        raise BadField(f"{field}.public", "expected true or false")
    if not public:
        return "private"
    if comment.get("plain_body") is not None:
        text = message_text(comment["plain_body"], f"{field}.plain_body", max_chars)
    elif comment.get("body") is not None:
        text = message_text(comment["body"], f"{field}.body", max_chars)
    else:
        text = message_text(comment.get("html_body"), f"{field}.html_body", max_chars, html=True)
    if not text:
        return "empty"
    author_object = mapping(comment.get("author"), f"{field}.author")
    author_id = label(comment.get("author_id"), f"{field}.author_id") or label(
        author_object.get("id"), f"{field}.author.id"
    )
    role, author_name = users.get(author_id, (None, None)) if author_id else (None, None)
    if role is None:
        object_role = author_object.get("role")
        if isinstance(object_role, str):
            role = _ROLES.get(object_role.lower())
    if role is None:
        if author_id is None:
            raise BadField(f"{field}.author_id", "missing: cannot tell who wrote the comment")
        role = Role.CUSTOMER if author_id == requester else Role.AGENT
    author_name = author_name or label(author_object.get("name"), f"{field}.author.name")
    return Message(
        role=role,
        text=text,
        at=iso_time(comment.get("created_at"), f"{field}.created_at"),
        author=author_name or author_id,
    )
