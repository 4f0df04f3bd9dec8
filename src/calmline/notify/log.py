"""The log channel: one line on the ``calmline.notify`` logger per notification, ids only."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from calmline.notify.channel import Notification

#: The logger incident notifications are written to (a handler on it can forward them).
LOGGER_NAME = "calmline.notify"


class LogChannel:
    """Log each notification at WARNING with its ids and reason; never a message's text.

    The line carries the delivery id, the incident id, the conversation id and the reason, so
    whoever reads the log can open the incident in calmline; names and quotes stay out.
    """

    def __init__(self, logger_name: str = LOGGER_NAME) -> None:
        self.logger_name = logger_name

    @property
    def name(self) -> str:
        return "log"

    @property
    def default_target(self) -> str:
        return self.logger_name

    def describe(self) -> str:
        return f"a WARNING line on the {self.logger_name} logger"

    def deliver(self, notification: Notification) -> None:
        logger = logging.getLogger(notification.target or self.logger_name)
        if notification.kind == "test":
            logger.warning(
                "calmline test notification %s: the log channel works", notification.delivery_id
            )
            return
        payload = notification.payload
        inner = payload.get("incident")
        incident: Mapping[str, object] = inner if isinstance(inner, Mapping) else payload
        logger.warning(
            "calmline %s: notification %s, incident %s, conversation %s, reason %s",
            _one_word(notification.kind),
            notification.delivery_id,
            notification.incident_id if notification.incident_id is not None else "-",
            _one_word(incident.get("conversation_id")),
            _one_word(incident.get("reason")),
        )


def _one_word(value: object, limit: int = 200) -> str:
    """An id as one short token: whatever a client put in it cannot break the log line."""
    if value is None or isinstance(value, Mapping | list):
        return "-"
    text = "".join(c if c.isprintable() and not c.isspace() else "_" for c in str(value))
    return text[:limit] or "-"
