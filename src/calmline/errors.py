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
