"""The channels a team configured, checked once at startup so a mistake is an error, not a retry."""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from calmline.errors import NotifyError
from calmline.notify.channel import Channel
from calmline.notify.log import LogChannel
from calmline.notify.mail import EmailChannel
from calmline.notify.webhook import WebhookChannel
from calmline.settings import NotifySettings


@dataclass(frozen=True, slots=True)
class Channels:
    """The configured channels by name (``webhook``, ``email``, ``log``)."""

    by_name: Mapping[str, Channel]

    def __iter__(self) -> Iterator[Channel]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)

    def get(self, name: str) -> Channel | None:
        return self.by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.by_name)


def configure_channels(
    settings: NotifySettings, *, ssl_context: ssl.SSLContext | None = None
) -> Channels:
    """The channels ``settings`` switch on, each checked; a NotifyError names the variable.

    A channel is on when its main setting is given: ``webhook_url`` for the webhook,
    ``smtp_host`` or ``email_to`` for email, ``log`` for the log. A half-configured channel
    (a webhook without a secret, email without recipients) is an error here, before anything
    is sent. ``ssl_context`` replaces the system's trust store (for a private CA).
    """
    problems: list[str] = []
    by_name: dict[str, Channel] = {}
    if settings.webhook_url is not None:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        try:
            by_name["webhook"] = WebhookChannel(
                settings.webhook_url,
                secret,
                timeout_seconds=settings.timeout_seconds,
                ssl_context=ssl_context,
            )
        except NotifyError as exc:
            problems.append(exc.message)
    elif settings.webhook_secret is not None:
        problems.append(
            "CALMLINE_NOTIFY__WEBHOOK_SECRET is set but CALMLINE_NOTIFY__WEBHOOK_URL is not"
        )
    if settings.smtp_host is not None or settings.email_to:
        if settings.smtp_host is None:
            problems.append("CALMLINE_NOTIFY__SMTP_HOST: email has recipients but no SMTP server")
        else:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
            try:
                by_name["email"] = EmailChannel(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    sender=settings.email_from,
                    recipients=settings.email_to,
                    starttls=settings.smtp_starttls,
                    username=settings.smtp_username,
                    password=password,
                    timeout_seconds=settings.timeout_seconds,
                    ssl_context=ssl_context,
                )
            except NotifyError as exc:
                problems.append(exc.message)
    if settings.log:
        by_name["log"] = LogChannel()
    if problems:
        raise NotifyError("notification settings: " + "; ".join(problems))
    return Channels(by_name)
