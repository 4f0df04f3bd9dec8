"""The one exception family of calmline: every misuse raises a CalmlineError with a stable code."""

from __future__ import annotations


class CalmlineError(Exception):
    """Base of every error calmline raises on purpose.

    ``code`` is stable across releases so scripts and the HTTP layer can branch on it;
    the message says what went wrong and where.
    """

    code = "calmline_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class PlaybookError(CalmlineError):
    """A playbook file is missing, unreadable, not YAML, or does not match the schema."""

    code = "playbook_invalid"

    def __init__(self, message: str, *, source: str = "", problems: list[str] | None = None):
        self.source = source
        self.problems = problems or [message]
        super().__init__(message)


class InputError(CalmlineError):
    """Input given to the engine cannot be used as it is (wrong type, bad encoding, bad field)."""

    code = "input_invalid"


class TrainingError(InputError):
    """A training session was used out of turn (a reply before the opening, after the end)
    or given a reply or time it cannot use."""

    code = "training_invalid"


class MessageTooLong(InputError):
    """A message is longer than the configured limit (``limits.max_message_chars``)."""

    code = "message_too_long"

    def __init__(self, length: int, limit: int, where: str = "message") -> None:
        self.length = length
        self.limit = limit
        super().__init__(
            f"{where} is {length:,} characters long; the limit is {limit:,} "
            "(set limits.max_message_chars in the playbook to change it)"
        )


class TranscriptError(InputError):
    """A transcript file cannot be read at all (as opposed to a single bad row)."""

    code = "transcript_invalid"


class ArchiveError(InputError):
    """An archive given to quality review cannot be read at all: missing, binary, or in no
    format calmline recognises (a single bad record is reported and skipped instead)."""

    code = "archive_invalid"


class ProtocolError(PlaybookError):
    """The boundary protocol of a playbook is not a sound state machine (dead end, orphan...)."""

    code = "protocol_invalid"


class ScenarioError(PlaybookError):
    """A roleplay scenario file is unreadable, not YAML, or does not match the format."""

    code = "scenario_invalid"


class EventError(InputError):
    """An event given to the coach cannot be used (missing id or timestamp, bad kind...)."""

    code = "event_invalid"


class EventConflict(EventError):
    """An event id is reused for a different event of the same conversation (HTTP 409)."""


class EventOrderError(EventError):
    """An event is older than the last one of its conversation."""

    code = "event_out_of_order"


class UnknownConversation(EventError):
    """No conversation has this id."""

    code = "conversation_unknown"


class ConversationClosed(EventError):
    """The conversation has ended; it takes no more messages."""

    code = "conversation_closed"


class StoreError(CalmlineError):
    """The database cannot be reached, is not migrated, or refused a write."""

    code = "store_error"


class NotifyError(CalmlineError):
    """A notification channel is misconfigured or a delivery failed."""

    code = "notify_failed"


class UnknownIncident(StoreError):
    """No incident has this id."""

    code = "incident_unknown"


class UnknownTrainee(StoreError):
    """No trainee has this name (no session of theirs was stored)."""

    code = "trainee_unknown"


class UnknownKey(StoreError):
    """No API key has this prefix."""

    code = "key_unknown"


class UnknownPractice(StoreError):
    """No practice session has this id."""

    code = "practice_unknown"


class PracticeConflict(StoreError):
    """A practice session changed since the caller read it (another reply came first),
    or it has already finished."""

    code = "practice_conflict"


class SettingsError(CalmlineError):
    """A settings file or variable has a value calmline cannot use."""

    code = "settings_invalid"


class ModelError(CalmlineError):
    """A shipped or given model file is missing, unreadable, or made for another calmline."""

    code = "model_invalid"


class TrainingDataError(ModelError):
    """The data given to ``python -m calmline.models.train`` is missing or malformed."""

    code = "training_data_invalid"
