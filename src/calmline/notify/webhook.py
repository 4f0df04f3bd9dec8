"""The webhook channel: an HTTP POST of the JSON payload, signed with the shared secret."""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from calmline import __version__
from calmline.errors import NotifyError
from calmline.notify.channel import Notification, failure
from calmline.notify.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign

#: How much of a response body is read (and thrown away) so the connection closes cleanly.
_DRAIN_BYTES = 64 * 1024


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: following it would send the signed payload somewhere unplanned."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def check_url(url: str, where: str = "CALMLINE_NOTIFY__WEBHOOK_URL") -> str:
    """``url`` when it is an http(s) URL with a host, else a NotifyError naming ``where``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifyError(f"{where}: expected an http:// or https:// URL with a host")
    return url.strip()


def public_url(url: str) -> str:
    """The URL without what may be secret (user, password, path, query): for logs and status."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{rest}"


class WebhookChannel:
    """POST each notification to a URL with ``X-Calmline-Signature`` and ``X-Calmline-Delivery``.

    A 2xx answer is a delivery; any other status, a redirect, a timeout or a connection error
    is a failure the worker retries. Proxies from the environment are not used: notifications
    go straight to the configured receiver.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout_seconds: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not secret:
            raise NotifyError(
                "CALMLINE_NOTIFY__WEBHOOK_SECRET: the webhook needs a secret to sign with"
            )
        self.url = check_url(url)
        self._secret = secret
        self.timeout_seconds = timeout_seconds
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl_context),
            _NoRedirects(),
        )

    @property
    def name(self) -> str:
        return "webhook"

    @property
    def default_target(self) -> str:
        return self.url

    def describe(self) -> str:
        return f"POST to {public_url(self.url)}, signed"

    def deliver(self, notification: Notification) -> None:
        body = notification.body()
        request = urllib.request.Request(
            check_url(notification.target, where=f"notification {notification.delivery_id}"),
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"calmline/{__version__}",
                SIGNATURE_HEADER: sign(body, self._secret),
                DELIVERY_HEADER: notification.delivery_id,
                "X-Calmline-Kind": notification.kind,
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                status = response.status
                response.read(_DRAIN_BYTES)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise failure(_http_status(exc.code, exc.reason)) from None
        except urllib.error.URLError as exc:
            raise failure(_connection_problem(exc.reason, self.timeout_seconds)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise failure(_connection_problem(exc, self.timeout_seconds)) from None
        if not 200 <= status < 300:
            raise failure(_http_status(status, ""))


def _http_status(code: int, reason: object) -> str:
    text = f"HTTP {code} {reason}".strip()
    if 300 <= code < 400:
        text += " (redirects are not followed)"
    return text


def _connection_problem(reason: object, timeout_seconds: float) -> str:
    """A short reason for a failed connection (never the URL, which may hold a token)."""
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"no answer within {timeout_seconds:g} s"
    if isinstance(reason, ssl.SSLError):
        return f"TLS: {reason.reason or reason}"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "host name not found"
    if isinstance(reason, OSError) and reason.strerror:
        return f"connection failed: {reason.strerror}"
    if isinstance(reason, http.client.HTTPException):
        return f"bad HTTP answer: {type(reason).__name__}"
    return f"connection failed: {reason}"
