"""The in-process hub: every open live socket of a conversation hears about each stored event.

A route that stores an event (REST or WebSocket) calls :meth:`Hub.publish` with the
``guidance`` message; each socket subscribed to that conversation gets it on its own queue and
sends it on. ``publish`` may be called from the event loop or from a worker thread (sync routes
run in one). Only sockets in this process are reached: with several workers, an agent's console
hears about events posted to its own worker (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from calmline.coach.events import Guidance

log = logging.getLogger("calmline.api")

#: Messages kept for a socket that does not read them; past this the oldest are dropped.
QUEUE_SIZE = 256


def guidance_message(event_id: str, guidance: Guidance) -> dict[str, Any]:
    """The frame sent to every socket of a conversation when one of its events is stored."""
    return {"type": "guidance", "event_id": event_id, "guidance": guidance.to_dict()}


@dataclass(eq=False)
class Subscription:
    """One socket's place in the hub: the messages waiting for it, on its event loop."""

    conversation_id: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    dropped: int = 0

    def _put(self, message: dict[str, Any]) -> None:
        # Runs on the socket's loop. A socket that stopped reading loses its oldest messages
        # rather than the process its memory.
        while self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)

    def deliver(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the socket is gone
            self.loop.call_soon_threadsafe(self._put, message)


class Hub:
    """Subscriptions by conversation id."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()

    def subscribe(self, conversation_id: str) -> Subscription:
        """A new subscription on the running event loop (call from the socket's task)."""
        subscription = Subscription(conversation_id, asyncio.get_running_loop())
        with self._lock:
            self._subscriptions.setdefault(conversation_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscriptions.get(subscription.conversation_id)
            if subscribers is None:
                return
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[subscription.conversation_id]
        if subscription.dropped:
            log.warning(
                "a live socket of a conversation fell behind: %d messages dropped",
                subscription.dropped,
            )

    def publish(self, conversation_id: str, message: dict[str, Any]) -> int:
        """Send ``message`` to every open socket of the conversation; how many there are."""
        with self._lock:
            subscribers = tuple(self._subscriptions.get(conversation_id, ()))
        for subscription in subscribers:
            subscription.deliver(message)
        return len(subscribers)

    def sockets(self, conversation_id: str | None = None) -> int:
        """Open subscriptions, of one conversation or of all."""
        with self._lock:
            if conversation_id is not None:
                return len(self._subscriptions.get(conversation_id, ()))
            return sum(len(s) for s in self._subscriptions.values())
