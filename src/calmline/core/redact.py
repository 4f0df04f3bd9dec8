"""Redaction of contact details (emails, phone numbers) in text that is stored or exported.

Customer names, emails and phone numbers are personal data. Incidents and exports keep what a
manager needs and replace contact details with a marker. The patterns run on RE2, so they
stay linear-time on any input.
"""

from __future__ import annotations

import re2

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"

_EMAIL = re2.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
#: a run of digits with the separators phone numbers are written with
_PHONE = re2.compile(r"\+?\(?\d[\d \-().]{6,}\d")
#: ISO dates and times are digit runs too, but not phone numbers
_DATE = re2.compile(r"^\(?\d{4}-\d{2}-\d{2}(?:$|[ T])")
_MIN_PHONE_DIGITS = 9
_MAX_PHONE_DIGITS = 15


def _is_phone(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if not _MIN_PHONE_DIGITS <= digits <= _MAX_PHONE_DIGITS:
        return False
    return not _DATE.match(candidate.strip())


def contact_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, marker) of every email address and phone number, in order."""
    found = [(m.start(), m.end(), EMAIL_MARK) for m in _EMAIL.finditer(text)]
    emails = list(found)
    for m in _PHONE.finditer(text):
        if _is_phone(m.group(0)) and not any(s < m.end() and m.start() < e for s, e, _ in emails):
            found.append((m.start(), m.end(), PHONE_MARK))
    return sorted(found)


def redact_contacts(text: str) -> str:
    """``text`` with email addresses and phone numbers replaced by ``[email]`` / ``[phone]``."""
    out: list[str] = []
    last = 0
    for start, end, mark in contact_spans(text):
        out.append(text[last:start])
        out.append(mark)
        last = end
    out.append(text[last:])
    return "".join(out)


def redact_names(text: str, names: tuple[str, ...]) -> str:
    """``text`` with each of ``names`` (whole words, any case) replaced by ``[name]``."""
    for name in names:
        name = name.strip()
        if not name:
            continue
        text = re2.sub(r"(?i)\b" + re2.escape(name) + r"\b", "[name]", text)
    return text
