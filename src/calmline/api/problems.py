"""Every error the service returns is an RFC 9457 problem document (``application/problem+json``).

A problem carries the stable ``code`` of calmline's error classes (docs/errors.md) so clients can
branch on it, a ``title`` for people, the ``detail`` that says what and where, and for request
validation the list of ``errors`` with the location of each bad field. HTTP status codes are
chosen here and nowhere else below the API layer.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from calmline import errors
from calmline.api.deps import check_caller

log = logging.getLogger("calmline.api")

PROBLEM_TYPE_BASE = "https://calmline.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

#: The status of each calmline error class; a subclass not listed takes its nearest base's.
STATUS_OF: dict[type[errors.CalmlineError], int] = {
    errors.CalmlineError: 500,
    errors.InputError: 422,
    errors.PlaybookError: 422,
    errors.MessageTooLong: 413,
    errors.EventError: 422,
    errors.EventOrderError: 409,
    errors.ConversationClosed: 409,
    errors.UnknownConversation: 404,
    errors.StoreError: 503,
    errors.UnknownIncident: 404,
    errors.UnknownTrainee: 404,
    errors.UnknownKey: 404,
    errors.UnknownPractice: 404,
    errors.PracticeConflict: 409,
    errors.EventConflict: 409,
    errors.SettingsError: 500,
    errors.NotifyError: 502,
}

#: Codes for the errors the HTTP layer itself raises (no calmline class behind them).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "input_invalid",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def status_of(exc: errors.CalmlineError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


#: RFC 9110's names for the statuses whose older names Python's http module may still give.
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem_document(
    status: int, code: str, detail: str, *, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The body of a problem: the same fields and titles wherever it is made."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": _TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return body


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response."""
    body = problem_document(status, code, detail, instance=instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _location(loc: tuple[int | str, ...]) -> str:
    """``body.context[2].text`` from pydantic's location tuple."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _body_not_json(exc: RequestValidationError) -> bool:
    """Whether the route wanted a JSON body and got raw bytes (a form, text/plain, no type)."""
    return any(
        tuple(e.get("loc", ())) == ("body",) and isinstance(e.get("input"), bytes | bytearray)
        for e in exc.errors()
    )


def _json_undecodable(exc: RequestValidationError) -> bool:
    """Whether the body could not be decoded as JSON (FastAPI does that before dependencies)."""
    return any(e.get("type") == "json_invalid" for e in exc.errors())


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(errors.CalmlineError)
    async def _calmline(request: Request, exc: errors.CalmlineError) -> JSONResponse:
        # A playbook's problems each name their file, line and key: list them all.
        extra: dict[str, Any] = {}
        if isinstance(exc, errors.PlaybookError):
            extra["problems"] = exc.problems
        return problem(status_of(exc), exc.code, exc.message, instance=request.url.path, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _json_undecodable(exc) and request.url.path.startswith("/v1/"):
            # Decoded before the route's dependencies ran: the key and role come first.
            try:
                await check_caller(request)
            except StarletteHTTPException as refused:
                return await _http(request, refused)
        if _body_not_json(exc):
            # The body arrived as bytes: it was not sent as JSON, so its fields were never read.
            sent = request.headers.get("content-type") or "no Content-Type"
            return problem(
                415,
                "unsupported_media_type",
                f"the body must be JSON sent with 'Content-Type: application/json' (got {sent})",
                instance=request.url.path,
            )
        problems = [
            {"loc": _location(tuple(e.get("loc", ()))), "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{p['loc']}: {p['msg']}" for p in problems[:5])
        if len(problems) > 5:
            detail += f"; and {len(problems) - 5} more"
        return problem(422, "input_invalid", detail, instance=request.url.path, errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            code = "body_unreadable"
            detail = "the request body is not a JSON document in UTF-8"
        return problem(
            exc.status_code,
            code,
            detail,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the server log (without the request body, and with the route
        # template rather than the path, whose ids can be personal, as in the access log); the
        # client gets a problem document without internals.
        route = getattr(request.scope.get("route"), "path", "(unmatched)")
        log.exception("unexpected error on %s %s", request.method, route)
        return problem(
            500,
            "internal_error",
            "the server failed to handle this request; the error is in its log",
            instance=request.url.path,
        )
