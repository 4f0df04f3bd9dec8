"""The playbook's `pacing:` section: when to hold, take a time-out, keep replies short (A2-A4)."""

from __future__ import annotations

from pydantic import Field, field_validator

from calmline.core.settings import Settings, Weight
from calmline.core.types import AbuseLevel


class PacingSettings(Settings):
    """Timing and length advice for the agent (A2 slow down, A3 pause, A4 time-out).

    A customer message is *hostile* when its abuse level is at least ``hostile_abuse`` or its
    anger score is at least ``hostile_anger``.
    """

    #: A3: seconds to wait after a hostile customer message before replying
    pause_seconds: float = Field(default=2.0, gt=0, le=600)
    #: A4: hostile customer messages in a row after which a short time-out is suggested
    hostile_streak_for_time_out: int = Field(default=3, ge=1, le=100)
    #: A4: how long the suggested time-out lasts, in seconds
    time_out_seconds: float = Field(default=60.0, gt=0, le=3600)
    #: A2: a reply with more words than this is a wall of text
    wall_of_text_words: int = Field(default=90, ge=1, le=100_000)
    #: A2: a reply with more sentences than this is a wall of text
    wall_of_text_sentences: int = Field(default=6, ge=1, le=10_000)
    #: A2: this many agent messages in a row, within the window, are rapid fire
    rapid_fire_messages: int = Field(default=3, ge=2, le=100)
    #: A2: the window for rapid fire, in seconds
    rapid_fire_window_seconds: float = Field(default=20.0, gt=0, le=3600)
    #: A2 (voice): the agent's words per minute above which, after a hostile message, the
    #: agent is asked to slow down
    max_words_per_minute: float = Field(default=160.0, gt=0, le=1000)
    #: the lowest abuse level that makes a customer message hostile: venting, abusive or
    #: safety
    hostile_abuse: AbuseLevel = AbuseLevel.VENTING
    #: the anger score (0-1) at or above which a customer message is hostile
    hostile_anger: Weight = 0.6

    @field_validator("hostile_abuse")
    @classmethod
    def _not_none(cls, value: AbuseLevel) -> AbuseLevel:
        if value is AbuseLevel.NONE:
            raise ValueError(
                "give venting, abusive or safety; none would make every message hostile"
            )
        return value
