"""calmline: live coaching, roleplay training and quality review for difficult customers.

The public API::

    import calmline
    calmline.analyze_message("you people are USELESS, I want a full refund")
    calmline.check_reply("Calm down, you are wrong.", context=[...])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from calmline.core.analyzer import Engine
from calmline.core.rule import ReplyContext
from calmline.core.types import (
    AbuseLevel,
    Credit,
    Finding,
    MessageAnalysis,
    ReplyCheck,
    Rewrite,
    Role,
    Severity,
    Signal,
    Turn,
)
from calmline.engine import build_engine, default_engine, load_engine
from calmline.errors import CalmlineError, InputError, MessageTooLong, PlaybookError
from calmline.playbook.loader import load_playbook
from calmline.playbook.schema import Playbook

__version__ = "0.1.0"


def analyze_message(text: str, *, names: Sequence[str] = ()) -> MessageAnalysis:
    """Every signal in a customer message, its anger (0-1) and abuse level (default playbook)."""
    return default_engine().analyze_message(text, names=names)


def check_reply(
    draft: str,
    context: ReplyContext | Iterable[Turn] | None = None,
    *,
    customer_name: str | None = None,
) -> ReplyCheck:
    """Check an agent's draft before it is sent (default playbook).

    ``context`` is the conversation so far: a list of :class:`Turn` (or a ReplyContext).
    """
    return default_engine().check_reply(draft, context, customer_name=customer_name)


__all__ = [
    "AbuseLevel",
    "CalmlineError",
    "Credit",
    "Engine",
    "Finding",
    "InputError",
    "MessageAnalysis",
    "MessageTooLong",
    "Playbook",
    "PlaybookError",
    "ReplyCheck",
    "ReplyContext",
    "Rewrite",
    "Role",
    "Severity",
    "Signal",
    "Turn",
    "analyze_message",
    "build_engine",
    "check_reply",
    "default_engine",
    "load_engine",
    "load_playbook",
]
