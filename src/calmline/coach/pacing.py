"""Pacing advice over one conversation: hold before answering, time-outs, short replies (A2-A4).

A :class:`Pacer` is fed the conversation's events in order and answers each with the advice
that applies to it. It keeps only timestamps and counts (never message text) and reads the
time from the events, so replaying a conversation gives the same advice every time.

A customer message is *hostile* when its abuse level is at least ``pacing.hostile_abuse``
(default ``venting``: venting, abusive and safety all count) or its anger score is at least
``pacing.hostile_anger`` (default 0.6). The conversation is *heated* while the customer's
latest message is hostile.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from calmline.coach.events import Event, EventKind, PacingAdvice
from calmline.core.text import TextView
from calmline.core.types import MessageAnalysis
from calmline.errors import EventError, EventOrderError
from calmline.playbook.pacing import PacingSettings

#: Kinds of pacing advice, in the order they are given for one event.
HOLD = "hold"
TIME_OUT = "time_out"
REPLIED_TOO_FAST = "replied_too_fast"
RAPID_FIRE = "rapid_fire"
WALL_OF_TEXT = "wall_of_text"
WORDS_PER_MINUTE = "words_per_minute"
#: words per minute over the limit while the conversation is heated (replaces the report)
SPEAKING_TOO_FAST = "speaking_too_fast"


def text_size(text: str) -> tuple[int, int]:
    """(words, sentences) of a message, as the engine's tokeniser and sentence splitter read
    it: "I'm" is one word, a link is none, "Sorry!!! Really." is two sentences."""
    view = TextView.read(text)
    starts, ends = view.starts, view.ends
    # Tokens joined without a space ("well-known", "£3.50", "and/or") are one written word;
    # the tokens of an expanded contraction share their start.
    words = sum(
        1
        for i, start in enumerate(starts)
        if i == 0 or any(c.isspace() for c in text[ends[i - 1] : start])
    )
    spans = view.sentences()
    # A full stop with no space after it (example.com, 3.5) does not end a sentence.
    joined = sum(1 for _, end in spans[:-1] if end < len(text) and not text[end].isspace())
    return words, len(spans) - joined


def seconds_text(seconds: float) -> str:
    """'2 s', '1.5 s', '1 min', '1 min 30 s' for advice messages."""
    if seconds < 60:
        return f"{round(seconds, 1):g} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")


class Pacer:
    """Timing and length advice for one conversation, fed its events in order."""

    def __init__(self, settings: PacingSettings | None = None) -> None:
        self.settings = settings or PacingSettings()
        self._streak = 0
        self._last_at: datetime | None = None
        #: when the latest customer message arrived, if it was hostile
        self._hostile_at: datetime | None = None
        #: send times of the agent's messages since the customer last wrote
        self._run: deque[datetime] = deque()

    # ----- what the pacer knows -------------------------------------------------------

    @property
    def hostile_streak(self) -> int:
        """Hostile customer messages in a row (agent messages in between do not break it)."""
        return self._streak

    @property
    def heated(self) -> bool:
        """Whether the customer's latest message was hostile."""
        return self._hostile_at is not None

    @property
    def hold_until(self) -> datetime | None:
        """The moment before which a reply is too fast (A3), while the conversation is heated."""
        if self._hostile_at is None:
            return None
        return self._hostile_at + timedelta(seconds=self.settings.pause_seconds)

    def is_hostile(self, analysis: MessageAnalysis) -> bool:
        """Abuse at least ``hostile_abuse``, or anger at least ``hostile_anger``."""
        cfg = self.settings
        return analysis.abuse.rank >= cfg.hostile_abuse.rank or analysis.anger >= cfg.hostile_anger

    # ----- events -----------------------------------------------------------------------

    def feed(
        self, event: Event, analysis: MessageAnalysis | None = None
    ) -> tuple[PacingAdvice, ...]:
        """The advice for any event (a customer message needs its analysis)."""
        if event.kind is EventKind.CUSTOMER_MESSAGE:
            if analysis is None:
                raise EventError(f"event {event.id}: a customer message needs its analysis")
            return self.customer_message(event, analysis)
        if event.kind is EventKind.AGENT_DRAFT:
            return self.agent_draft(event)
        if event.kind is EventKind.AGENT_MESSAGE:
            return self.agent_message(event)
        self._advance(event)
        return ()

    def customer_message(self, event: Event, analysis: MessageAnalysis) -> tuple[PacingAdvice, ...]:
        """A hold after a hostile message (A3); a time-out after several in a row (A4)."""
        self._expect(event, EventKind.CUSTOMER_MESSAGE)
        self._advance(event)
        self._run.clear()
        if not self.is_hostile(analysis):
            self._streak = 0
            self._hostile_at = None
            return ()
        self._streak += 1
        self._hostile_at = event.at
        cfg = self.settings
        advice = [
            PacingAdvice(
                kind=HOLD,
                principle="A3",
                message=(
                    f"Take a breath: wait at least {seconds_text(cfg.pause_seconds)} "
                    "before you answer this one, and read it again first."
                ),
                hold_seconds=cfg.pause_seconds,
            )
        ]
        if self._streak >= cfg.hostile_streak_for_time_out:
            advice.append(
                PacingAdvice(
                    kind=TIME_OUT,
                    principle="A4",
                    message=(
                        f"{self._streak} hostile messages in a row: if you can, step away for "
                        f"{seconds_text(cfg.time_out_seconds)} to regroup before you answer."
                    ),
                    hold_seconds=cfg.time_out_seconds,
                    value=float(self._streak),
                )
            )
        return tuple(advice)

    def agent_draft(self, event: Event) -> tuple[PacingAdvice, ...]:
        """The advice the draft would get if it were sent at ``event.at``; changes nothing."""
        self._expect(event, EventKind.AGENT_DRAFT)
        self._check_order(event)
        return self._reply_advice(event, draft=True)

    def agent_message(self, event: Event) -> tuple[PacingAdvice, ...]:
        """A reply sent too soon (A3), rapid fire, a wall of text, speaking speed (A2)."""
        self._expect(event, EventKind.AGENT_MESSAGE)
        self._check_order(event)
        advice = self._reply_advice(event, draft=False)
        self._advance(event)
        self._run.append(event.at)
        window = self.settings.rapid_fire_window_seconds
        while (event.at - self._run[0]).total_seconds() > window:
            self._run.popleft()
        return advice

    # ----- the checks -------------------------------------------------------------------

    def _reply_advice(self, event: Event, *, draft: bool) -> tuple[PacingAdvice, ...]:
        advice: list[PacingAdvice] = []
        too_fast = self._too_fast(event, draft=draft)
        if too_fast is not None:
            advice.append(too_fast)
        rapid = self._rapid_fire(event)
        if rapid is not None:
            advice.append(rapid)
        words, sentences = text_size(event.text)
        wall = self._wall_of_text(words, sentences, draft=draft)
        if wall is not None:
            advice.append(wall)
        if event.duration_s is not None:
            advice.append(self._speed(words, event.duration_s))
        return tuple(advice)

    def _too_fast(self, event: Event, *, draft: bool) -> PacingAdvice | None:
        if self._hostile_at is None:
            return None
        pause = self.settings.pause_seconds
        elapsed = (event.at - self._hostile_at).total_seconds()
        if elapsed >= pause:
            return None
        if draft:
            wait = pause - elapsed
            return PacingAdvice(
                kind=REPLIED_TOO_FAST,
                principle="A3",
                message=(
                    f"Sending now would be {seconds_text(elapsed)} after a hostile message; "
                    f"wait another {seconds_text(wait)} before you send."
                ),
                hold_seconds=round(wait, 3),
                value=elapsed,
            )
        return PacingAdvice(
            kind=REPLIED_TOO_FAST,
            principle="A3",
            message=(
                f"This reply went {seconds_text(elapsed)} after a hostile message; pause for "
                f"at least {seconds_text(pause)} next time, fast replies are where regretted "
                "words come from."
            ),
            value=elapsed,
        )

    def _rapid_fire(self, event: Event) -> PacingAdvice | None:
        cfg = self.settings
        window = cfg.rapid_fire_window_seconds
        recent = [t for t in self._run if (event.at - t).total_seconds() <= window]
        count = len(recent) + 1
        if count < cfg.rapid_fire_messages:
            return None
        return PacingAdvice(
            kind=RAPID_FIRE,
            principle="A2",
            message=(
                f"{count} messages in {seconds_text((event.at - recent[0]).total_seconds())} "
                "without an answer from the customer: slow down, send one calm message and "
                "let them reply."
            ),
            value=float(count),
        )

    def _wall_of_text(self, words: int, sentences: int, *, draft: bool) -> PacingAdvice | None:
        cfg = self.settings
        if words <= cfg.wall_of_text_words and sentences <= cfg.wall_of_text_sentences:
            return None
        what = "This draft" if draft else "This reply"
        return PacingAdvice(
            kind=WALL_OF_TEXT,
            principle="A2",
            message=(
                f"{what} is a wall of text ({words} words, {sentences} sentences): keep to "
                f"short, measured sentences, at most {cfg.wall_of_text_words} words and "
                f"{cfg.wall_of_text_sentences} sentences."
            ),
            value=float(words),
        )

    def _speed(self, words: int, duration_s: float) -> PacingAdvice:
        cfg = self.settings
        wpm = words * 60.0 / duration_s
        if self.heated and wpm > cfg.max_words_per_minute:
            return PacingAdvice(
                kind=SPEAKING_TOO_FAST,
                principle="A2",
                message=(
                    f"{wpm:.0f} words a minute after a hostile message: slow down to at most "
                    f"{cfg.max_words_per_minute:g}, with short sentences and pauses."
                ),
                value=wpm,
            )
        return PacingAdvice(
            kind=WORDS_PER_MINUTE,
            principle="A2",
            message=f"{wpm:.0f} words a minute.",
            value=wpm,
        )

    # ----- bookkeeping --------------------------------------------------------------------

    @staticmethod
    def _expect(event: Event, kind: EventKind) -> None:
        if event.kind is not kind:
            raise EventError(f"event {event.id}: expected a {kind.value}, got a {event.kind.value}")

    def _check_order(self, event: Event) -> None:
        if self._last_at is not None and event.at < self._last_at:
            raise EventOrderError(
                f"event {event.id}: at {event.at.isoformat()} is earlier than the event before "
                f"it ({self._last_at.isoformat()})"
            )

    def _advance(self, event: Event) -> None:
        self._check_order(event)
        self._last_at = event.at
