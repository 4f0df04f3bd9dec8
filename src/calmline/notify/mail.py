"""The email channel: a plain-text note for the line manager (D7), sent over SMTP.

The email says what happened, who the customer and the agent were, which protocol steps were
taken and when, and the key points the customer raised. It never carries the conversation's
messages nor the agent's lines: those stay in calmline.
"""

from __future__ import annotations

import smtplib
import ssl
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from calmline.errors import NotifyError
from calmline.notify.channel import Notification, failure
from calmline.notify.signing import DELIVERY_HEADER

_SUBJECTS = {
    "protocol_end": "abusive customer, conversation ended through the protocol",
    "safety_threat": "threat to safety, conversation ended",
    "premature_end": "conversation ended before the warnings were complete",
}
_WHAT_HAPPENED = {
    "protocol_end": (
        "The customer became abusive and the agent took the conversation through the boundary "
        "protocol to its end: made them aware, asked them to stop, warned them, repeated the "
        "warning and invited them back."
    ),
    "safety_threat": (
        "The customer threatened someone's safety and the conversation was ended. Please check "
        "on the agent and decide whether anyone else needs to be told."
    ),
    "premature_end": (
        "The conversation was ended before the warnings the playbook asks for had been given. "
        "The customer may complain that they were cut off; the timeline below shows which "
        "steps were missed."
    ),
}
_STEP_NAMES = {
    "D1": "made the customer aware",
    "D2": "asked them to stop",
    "D3": "warned them",
    "D4": "repeated the warning",
    "D5": "invited them back",
    "calmed": "customer calmed down",
    "safety": "threat to safety",
    "end": "conversation ended",
}
_NOT_RECORDED = "not recorded"
#: Body lines are wrapped to this width (short of the 78 that mail readers expect).
_WIDTH = 74


def parse_addresses(value: str | Sequence[str], where: str) -> tuple[str, ...]:
    """Email addresses from a comma-separated string or a list; a NotifyError naming ``where``."""
    items = value.split(",") if isinstance(value, str) else list(value)
    addresses = tuple(a.strip() for a in items if a.strip())
    for address in addresses:
        try:
            parsed = Address(addr_spec=address)
        except (ValueError, IndexError):
            parsed = None
        if parsed is None or not parsed.username or not parsed.domain:
            raise NotifyError(f"{where}: {address!r} is not an email address")
    return addresses


class EmailChannel:
    """Send each notification as a plain-text email, with STARTTLS and login when configured."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_seconds: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not host.strip():
            raise NotifyError("CALMLINE_NOTIFY__SMTP_HOST: email needs an SMTP server")
        self.recipients = parse_addresses(recipients, "CALMLINE_NOTIFY__EMAIL_TO")
        if not self.recipients:
            raise NotifyError(
                "CALMLINE_NOTIFY__EMAIL_TO: email needs at least one recipient "
                "(comma-separated addresses)"
            )
        senders = parse_addresses([sender], "CALMLINE_NOTIFY__EMAIL_FROM")
        if len(senders) != 1:
            raise NotifyError("CALMLINE_NOTIFY__EMAIL_FROM: email needs a sender address")
        self.sender = senders[0]
        if bool(username) != bool(password):
            raise NotifyError(
                "CALMLINE_NOTIFY__SMTP_USERNAME and CALMLINE_NOTIFY__SMTP_PASSWORD: "
                "set both to log in, or neither"
            )
        if username and not starttls:
            raise NotifyError(
                "CALMLINE_NOTIFY__SMTP_USERNAME: logging in without STARTTLS would send the "
                "password in the clear; set CALMLINE_NOTIFY__SMTP_STARTTLS=true"
            )
        self.host = host.strip()
        self.port = port
        self.starttls = starttls
        self.username = username
        self._password = password
        self.timeout_seconds = timeout_seconds
        self._ssl_context = ssl_context

    @property
    def name(self) -> str:
        return "email"

    @property
    def default_target(self) -> str:
        return ", ".join(self.recipients)

    def describe(self) -> str:
        tls = " with STARTTLS" if self.starttls else ""
        return f"SMTP {self.host}:{self.port}{tls} to {self.default_target}"

    def deliver(self, notification: Notification) -> None:
        recipients = parse_addresses(
            notification.target, f"notification {notification.delivery_id} target"
        )
        if not recipients:
            raise failure("the notification names no recipient")
        message = render_email(notification, sender=self.sender, recipients=recipients)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
                smtp.ehlo()
                if self.starttls:
                    context = self._ssl_context or ssl.create_default_context()
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if self.username and self._password:
                    smtp.login(self.username, self._password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise failure(f"SMTP refused every recipient ({len(exc.recipients)})") from None
        except smtplib.SMTPResponseException as exc:
            raise failure(f"SMTP {exc.smtp_code} {_decode(exc.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError:
            raise failure("the SMTP server does not offer STARTTLS") from None
        except smtplib.SMTPException as exc:
            raise failure(f"SMTP: {type(exc).__name__}") from None
        except TimeoutError:
            raise failure(f"no answer within {self.timeout_seconds:g} s") from None
        except ssl.SSLError as exc:
            raise failure(f"TLS: {exc.reason or type(exc).__name__}") from None
        except ConnectionRefusedError:
            raise failure("connection refused") from None
        except OSError as exc:
            raise failure(f"connection failed: {exc.strerror or type(exc).__name__}") from None
        if refused:
            raise failure(f"SMTP refused {len(refused)} of {len(recipients)} recipients")


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# ----- the message --------------------------------------------------------------------------------


def render_email(
    notification: Notification, *, sender: str, recipients: Sequence[str]
) -> EmailMessage:
    """The email for one notification: subject naming the reason, a plain-text body."""
    message = EmailMessage()
    message["Subject"] = _header(subject(notification))
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id(notification, sender)
    message[DELIVERY_HEADER] = _header(notification.delivery_id)
    message.set_content(body_text(notification))
    return message


def message_id(notification: Notification, sender: str) -> str:
    """The same Message-ID on every attempt, so a mail reader can fold a repeated delivery."""
    domain = sender.rpartition("@")[2] or "calmline.invalid"
    made = notification.created_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"<calmline.notification.{_header(notification.delivery_id)}.{made}@{domain}>"


def _incident(notification: Notification) -> Mapping[str, Any]:
    """The incident a payload reports: under ``incident``, or the payload itself."""
    inner = notification.payload.get("incident")
    return inner if isinstance(inner, Mapping) else notification.payload


def _header(value: str) -> str:
    """One line, so nothing a customer typed into their name can add a header."""
    return " ".join(value.split())[:300]


def _who(incident: Mapping[str, Any]) -> str:
    name, customer_id = _text(incident.get("customer_name")), _text(incident.get("customer_id"))
    return name or (f"customer {customer_id}" if customer_id else "unnamed customer")


def subject(notification: Notification) -> str:
    """'[calmline] <reason> (<customer>, agent <agent>)'; a test says it is a test."""
    if notification.kind == "test":
        return "[calmline] test notification"
    incident = _incident(notification)
    reason = _text(incident.get("reason"))
    what = _SUBJECTS.get(reason, f"incident ({reason or 'no reason given'})")
    agent = _text(incident.get("agent"))
    about = _who(incident) + (f", agent {agent}" if agent else "")
    return f"[calmline] {what[0].upper()}{what[1:]} ({about})"


def body_text(notification: Notification) -> str:
    """The plain-text body a line manager reads: what happened, who, the steps, the key points."""
    if notification.kind == "test":
        return (
            "This is a test notification from calmline.\n\n"
            "If you can read it, incident notifications will reach you by email. "
            "Nothing needs to be done.\n"
        )
    incident = _incident(notification)
    reason = _text(incident.get("reason"))
    what = _WHAT_HAPPENED.get(reason, f"calmline recorded an incident ({reason or 'no reason'}).")
    lines = [
        *textwrap.wrap(what, _WIDTH),
        "",
        f"Customer:      {_text(incident.get('customer_name')) or _NOT_RECORDED}",
        f"Customer id:   {_text(incident.get('customer_id')) or _NOT_RECORDED}",
        f"Agent:         {_text(incident.get('agent')) or _NOT_RECORDED}",
        f"Conversation:  {_text(incident.get('conversation_id')) or _NOT_RECORDED}",
        f"Started:       {_when(incident.get('opened_at'))}",
        f"Ended:         {_when(incident.get('closed_at'))}",
    ]
    if notification.incident_id is not None:
        lines.append(f"Incident:      {notification.incident_id}")
    lines += ["", "Protocol timeline", *_timeline(incident)]
    if reason != "safety_threat":  # after a safety threat the protocol is rightly cut short
        lines += _steps_missed(incident)
    points = _key_points(incident)
    if points:
        lines += ["", "Key points the customer raised", *points]
    for title, key in (("Demands", "demands"), ("Threats", "threats")):
        items = [_text(d) for d in _list(incident.get(key)) if _text(d)]
        if items:
            lines += ["", title, *(f"  - {item}" for item in items)]
    note = _text(incident.get("note"))
    if note:
        lines += [
            "",
            "Note",
            *textwrap.wrap(note, _WIDTH, initial_indent="  ", subsequent_indent="  "),
        ]
    lines += [
        "",
        *textwrap.wrap(
            "The conversation's messages are not part of this email; they are kept in calmline "
            "with the incident.",
            _WIDTH,
        ),
        f"Notification {notification.delivery_id}, sent by calmline.",
    ]
    return "\n".join(lines) + "\n"


def _timeline(incident: Mapping[str, Any]) -> list[str]:
    rows: list[str] = []
    for step in _list(incident.get("timeline")):
        if not isinstance(step, Mapping):
            continue
        code = _text(step.get("step"))
        name = _STEP_NAMES.get(code, code or "step")
        flag = "" if step.get("proper", True) is not False else "  (out of order)"
        rows.append(f"  {_when(step.get('at'))}  {code:<6} {name}{flag}")
    return rows or ["  no protocol step was recorded"]


def _steps_missed(incident: Mapping[str, Any]) -> list[str]:
    done = incident.get("steps_done")
    if not isinstance(done, Mapping) or not done:
        return []
    missed = [f"{k} ({_STEP_NAMES.get(k, k)})" for k, v in sorted(done.items()) if not v]
    if not missed:
        return ["  Every protocol step was taken."]
    return ["  Not taken: " + ", ".join(missed) + "."]


def _key_points(incident: Mapping[str, Any]) -> list[str]:
    rows: list[str] = []
    for point in _list(incident.get("key_points")):
        if not isinstance(point, Mapping):
            continue
        quote = _text(point.get("quote"))
        if not quote:
            continue
        kinds = ", ".join(_text(s) for s in _list(point.get("signals")) if _text(s))
        rows.append(f'  - "{quote}"' + (f" ({kinds})" if kinds else ""))
    return rows


def _text(value: object) -> str:
    """A payload value as one line of text ('' for nothing)."""
    if value is None or isinstance(value, Mapping | list):
        return ""
    return " ".join(str(value).split())


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _when(value: object) -> str:
    """An ISO date-time from the payload as 'YYYY-MM-DD HH:MM:SS UTC'."""
    text = _text(value)
    if not text:
        return _NOT_RECORDED
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
        return at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return at.strftime("%Y-%m-%d %H:%M:%S")
