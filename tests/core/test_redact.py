"""Emails and phone numbers are redacted from stored text; ordinary numbers are left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from calmline.core.redact import redact_contacts, redact_names

CASES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent.parent / "cases" / "redaction.yml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES["redact"], ids=lambda c: c["text"][:40])
def test_contacts_are_redacted(case: dict[str, str]) -> None:
    assert redact_contacts(case["text"]) == case["expected"]


@pytest.mark.parametrize("text", CASES["keep"])
def test_other_numbers_are_kept(text: str) -> None:
    assert redact_contacts(text) == text


@pytest.mark.parametrize("case", CASES["names"], ids=lambda c: c["text"][:40])
def test_names_are_redacted_as_whole_words(case: dict[str, Any]) -> None:
    assert redact_names(case["text"], tuple(case["names"])) == case["expected"]


@pytest.mark.parametrize(
    "hostile", ["a" * 100_000 + "@", "1 " * 50_000, "a." * 50_000, "+(" * 50_000]
)
def test_hostile_input_without_contacts_comes_back_unchanged(hostile: str) -> None:
    # RE2 keeps this linear (benchmarks/adversarial.py measures it); nothing may be lost.
    assert redact_contacts(hostile) == hostile
