"""D6: an incident keeps what the customer raised, the protocol steps and who was involved,
with contact details redacted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import calmline
from calmline.coach.events import Incident, ProtocolStep
from calmline.coach.incidents import CustomerTurn, build_incident, key_points

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
MESSAGES = [
    "Hi, my parcel was due last Tuesday and the tracking has not moved in nine days. "
    "Email me at dana.w@example.com or call 07700 900123.",
    "You people are USELESS. I want a full refund of £120 or I will sue.",
    "You stupid idiot.",
    "SHUT UP, I am leaving one-star reviews everywhere",
]


def turns() -> list[CustomerTurn]:
    return [
        CustomerTurn(f"c{i}", T0 + timedelta(minutes=i), text, calmline.analyze_message(text))
        for i, text in enumerate(MESSAGES)
    ]


def incident(reason: str = "protocol_end") -> Incident:
    steps = [
        ProtocolStep("D1", "made_aware", T0 + timedelta(minutes=5), "a1", "Are you aware..."),
        ProtocolStep("D3", "warned", T0 + timedelta(minutes=6), "a2", "If this goes on..."),
    ]
    return build_incident(
        conversation_id="conv-1",
        customer_name="Dana Whitfield",
        customer_id="C-9",
        agent="Sam",
        reason=reason,
        opened_at=T0,
        closed_at=T0 + timedelta(minutes=9),
        turns=turns(),
        timeline=steps,
        steps_done={"D1": True, "D3": True},
    )


def test_key_points_keep_the_complaint_demands_and_threats_but_not_bare_insults() -> None:
    points = key_points(turns())
    quotes = [p.quote for p in points]
    assert quotes[0].startswith("Hi, my parcel was due last Tuesday")
    assert any(
        "full refund" in q and "demand" in p.signals for q, p in zip(quotes, points, strict=True)
    )
    assert any("one-star reviews" in q for q in quotes)
    assert not any(q == "You stupid idiot." for q in quotes)


def test_contact_details_are_redacted_everywhere() -> None:
    record = incident()
    text = str(record.to_dict())
    assert "example.com" not in text and "07700" not in text
    assert "[email]" in text and "[phone]" in text


def test_demands_threats_and_steps_are_recorded() -> None:
    record = incident()
    assert any(d.startswith("refund of 120.00 GBP") for d in record.demands)
    assert {t.split(":")[0] for t in record.threats} == {"threat.legal", "threat.public"}
    assert record.steps_done == {"D1": True, "D2": False, "D3": True, "D4": False, "D5": False}
    assert "Steps not taken: D2, D4, D5." in record.note
    assert "Dana Whitfield" in record.note and "Sam" in record.note


def test_summary_for_the_next_agent_and_exports_without_names() -> None:
    record = incident("safety_threat")
    assert record.summary().startswith("Dana Whitfield's last conversation (2026-11-30)")
    assert "threat to someone's safety" in record.summary()
    exported = record.to_dict(redact_names=True)
    assert exported["customer_name"] is None and exported["summary"] is None
    assert "Steps not taken" not in record.note  # a safety end needs no protocol
