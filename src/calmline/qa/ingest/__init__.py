"""Reading support archives (calmline's own transcripts, Zendesk, Intercom, Amazon Transcribe
and Contact Lens, TWCS) as :class:`~calmline.qa.types.Conversation` values.

Every reader streams: a conversation is handed on as soon as it is complete, and a bad record is
an :class:`~calmline.qa.types.IngestProblem` naming the file, the record and the field, after
which reading goes on. Only a file that cannot be read at all raises
:class:`~calmline.errors.ArchiveError`. The readers keep no state between calls, so
:func:`read_archive` runs the same in a worker process (multiprocessing, Dask).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from calmline.errors import ArchiveError
from calmline.qa.ingest.calmline_transcript import read_transcript
from calmline.qa.ingest.detect import FORMATS, detect_format
from calmline.qa.ingest.fields import MAX_RECORD_BYTES
from calmline.qa.ingest.intercom import read_intercom
from calmline.qa.ingest.transcribe import read_transcribe
from calmline.qa.ingest.twcs import read_twcs
from calmline.qa.ingest.zendesk import read_zendesk
from calmline.qa.types import Conversation, IngestProblem


def read_archive(
    path: str | Path,
    *,
    input_format: str | None = None,
    max_chars: int = 20_000,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[Conversation | IngestProblem]:
    """The conversations of one archive file, in file order, with a problem per bad record.

    ``input_format`` forces one of :data:`FORMATS` (else it is detected); ``max_chars`` is the
    playbook's ``limits.max_message_chars`` (a longer message is skipped with a problem, never
    cut); ``max_record_bytes`` bounds a ticket, conversation, call or line read into memory.
    """
    name = str(path)
    if input_format is None:
        fmt = detect_format(path)
    elif input_format in FORMATS:
        fmt = input_format
    else:
        raise ArchiveError(
            f"unknown archive format {input_format!r}; use one of {', '.join(FORMATS)}"
        )
    if not Path(path).is_file():
        detect_format(path)  # the same clear error for a missing file or a folder
    if fmt in ("calmline-jsonl", "calmline-csv"):
        return read_transcript(path, name, fmt=fmt, max_chars=max_chars)
    if fmt == "twcs":
        return read_twcs(path, name, max_chars=max_chars, max_line_chars=max_record_bytes)
    readers = {"zendesk": read_zendesk, "intercom": read_intercom, "transcribe": read_transcribe}
    return readers[fmt](path, name, max_chars=max_chars, max_record_bytes=max_record_bytes)


__all__ = ["FORMATS", "MAX_RECORD_BYTES", "detect_format", "read_archive"]
