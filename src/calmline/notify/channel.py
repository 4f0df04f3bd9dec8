"""What a channel delivers (a Notification) and what every channel promises (Channel)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from calmline.errors import NotifyError

#: The channels calmline delivers through; the outbox's ``channel`` column holds one of them.
CHANNEL_NAMES = ("webhook", "email", "log")
#: Longest error text kept in the outbox (``last_error``) and shown by ``calmline notify status``.
MAX_ERROR_CHARS = 300


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification on its way to one channel and target.

    ``delivery_id`` is the outbox row's id as text (``X-Calmline-Delivery``): the same on every
    attempt, so a receiver that sees it twice can drop the repeat.
    """

    delivery_id: str
    kind: str
    channel: str
    #: the webhook URL, the comma-separated email addresses, or the logger name
    target: str
    payload: Mapping[str, Any]
    created_at: datetime
    incident_id: int | None = None
    #: attempts made before this one
    attempts: int = field(default=0)

    def body(self) -> bytes:
        """The payload as UTF-8 JSON, the same bytes on every attempt (what is signed)."""
        text = json.dumps(
            self.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
        )
        return text.encode("utf-8")


class Channel(Protocol):
    """A way of telling the line manager: webhook, email or log.

    ``deliver`` returns when the receiver has accepted the notification and raises
    :class:`~calmline.errors.NotifyError` (with a short reason and no secrets) when it has not.
    """

    @property
    def name(self) -> str: ...

    @property
    def default_target(self) -> str:
        """Where the configured channel sends to (used by ``calmline notify test``)."""
        ...

    def describe(self) -> str:
        """Where this channel delivers, for people, without secrets."""
        ...

    def deliver(self, notification: Notification) -> None: ...


def failure(reason: str) -> NotifyError:
    """A delivery failure with its reason cut to what the outbox keeps."""
    reason = " ".join(reason.split())
    if len(reason) > MAX_ERROR_CHARS:
        reason = reason[: MAX_ERROR_CHARS - 1] + "…"
    return NotifyError(reason)
