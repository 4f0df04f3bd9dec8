"""``WS /v1/conversations/{conversation_id}/live``: live guidance for the agent's console.

The agent's drafts come in as they type; after ``serve.ws_debounce_ms`` without a newer one the
newest is checked against the conversation's stored turns and the result goes back. Events sent
on the socket are stored exactly as ``POST .../events`` stores them, and every open socket of the
conversation hears each stored event's guidance through the hub (:mod:`calmline.api.hub`).

Checks and writes run in worker threads, so one slow database or long draft never holds up the
other sockets. Frames are never logged; the close line in the access log has counts only.
The protocol, with an example session, is in docs/operations.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import Field, ValidationError
from starlette.concurrency import run_in_threadpool

from calmline.api.access import visible_conversation
from calmline.api.deps import KEY_COOKIE, KeyCache, RateLimiter, same_origin
from calmline.api.hub import Hub, Subscription, guidance_message
from calmline.api.ingest import announce, store_event
from calmline.api.metrics import Metrics
from calmline.api.schemas.analysis import MAX_CONTEXT_TURNS
from calmline.api.schemas.common import Request
from calmline.api.schemas.events import EventCreate
from calmline.api.services import Services
from calmline.coach.events import EventKind
from calmline.core.analyzer import Engine
from calmline.core.rule import ReplyContext
from calmline.core.types import Role as TurnRole
from calmline.core.types import Turn
from calmline.errors import CalmlineError
from calmline.store.keys import ApiKey, Role
from calmline.store.records import StoredConversation, StoredEvent
from calmline.store.service import Ingested

router = APIRouter(prefix="/v1", tags=["live"])
access_log = logging.getLogger("calmline.access")
log = logging.getLogger("calmline.api")

ROUTE = "/v1/conversations/{conversation_id}/live"
#: Close codes (RFC 6455): a refused key, role, origin or conversation; a frame too large;
#: over the key's rate limit.
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013
#: Roles that may follow a conversation live (an agent their own, an admin any).
LIVE_ROLES = frozenset({Role.AGENT, Role.ADMIN})


# ----- frames -----------------------------------------------------------------------------------


class DraftFrame(Request):
    type: Literal["draft"]
    text: str
    seq: int = Field(ge=0, description="the client's counter; the check answer carries it back")


class EventFrame(Request):
    type: Literal["event"]
    event: EventCreate


class PingFrame(Request):
    type: Literal["ping"]


Frame = DraftFrame | EventFrame | PingFrame
FRAMES: dict[str, type[Frame]] = {"draft": DraftFrame, "event": EventFrame, "ping": PingFrame}
FRAME_TYPE = re.compile(r"[a-z_]{1,30}")


class FrameError(Exception):
    """A frame the server cannot use: answered with an error frame, the socket stays open."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def read_frame(text: str) -> Frame:
    """The frame in ``text``, or a FrameError naming what is wrong (never quoting the text)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise FrameError("frame_unreadable", "a frame must be one JSON object") from None
    if not isinstance(data, dict):
        raise FrameError("frame_unreadable", "a frame must be one JSON object")
    kind = data.get("type")
    model = FRAMES.get(kind) if isinstance(kind, str) else None
    if model is None:
        # The type is quoted back only when it looks like one, never a stray piece of text.
        given = repr(kind) if isinstance(kind, str) and FRAME_TYPE.fullmatch(kind) else "missing"
        raise FrameError("input_invalid", f"type: {given}; expected one of {', '.join(FRAMES)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_location(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        detail = "; ".join(problems[:5])
        if len(problems) > 5:
            detail += f"; and {len(problems) - 5} more"
        raise FrameError("input_invalid", detail) from None


# ----- who may connect --------------------------------------------------------------------------


#: The close reason for a conversation that does not exist or is not the caller's: the same
#: for both, and without the id (a close reason holds at most 123 bytes).
NOT_VISIBLE = "no such conversation, or not one this key may see"


def close_reason(text: str) -> str:
    """``text`` cut to the 123 bytes a close frame's reason may hold."""
    data = text.encode()
    if len(data) <= 123:
        return text
    return data[:120].decode(errors="ignore") + "..."


class KeyRevoked(Exception):
    """The socket's key no longer verifies (revoked while the socket was open)."""


class Refused(Exception):
    """The socket is closed (``code``, ``reason``) instead of served."""

    def __init__(self, reason: str, code: int = CLOSE_POLICY) -> None:
        super().__init__(reason)
        self.reason = close_reason(reason)
        self.code = code


def presented_key(websocket: WebSocket) -> tuple[str | None, bool]:
    """The token and whether it came from the web UI's cookie (headers win over the cookie)."""
    authorization = websocket.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), False
    header = websocket.headers.get("x-api-key", "").strip()
    if header:
        return header, False
    cookie = websocket.cookies.get(KEY_COOKIE)
    if cookie:
        return cookie, True
    return None, False


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A conversation as stored and the context its drafts are checked in."""

    conversation: StoredConversation
    events: tuple[StoredEvent, ...]

    def latest_guidance(self) -> dict[str, Any] | None:
        return self.events[-1].guidance.to_dict() if self.events else None


def read_snapshot(services: Services, conversation_id: str) -> Snapshot:
    conversations = services.conversations
    return Snapshot(
        conversations.get_conversation(conversation_id), conversations.events(conversation_id)
    )


def context_of(engine: Engine, snapshot: Snapshot) -> ReplyContext:
    """The messages sent so far (not drafts), the newest ``MAX_CONTEXT_TURNS``, as the check's
    context, the same context ``POST /v1/check`` builds from the turns a client sends."""
    turns = []
    for stored in snapshot.events:
        event = stored.event
        if event.kind is EventKind.CUSTOMER_MESSAGE:
            role = TurnRole.CUSTOMER
        elif event.kind is EventKind.AGENT_MESSAGE:
            role = TurnRole.AGENT
        else:
            continue
        turns.append(Turn(role, event.text, timestamp=event.at.timestamp(), author=event.author))
    conversation = snapshot.conversation
    return engine.context(
        turns[-MAX_CONTEXT_TURNS:],
        customer_name=conversation.customer_name,
        agent_name=conversation.agent,
    )


def admit(services: Services, keys: KeyCache, limiter: RateLimiter, token: str) -> ApiKey:
    """The caller's key when it may follow conversations live, else Refused (runs in a thread)."""
    key = keys.verify(token, services)
    if key is None:
        raise Refused("this API key is unknown or revoked")
    if key.role not in LIVE_ROLES:
        raise Refused(
            f"the {key.role.value} role cannot follow a conversation live; "
            "it needs one of: admin, agent"
        )
    wait = limiter.retry_after(key.prefix)
    if wait is not None:
        raise Refused(f"this key is over its rate limit; try again in {wait} s", CLOSE_TRY_LATER)
    return key


def visible_snapshot(services: Services, key: ApiKey, conversation_id: str) -> Snapshot:
    """The conversation when ``key`` may see it; else Refused, the same for one that does not
    exist, so ids cannot be probed (runs in a thread)."""
    try:
        snapshot = read_snapshot(services, conversation_id)
        visible_conversation(key, snapshot.conversation)
    except CalmlineError as exc:
        if exc.code not in ("conversation_unknown", "input_invalid"):
            raise
        raise Refused(NOT_VISIBLE) from None
    return snapshot


# ----- one live session -------------------------------------------------------------------------


class LiveSession:
    """One accepted socket: reads frames, checks the newest draft, forwards the hub's messages."""

    def __init__(
        self,
        websocket: WebSocket,
        services: Services,
        key: ApiKey,
        snapshot: Snapshot,
        subscription: Subscription,
        token: str,
    ) -> None:
        state = websocket.app.state
        self.websocket = websocket
        self.services = services
        self.key = key
        self.token = token
        self.keys: KeyCache = state.key_cache
        self._tasks: anyio.abc.TaskGroup | None = None
        self.conversation_id = snapshot.conversation.id
        self.subscription = subscription
        self.metrics: Metrics | None = state.metrics
        self.limiter: RateLimiter = state.rate_limiter
        serve = services.settings.serve
        self.debounce = serve.ws_debounce_ms / 1000
        self.max_bytes = serve.max_body_bytes
        # The context of draft checks: built from the stored events, rebuilt after each new one
        # (``generation`` moves on) and when the playbook in force changes.
        self._context: tuple[Engine, ReplyContext] | None = (
            services.engine,
            context_of(services.engine, snapshot),
        )
        self._generation = 0
        self._draft: tuple[int, str] | None = None
        self._draft_at = 0.0
        self._draft_waiting = anyio.Event()
        self._send_lock = anyio.Lock()
        self.frames = 0
        self.checks = 0
        self.events = 0
        self.close_code = 1000

    # --- sending

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            # A client that has gone: the reading loop sees the disconnect and ends the session.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.websocket.send_json(message)

    async def error(self, code: str, detail: str) -> None:
        await self.send({"type": "error", "code": code, "detail": detail})

    # --- the tasks

    async def run(self) -> None:
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            tasks.start_soon(self._forward)
            tasks.start_soon(self._check_drafts)
            await self._read()
            tasks.cancel_scope.cancel()

    async def _read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                self.close_code = int(message.get("code") or 1000)
                return
            text = message.get("text")
            if text is None:
                data = message.get("bytes") or b""
                if len(data) > self.max_bytes:
                    await self._close_too_big(len(data))
                    return
                await self.error("frame_unreadable", "frames are JSON text, not binary")
                continue
            # Characters are at least one byte: only a long frame needs encoding to measure.
            size = len(text) if len(text) * 4 <= self.max_bytes else len(text.encode())
            if size > self.max_bytes:
                await self._close_too_big(size)
                return
            self.frames += 1
            try:
                frame = read_frame(text)
            except FrameError as exc:
                await self.error(exc.code, exc.detail)
                continue
            await self._handle(frame)

    async def _handle(self, frame: Frame) -> None:
        if isinstance(frame, PingFrame):
            await self.send({"type": "pong"})
        elif isinstance(frame, DraftFrame):
            # Only the newest draft counts; the checker waits until typing pauses.
            self._draft = (frame.seq, frame.text)
            self._draft_at = time.monotonic()
            self._draft_waiting.set()
        else:
            await self._store(frame.event)

    async def _close_too_big(self, size: int) -> None:
        self.close_code = CLOSE_TOO_BIG
        await self.websocket.close(
            CLOSE_TOO_BIG,
            f"a frame of {size:,} bytes is over the limit of {self.max_bytes:,} "
            "(CALMLINE_SERVE__MAX_BODY_BYTES)",
        )

    async def _forward(self) -> None:
        while True:
            message = await self.subscription.queue.get()
            self._stale()
            await self.send(message)

    async def _check_drafts(self) -> None:
        while True:
            await self._draft_waiting.wait()
            while (delay := self._draft_at + self.debounce - time.monotonic()) > 0:
                await anyio.sleep(delay)
            self._draft_waiting = anyio.Event()
            pending, self._draft = self._draft, None
            if pending is None:
                continue
            seq, text = pending
            try:
                result = await run_in_threadpool(self._check, text)
            except KeyRevoked:
                await self._end_revoked()
                return
            except FrameError as exc:
                await self.error(exc.code, exc.detail)
                continue
            except CalmlineError as exc:
                await self.error(exc.code, exc.message)
                continue
            except Exception:
                log.exception("the live draft check failed (conversation id withheld)")
                await self.error("internal_error", "the check failed; the error is in the log")
                continue
            await self.send({"type": "check", "seq": seq, "result": result})

    async def _store(self, body: EventCreate) -> None:
        try:
            stored = await run_in_threadpool(self._ingest, body)
        except KeyRevoked:
            await self._end_revoked()
            return
        except FrameError as exc:
            await self.error(exc.code, exc.detail)
            return
        except CalmlineError as exc:
            await self.error(exc.code, exc.message)
            return
        except Exception:
            log.exception("storing a live event failed")
            await self.error("internal_error", "the event was not stored; the error is in the log")
            return
        if stored.new:
            # The hub has the guidance on its way to every socket, this one included; drafts
            # from now on are checked with the new event in their context.
            self._stale()
        else:
            # A retry of a stored event: only the sender needs its guidance again.
            await self.send(guidance_message(stored.event.id, stored.guidance))

    async def _end_revoked(self) -> None:
        """The key was revoked while the socket was open: close it (1008) and stop."""
        self.close_code = CLOSE_POLICY
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.websocket.close(CLOSE_POLICY, "this API key has been revoked")
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()

    def _stale(self) -> None:
        self._generation += 1
        self._context = None

    # --- in worker threads

    def _within_rate(self) -> None:
        # The key is asked again (through the cache) before each check and event, so a revoked
        # key stops working on open sockets too, within serve.key_cache_seconds.
        if self.keys.verify(self.token, self.services) is None:
            raise KeyRevoked
        wait = self.limiter.retry_after(self.key.prefix)
        if wait is not None:
            raise FrameError(
                "rate_limited", f"this key is over its rate limit; try again in {wait} s"
            )

    def _check(self, text: str) -> dict[str, Any]:
        self._within_rate()
        engine = self.services.engine
        held = self._context
        if held is None or held[0] is not engine:
            generation = self._generation
            context = context_of(engine, read_snapshot(self.services, self.conversation_id))
            if generation == self._generation:  # no newer event while reading
                self._context = (engine, context)
        else:
            context = held[1]
        result = engine.check_reply(text, context)
        self.checks += 1
        if self.metrics is not None:
            self.metrics.count_findings(result.findings)
        return result.to_dict()

    def _ingest(self, body: EventCreate) -> Ingested:
        self._within_rate()
        stored = store_event(self.services, self.conversation_id, body, self.key)
        if stored.new:
            self.events += 1
        announce(self.websocket.app.state, self.conversation_id, stored)
        return stored


# ----- the route --------------------------------------------------------------------------------


@router.websocket(ROUTE.removeprefix("/v1"))
async def live(websocket: WebSocket, conversation_id: str) -> None:
    """Live guidance for one conversation (protocol: docs/operations.md)."""
    started = time.perf_counter()
    state = websocket.app.state
    services: Services = state.services
    serve = services.settings.serve
    metrics: Metrics | None = state.metrics
    hub: Hub = state.hub
    await websocket.accept()
    session: LiveSession | None = None
    subscription: Subscription | None = None
    key_prefix: str | None = None
    close_code = 1000
    try:
        token, from_cookie = presented_key(websocket)
        if token is None:
            raise Refused(
                "an API key is required: 'Authorization: Bearer <key>' or the web UI's sign-in"
            )
        if from_cookie and not same_origin(websocket.headers):
            raise Refused("a signed-in socket must be opened by this site's own pages (Origin)")
        key = await run_in_threadpool(admit, services, state.key_cache, state.rate_limiter, token)
        key_prefix = key.prefix
        # Subscribed before the conversation is read, so no event stored in between is missed.
        subscription = hub.subscribe(conversation_id)
        snapshot = await run_in_threadpool(visible_snapshot, services, key, conversation_id)
        session = LiveSession(websocket, services, key, snapshot, subscription, token)
        if metrics is not None:
            metrics.websockets.inc()
        try:
            await session.send(
                {
                    "type": "hello",
                    "conversation": snapshot.conversation.to_dict(),
                    "guidance": snapshot.latest_guidance(),
                }
            )
            await session.run()
        finally:
            if metrics is not None:
                metrics.websockets.dec()
        close_code = session.close_code
    except Refused as refused:
        close_code = refused.code
        await websocket.close(refused.code, refused.reason)
    except CalmlineError as exc:  # the store is unavailable
        close_code = 1011
        await websocket.close(1011, close_reason(exc.message))
    finally:
        if subscription is not None:
            hub.unsubscribe(subscription)
        _log_session(serve.log_format, key_prefix, close_code, started, session)


def _log_session(
    log_format: str,
    key_prefix: str | None,
    close_code: int,
    started: float,
    session: LiveSession | None,
) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    seconds = time.perf_counter() - started
    fields: dict[str, Any] = {
        "event": "websocket",
        "route": ROUTE,
        "key": key_prefix,
        "close_code": close_code,
        "seconds": round(seconds, 3),
        "frames": session.frames if session else 0,
        "checks": session.checks if session else 0,
        "events": session.events if session else 0,
    }
    if log_format == "json":
        access_log.info(json.dumps(fields))
    else:
        access_log.info(
            "WS %s close=%s %.1f s key=%s frames=%d checks=%d events=%d",
            ROUTE,
            close_code,
            seconds,
            key_prefix,
            fields["frames"],
            fields["checks"],
            fields["events"],
        )
