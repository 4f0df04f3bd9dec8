"""Notifications that are never lost: the outbox delivery worker and its channels.

The storage layer writes a row to the ``notifications`` outbox in the same transaction as the
incident it reports; :func:`deliver_due` (one round) and :func:`run_worker` (a loop) send those
rows through the configured channels (webhook, email, log) and retry until each is delivered.
"""

from __future__ import annotations

from calmline.notify.channel import CHANNEL_NAMES, Channel, Notification
from calmline.notify.channels import Channels, configure_channels
from calmline.notify.log import LogChannel
from calmline.notify.mail import EmailChannel
from calmline.notify.outbox import OutboxStatus, QueueStatus, outbox_status
from calmline.notify.signing import sign, verify
from calmline.notify.webhook import WebhookChannel
from calmline.notify.worker import (
    Attempt,
    DeliveryReport,
    deliver_due,
    retry_delay,
    run_worker,
)

__all__ = [
    "CHANNEL_NAMES",
    "Attempt",
    "Channel",
    "Channels",
    "DeliveryReport",
    "EmailChannel",
    "LogChannel",
    "Notification",
    "OutboxStatus",
    "QueueStatus",
    "WebhookChannel",
    "configure_channels",
    "deliver_due",
    "outbox_status",
    "retry_delay",
    "run_worker",
    "sign",
    "verify",
]
