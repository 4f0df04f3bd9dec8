"""Real receivers on 127.0.0.1 for the notification tests: an HTTP server and an SMTP server."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One request the HTTP receiver answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class WebhookReceiver:
    """Answers ``failing_status`` to the first ``fail_first`` POSTs, then 200; keeps them all.

    ``down`` makes every request fail (a receiver that is down for a while); ``redirect_to``
    answers every request with a 302 to that URL; ``stall`` holds the answer until released.
    """

    fail_first: int = 0
    failing_status: int = 503
    down: bool = False
    redirect_to: str | None = None
    stall: threading.Event | None = None
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        body = handler.rfile.read(length)
        if self.stall is not None:
            self.stall.wait(5)
        with self.lock:
            failing = self.down or len(self.requests) < self.fail_first
            status = 302 if self.redirect_to else self.failing_status if failing else 200
            self.requests.append(
                Received(handler.path, dict(handler.headers.items()), body, status)
            )
        handler.send_response(status)
        if self.redirect_to:
            handler.send_header("Location", self.redirect_to)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    @property
    def accepted(self) -> list[Received]:
        """The requests answered with a 2xx: the notifications the receiver took."""
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300]


@contextmanager
def webhook_receiver(**options: Any) -> Iterator[WebhookReceiver]:
    """A WebhookReceiver listening on a free port of 127.0.0.1 for the length of the block."""
    receiver = WebhookReceiver(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver.answer(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://{LOCALHOST}:{server.server_address[1]}/hooks/calmline?token=t0k3n"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.stall is not None:
            receiver.stall.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    """A port nothing listens on right now (for a server that needs a number up front)."""
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Inbox:
    """What the SMTP server accepted; addresses at ``refused.test`` are refused with a 550."""

    port: int = 0
    mails: list[Mail] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.test"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.content)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted"


Authenticator = Callable[[Any, Any, Any, str, Any], AuthResult]


def password_check(login: str, password: str) -> Authenticator:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == login.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def smtp_server(
    *, tls_context: ssl.SSLContext | None = None, authenticator: Authenticator | None = None
) -> Iterator[Inbox]:
    """An aiosmtpd server on 127.0.0.1; with ``tls_context`` it requires STARTTLS."""
    inbox = Inbox(port=free_port())
    kwargs: dict[str, Any] = {}
    if tls_context is not None:
        kwargs.update(tls_context=tls_context, require_starttls=True)
    if authenticator is not None:
        kwargs.update(authenticator=authenticator, auth_require_tls=True)
    controller = Controller(inbox, hostname=LOCALHOST, port=inbox.port, **kwargs)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
