"""Dependencies of the routes: the running services, the caller's key and the roles a route needs.

A key comes in the ``Authorization: Bearer <key>`` header, the ``X-API-Key`` header, or (for the
web UI) the HttpOnly cookie set at sign-in. No key, an unknown or revoked one gives 401; a role the
route does not allow gives 403, and so does a request signed in with the cookie that would change
something but does not come from this site's own pages (cross-site request forgery). Each key
may make ``serve.rate_limit`` requests; beyond that the answer is 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from calmline.api.services import Services
from calmline.errors import SettingsError
from calmline.store.keys import ApiKey, Role

#: The cookie the web UI keeps the key in after sign-in.
KEY_COOKIE = "calmline_key"

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cl_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")
_cookie = APIKeyCookie(name=KEY_COOKIE, auto_error=False, description="The web UI's sign-in")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


class KeyCache:
    """Verified keys, kept ``seconds`` so each request does not ask the database.

    Keys are held by the SHA-256 of the token, never the token itself. A revoked key stops
    working in this process within ``seconds`` (0 turns the cache off).
    """

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._keys: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> tuple[bool, ApiKey | None]:
        """(True, the key or None) when ``token``'s answer is still fresh, else (False, None).

        Needs no database, so the async dependency asks this on the event loop and goes to a
        worker thread (:meth:`verify`) only on a miss.
        """
        if self.seconds <= 0:
            return False, None
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            hit = self._keys.get(digest)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def verify(self, token: str, services: Services) -> ApiKey | None:
        """The key of ``token`` (None for no valid key), from the cache or the database; a
        key read from the database has its ``last_used_at`` brought up to date."""
        if self.seconds <= 0:
            return _checked(token, services)
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._keys.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        key = _checked(token, services)
        with self._lock:
            if len(self._keys) >= self.size:
                self._keys = {d: v for d, v in self._keys.items() if v[0] > now}
                if len(self._keys) >= self.size:
                    self._keys.clear()
            self._keys[digest] = (now + self.seconds, key)
        return key

    def forget(self) -> None:
        with self._lock:
            self._keys.clear()


#: ``last_used_at`` is brought up to date at most this often (a write per request would cost
#: more than the request; ``calmline keys list`` shows it to the minute).
TOUCH_SECONDS = 60.0


def _checked(token: str, services: Services) -> ApiKey | None:
    """The key of ``token`` from the database, recording its use (at most every minute)."""
    key = services.keys.verify(token)
    if key is None:
        return None
    last = key.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    if last is None or (datetime.now(UTC) - last).total_seconds() >= TOUCH_SECONDS:
        services.keys.touch(key.id)
    return key


class MovingWindow:
    """Requests per key within each limit's window, counted exactly in this process.

    The ``limits`` library's memory storage starts a timer thread after almost every request
    to expire old entries, which cost more than the draft check itself; this keeps each key's
    recent request times in a deque and drops the old ones as it goes. A request is counted
    only when every limit lets it through.
    """

    def __init__(self, items: list[RateLimitItem]) -> None:
        self.windows = [(item.amount, float(item.get_expiry())) for item in items]
        self._longest = max(window for _amount, window in self.windows)
        self._times: dict[str, list[deque[float]]] = {}
        self._lock = threading.Lock()
        self._sweep_at = time.monotonic() + self._longest

    def retry_after(self, who: str) -> int | None:
        now = time.monotonic()
        with self._lock:
            times = self._times.get(who)
            if times is None:
                times = self._times[who] = [deque() for _ in self.windows]
            for (amount, window), seen in zip(self.windows, times, strict=True):
                while seen and seen[0] <= now - window:
                    seen.popleft()
                if len(seen) >= amount:
                    return max(1, math.ceil(seen[0] + window - now))
            for seen in times:
                seen.append(now)
            if now >= self._sweep_at:
                self._sweep(now)
        return None

    def _sweep(self, now: float) -> None:
        """Forget keys with no request in their longest window (bounded memory)."""
        self._times = {
            who: times
            for who, times in self._times.items()
            if any(
                seen and seen[-1] > now - window
                for (_amount, window), seen in zip(self.windows, times, strict=True)
            )
        }
        self._sweep_at = now + self._longest


class RateLimiter:
    """``serve.rate_limit`` requests per key (moving window), counted in ``rate_limit_storage``.

    ``memory://`` counts in this process (:class:`MovingWindow`, no thread or I/O: fine on the
    event loop); any other storage (Redis for several workers) goes through ``limits`` and
    talks to it over the network, so callers on the event loop run :meth:`retry_after` in a
    worker thread when :attr:`in_process` is False.
    """

    def __init__(self, limit: str, storage: str) -> None:
        try:
            self.items: list[RateLimitItem] = parse_many(limit)
        except ValueError:
            raise SettingsError(
                f"CALMLINE_SERVE__RATE_LIMIT: {limit!r} is not a rate such as '1200/minute' "
                "or '20/second;1000/hour'"
            ) from None
        self.in_process = storage.strip().rstrip("/") in ("memory:", "memory")
        self._window = MovingWindow(self.items) if self.in_process else None
        if self._window is not None:
            return
        try:
            self._limiter = MovingWindowRateLimiter(storage_from_string(storage))
        except Exception as exc:  # the limits library raises several kinds for a bad URI
            raise SettingsError(
                f"CALMLINE_SERVE__RATE_LIMIT_STORAGE: cannot use {storage!r}: {exc}"
            ) from None

    def retry_after(self, who: str) -> int | None:
        """None when ``who`` may go ahead (and count the request), else seconds to wait."""
        if self._window is not None:
            return self._window.retry_after(who)
        for item in self.items:
            if not self._limiter.hit(item, "key", who):
                reset, _remaining = self._limiter.get_window_stats(item, "key", who)
                return max(1, math.ceil(reset - time.time()))
        return None


#: Methods that change nothing: the sign-in cookie may authenticate them from any page (links).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_origin(headers: Mapping[str, str]) -> bool:
    """Whether the browser says the request comes from a page this host served.

    Browsers send ``Origin`` with every request that may change something (a form posted from
    another site as ``text/plain`` too, which needs no JSON); without one, a recent browser's
    ``Sec-Fetch-Site`` says the same. SameSite=Strict keeps the cookie from other sites, but
    not from another port or subdomain of the same site, hence this check.
    """
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host")
        parts = urlsplit(origin)
        return (
            host is not None
            and parts.scheme in ("http", "https")
            and parts.netloc.lower() == host.lower()
        )
    return headers.get("sec-fetch-site") == "same-origin"


async def authenticate(
    request: Request,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> ApiKey:
    """The caller's key, verified and within its rate limit.

    Async, so a request with a cached key and the in-process rate limit makes no trip to a
    worker thread (each trip costs about as much as a draft check); the database and Redis
    are asked from a worker thread.
    """
    token = bearer.credentials if bearer is not None else header or cookie
    from_cookie = bearer is None and not header and bool(cookie)
    if not token:
        raise HTTPException(
            401,
            "an API key is required: send 'Authorization: Bearer <key>' "
            "(create one with 'calmline keys create')",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if from_cookie and request.method not in SAFE_METHODS and not same_origin(request.headers):
        raise HTTPException(
            403,
            f"a {request.method} signed in with the web UI's cookie must come from this site's "
            "own pages (its Origin header); other clients send 'Authorization: Bearer <key>'",
        )
    cache: KeyCache = request.app.state.key_cache
    fresh, key = cache.cached(token)
    if not fresh:
        key = await run_in_threadpool(cache.verify, token, services)
    if key is None:
        raise HTTPException(
            401, "this API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
        )
    request.state.key_prefix = key.prefix
    limiter: RateLimiter = request.app.state.rate_limiter
    if limiter.in_process:
        wait = limiter.retry_after(key.prefix)
    else:
        wait = await run_in_threadpool(limiter.retry_after, key.prefix)
    if wait is not None:
        raise HTTPException(
            429,
            f"this key has made more than {services.settings.serve.rate_limit} requests; "
            f"try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    return key


PrincipalDep = Annotated[ApiKey, Depends(authenticate)]


#: The roles each ``require`` dependency lets through, for ``check_caller`` to find on a route.
_ALLOWED_ROLES: dict[Callable[..., Any], frozenset[Role]] = {}


def _check_role(key: ApiKey, allowed: frozenset[Role]) -> None:
    if key.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise HTTPException(
            403, f"the {key.role.value} role cannot do this; it needs one of: {names}"
        )


def require(*roles: Role) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency that lets only ``roles`` (and admins) through; others get 403."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check(key: PrincipalDep) -> ApiKey:
        _check_role(key, allowed)
        return key

    _ALLOWED_ROLES[check] = allowed
    return check


async def check_caller(request: Request) -> None:
    """Raise the 401, 403 or 429 a ``/v1/`` route's dependencies would, for an unread body.

    FastAPI decodes a JSON body before it runs the route's dependencies, so a body that is not
    valid JSON would answer 422 to a caller with no key or the wrong role (and skip the rate
    limit); the problem handler asks this first.
    """
    services: Services = request.app.state.services
    key = await authenticate(
        request,
        services,
        await _bearer(request),
        await _header(request),
        await _cookie(request),
    )
    route = request.scope.get("route")
    pending = [route.dependant] if isinstance(route, APIRoute) else []
    while pending:
        dependant = pending.pop()
        allowed = _ALLOWED_ROLES.get(dependant.call) if dependant.call else None
        if allowed is not None:
            _check_role(key, allowed)
        pending.extend(dependant.dependencies)


AnyRole = PrincipalDep
Agent = Annotated[ApiKey, Depends(require(Role.AGENT))]
Trainee = Annotated[ApiKey, Depends(require(Role.AGENT, Role.TRAINER))]
Trainer = Annotated[ApiKey, Depends(require(Role.TRAINER))]
ConversationReader = Annotated[ApiKey, Depends(require(Role.AGENT, Role.MANAGER))]
Manager = Annotated[ApiKey, Depends(require(Role.MANAGER))]
Admin = Annotated[ApiKey, Depends(require(Role.ADMIN))]
