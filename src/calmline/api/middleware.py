"""ASGI middleware: the body-size limit, request ids, the access log and request metrics.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so streaming bodies are counted as they arrive
and WebSockets pass straight through. The access log has the method, the route template (not the
raw path: ids in paths can be personal), status, duration, the key's public prefix and the request
id; it never has a request or response body unless ``serve.log_bodies`` is on (a debugging
aid: then the first 4 KB of each request body, except the sign-in's, which holds a key).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calmline.api.metrics import Metrics
from calmline.api.problems import PROBLEM_MEDIA_TYPE, problem_document

access_log = logging.getLogger("calmline.access")


#: With ``serve.log_bodies`` on, how much of each request body goes into its log line.
LOGGED_BODY_BYTES = 4096
#: Requests whose bodies are never logged, whatever the settings: the sign-in carries a key.
UNLOGGED_PREFIX = "/ui/"


def _unlogged(path: str) -> bool:
    """Whether ``path`` is one of the web UI's own (sign-in) routes, however it is spelt."""
    return "/".join(part for part in path.split("/") if part).startswith(UNLOGGED_PREFIX[1:])


class ServiceMiddleware:
    """Every HTTP request: a request id, the body limit, then metrics and one access-log line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics | None,
        log_format: str,
        log_bodies: bool = False,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.log_format = log_format
        self.log_bodies = log_bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        response_started = False
        limit = self.max_body_bytes

        declared = _content_length(scope)
        if declared is not None and declared > limit:
            status = 413
            await self._too_large(scope, send, request_id, declared)
            self._record(scope, status, started, request_id)
            return

        received = 0
        overflow = False
        # Only with serve.log_bodies (a debugging aid, off by default), and never the sign-in
        # body, which holds an API key.
        kept: bytearray | None = (
            bytearray() if self.log_bodies and not _unlogged(scope.get("path", "")) else None
        )

        async def counted_receive() -> Message:
            # Past the limit the app is told the client went away, so it stops reading; its
            # answer to that is replaced by the 413 below.
            nonlocal received, overflow
            if overflow:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if kept is not None and len(kept) < LOGGED_BODY_BYTES:
                    kept.extend(chunk[: LOGGED_BODY_BYTES - len(kept)])
                if received > limit:
                    overflow = True
                    return {"type": "http.disconnect"}
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if overflow:
                if not response_started:
                    response_started = True
                    status = 413
                    await self._too_large(scope, send, request_id, None)
                return
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_id)
        except Exception:
            if not overflow or response_started:
                raise
            status = 413
            await self._too_large(scope, send, request_id, None)
        finally:
            self._record(scope, status, started, request_id, kept)

    async def _too_large(
        self, scope: Scope, send: Send, request_id: str, declared: int | None
    ) -> None:
        size = f"{declared:,} bytes" if declared is not None else "more than that"
        document = problem_document(
            413,
            "body_too_large",
            f"the request body is {size}; the limit is {self.max_body_bytes:,} bytes "
            "(CALMLINE_SERVE__MAX_BODY_BYTES)",
            instance=scope.get("path", ""),
        )
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(
        self,
        scope: Scope,
        status: int,
        started: float,
        request_id: str,
        body: bytearray | None = None,
    ) -> None:
        seconds = time.perf_counter() - started
        route = _route_template(scope)
        method = scope.get("method", "")
        if self.metrics is not None:
            self.metrics.observe_request(method, route, status, seconds)
        if not access_log.isEnabledFor(logging.INFO):
            return
        state = scope.get("state", {})
        fields: dict[str, Any] = {
            "event": "request",
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "ms": round(seconds * 1000, 2),
            "key": state.get("key_prefix"),
        }
        if body:
            fields["body"] = body.decode("utf-8", "replace")
        if self.log_format == "json":
            access_log.info(json.dumps(fields))
        else:
            access_log.info(
                "%s %s %s %.1f ms key=%s id=%s",
                method,
                route,
                status,
                seconds * 1000,
                fields["key"],
                request_id,
            )
            if body:
                access_log.info("body of %s: %s", request_id, fields["body"])


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _route_template(scope: Scope) -> str:
    """``/v1/conversations/{conversation_id}`` rather than the path with its ids."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "(unmatched)"
