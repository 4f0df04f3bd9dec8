"""The playbooks an admin put in force through the HTTP service, newest last.

The service starts with the newest saved version (when there is one) instead of the playbook
file it was given, so a replacement survives a restart; older versions stay as a record of
who changed what and when. The text is stored as given (YAML); checking it is the caller's
job, before saving.
"""

from __future__ import annotations

import sqlalchemy as sa

from calmline.errors import InputError
from calmline.store import models
from calmline.store.db import Store
from calmline.store.models import NAME_CHARS, NOTE_CHARS
from calmline.store.queries import check_text, unstorable


class PlaybookStore(Store):
    """Saved playbook versions in the calmline database."""

    def save(self, text: str, created_by: str, note: str | None = None) -> int:
        """Store ``text`` as the newest version; returns its id."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("playbook: expected the playbook's YAML text, got nothing")
        problem = unstorable(text)
        if problem:
            raise InputError(f"playbook: the text {problem}")
        created_by = check_text(created_by, "created by", NAME_CHARS)
        note = None if note is None else check_text(note, "note", NOTE_CHARS)
        with self._database.writing(f"saving a playbook version by {created_by!r}") as session:
            row = models.PlaybookVersion(
                text=text, created_at=self._clock(), created_by=created_by, note=note
            )
            session.add(row)
            session.flush()
            return row.id

    def latest(self) -> tuple[int, str] | None:
        """The newest version's id and text; None when none was ever saved."""
        with self._database.reading("reading the newest playbook version") as session:
            found = session.execute(
                sa.select(models.PlaybookVersion.id, models.PlaybookVersion.text)
                .order_by(models.PlaybookVersion.id.desc())
                .limit(1)
            ).first()
        return None if found is None else (found.id, found.text)
