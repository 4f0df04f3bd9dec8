"""Stored values: incidents read back as written, guidance decoded from JSON, names redacted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from calmline.coach.events import (
    CustomerState,
    EventKind,
    Guidance,
    NextStep,
    PacingAdvice,
    Trend,
)
from calmline.core.types import (
    AbuseLevel,
    Credit,
    Finding,
    MessageAnalysis,
    Rewrite,
    Severity,
    Signal,
)
from calmline.errors import StoreError
from calmline.store import queries
from calmline.store.decode import guidance_from_dict, incident_from_dict
from calmline.store.records import name_variants, scrub_names
from tests.store.helpers import sample_incident, store_incident


def json_of(value: Any) -> Any:
    """What a JSON column gives back."""
    return json.loads(json.dumps(value))


def full_guidance() -> Guidance:
    """A guidance with every field set, as a customer message closing an incident."""
    text = "You are USELESS, I want a full refund of £120"
    return Guidance(
        conversation_id="chat-1",
        event_id="e7",
        event_kind=EventKind.CUSTOMER_MESSAGE,
        state=CustomerState.ABUSIVE,
        trend=Trend.ESCALATING,
        anger=0.8412,
        protocol_stage="warned",
        next_step=NextStep("warn_again", "D4", "Dana, if this goes on I will end the chat.", "why"),
        pacing=(PacingAdvice("hold", "A3", "Wait before you answer.", hold_seconds=2.0),),
        findings=(
            Finding(
                "B3",
                "B3",
                Severity.WARN,
                (0, 9),
                "Condescending.",
                "Calm down",
                ("calm down",),
                Rewrite((0, 9), "I understand"),
            ),
            Finding("B5", "B5", Severity.INFO, (0, 0), "No apology.", ""),
        ),
        credits=(Credit("empathy", "C1", (10, 20), "I hear you"),),
        analysis=MessageAnalysis(
            text,
            (
                Signal("insult", "B7", (0, 15), 0.91234, "name-calling", "You are USELESS"),
                Signal(
                    "demand",
                    "E1",
                    (17, 45),
                    0.7,
                    "a demand",
                    "I want a full refund of £120",
                    ("full refund",),
                    {"amount": 120.0, "currency": "GBP", "share": [1, 2]},
                ),
            ),
            0.8412,
            AbuseLevel.ABUSIVE,
        ),
        fixed="I understand.",
        notify_manager=True,
        incident=sample_incident(),
        history="Dana's last conversation (2026-11-01) was ended through the boundary protocol.",
        notes=("The customer has calmed down.",),
    )


def test_guidance_comes_back_from_its_json_unchanged() -> None:
    guidance = full_guidance()
    stored = json_of(guidance.to_dict())
    assert analysis_text(guidance) not in json.dumps(stored)  # the text is the event's, not here
    decoded = guidance_from_dict(stored, text=analysis_text(guidance))
    assert json_of(decoded.to_dict()) == stored
    assert decoded.analysis is not None and decoded.analysis.text == analysis_text(guidance)
    assert decoded.incident == guidance.incident
    assert decoded.blocked == guidance.blocked


def analysis_text(guidance: Guidance) -> str:
    assert guidance.analysis is not None
    return guidance.analysis.text


def test_a_minimal_guidance_comes_back_too() -> None:
    guidance = Guidance(
        "c", "e1", EventKind.CONVERSATION_END, CustomerState.CALM, Trend.STEADY, 0.0, "none", None
    )
    stored = json_of(guidance.to_dict())
    assert json_of(guidance_from_dict(stored).to_dict()) == stored


def test_unreadable_stored_guidance_is_a_store_error() -> None:
    stored = json_of(full_guidance().to_dict())
    stored["state"] = "furious"
    with pytest.raises(StoreError, match="event 'e7': the stored guidance cannot be read"):
        guidance_from_dict(stored)


def test_an_incident_comes_back_from_its_json_unchanged() -> None:
    incident = sample_incident()
    assert incident_from_dict(json_of(incident.to_dict())) == incident


def test_a_stored_incident_reads_back_as_written(sessions: sessionmaker[Session]) -> None:
    incident = sample_incident()
    incident_id = store_incident(sessions, incident)
    with sessions() as session:
        stored = queries.get_incident(session, incident_id)
    assert stored.incident() == incident
    assert stored.summary == incident.summary()
    assert not stored.acknowledged
    exported = stored.to_dict()
    assert exported["id"] == incident_id
    assert exported["customer_name"] == "Dana Whitfield"
    assert exported["timeline"] == json_of(incident.to_dict())["timeline"]


@pytest.mark.parametrize(
    ("names", "variants"),
    [
        (("Dana Whitfield",), ("Dana Whitfield", "Whitfield", "Dana")),
        (("  Ana  de   Souza ",), ("Ana de Souza", "Souza", "Ana")),
        (("Mary-Jane O'Neil", None, ""), ("Mary-Jane O'Neil", "O'Neil", "Jane", "Mary")),
        ((None,), ()),
    ],
)
def test_name_variants(names: tuple[str | None, ...], variants: tuple[str, ...]) -> None:
    assert name_variants(*names) == variants


def test_scrub_names_reaches_every_string_and_leaves_other_values() -> None:
    value = {
        "note": "Dana Whitfield shouted; Sam ended it.",
        "steps": [{"quote": "dana, please stop", "proper": True, "n": 2}],
        "none": None,
        "words": ("Sandwich", "Danas"),  # other words that start like a name stay
    }
    assert scrub_names(value, name_variants("Dana Whitfield", "Sam")) == {
        "note": "[name] shouted; [name] ended it.",
        "steps": [{"quote": "[name], please stop", "proper": True, "n": 2}],
        "none": None,
        "words": ["Sandwich", "Danas"],
    }
