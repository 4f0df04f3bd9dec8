"""Stored guidance and incidents back into values: the inverse of their ``to_dict()``.

An event row keeps the guidance it produced as ``Guidance.to_dict()``; when a client sends the
same event again, the service answers with that stored guidance rather than coaching it anew
(the playbook may have changed since). For every value ``g`` the coach makes,
``guidance_from_dict(json(g.to_dict())).to_dict()`` is the same JSON; a test holds this.
What ``to_dict()`` leaves out cannot come back: a rewrite's fallback wording, and scores
beyond three decimals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from calmline.coach.events import (
    CustomerState,
    EventKind,
    Guidance,
    Incident,
    KeyPoint,
    NextStep,
    PacingAdvice,
    ProtocolStep,
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
    Span,
)
from calmline.errors import StoreError


def guidance_from_dict(data: Mapping[str, Any], *, text: str = "") -> Guidance:
    """The Guidance whose ``to_dict()`` gave ``data``; ``text`` is the event's own text."""
    try:
        return _guidance(data, text)
    except (KeyError, TypeError, ValueError) as exc:
        where = f"event {data.get('event_id')!r}" if isinstance(data, Mapping) else "guidance"
        raise StoreError(f"{where}: the stored guidance cannot be read ({exc!r})") from None


def incident_from_dict(data: Mapping[str, Any]) -> Incident:
    """The Incident whose ``to_dict()`` gave ``data``."""
    try:
        return _incident(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"the stored incident cannot be read ({exc!r})") from None


def _guidance(data: Mapping[str, Any], text: str) -> Guidance:
    analysis = data.get("analysis")
    next_step = data.get("next_step")
    incident = data.get("incident")
    return Guidance(
        conversation_id=data["conversation_id"],
        event_id=data["event_id"],
        event_kind=EventKind(data["event_kind"]),
        state=CustomerState(data["state"]),
        trend=Trend(data["trend"]),
        anger=float(data["anger"]),
        protocol_stage=data["protocol_stage"],
        next_step=NextStep(**next_step) if next_step else None,
        pacing=tuple(PacingAdvice(**p) for p in data.get("pacing", ())),
        findings=tuple(_finding(f) for f in data.get("findings", ())),
        credits=tuple(
            Credit(c["behaviour"], c["principle"], _span(c["span"]), c["text"])
            for c in data.get("credits", ())
        ),
        analysis=_analysis(analysis, text) if analysis else None,
        fixed=data.get("fixed"),
        notify_manager=bool(data.get("notify_manager", False)),
        incident=_incident(incident) if incident else None,
        history=data.get("history"),
        notes=tuple(data.get("notes", ())),
    )


def _span(value: Sequence[int]) -> Span:
    start, end = value
    return (int(start), int(end))


def _finding(data: Mapping[str, Any]) -> Finding:
    rewrite = None
    if data.get("rewrite") is not None:
        rewrite = Rewrite(_span(data["rewrite_span"]), data["rewrite"])
    return Finding(
        rule=data["rule"],
        principle=data["principle"],
        severity=Severity(data["severity"]),
        span=_span(data["span"]),
        message=data["message"],
        text=data.get("text", ""),
        evidence=tuple(data.get("evidence", ())),
        rewrite=rewrite,
    )


def _analysis(data: Mapping[str, Any], text: str) -> MessageAnalysis:
    signals = tuple(
        Signal(
            type=s["type"],
            principle=s["principle"],
            span=_span(s["span"]),
            score=float(s["score"]),
            explanation=s["explanation"],
            text=s.get("text", ""),
            evidence=tuple(s.get("evidence", ())),
            detail=dict(s.get("detail", {})),
        )
        for s in data.get("signals", ())
    )
    return MessageAnalysis(text, signals, float(data["anger"]), AbuseLevel(data["abuse"]))


def _incident(data: Mapping[str, Any]) -> Incident:
    return Incident(
        conversation_id=data["conversation_id"],
        customer_name=data.get("customer_name"),
        customer_id=data.get("customer_id"),
        agent=data.get("agent"),
        reason=data["reason"],
        opened_at=datetime.fromisoformat(data["opened_at"]),
        closed_at=datetime.fromisoformat(data["closed_at"]),
        key_points=tuple(
            KeyPoint(
                quote=p["quote"],
                signals=tuple(p.get("signals", ())),
                at=datetime.fromisoformat(p["at"]),
                event_id=p["event_id"],
            )
            for p in data.get("key_points", ())
        ),
        demands=tuple(data.get("demands", ())),
        threats=tuple(data.get("threats", ())),
        timeline=tuple(
            ProtocolStep(
                step=s["step"],
                stage=s["stage"],
                at=datetime.fromisoformat(s["at"]),
                event_id=s["event_id"],
                quote=s["quote"],
                proper=bool(s.get("proper", True)),
            )
            for s in data.get("timeline", ())
        ),
        steps_done={str(k): bool(v) for k, v in data.get("steps_done", {}).items()},
        note=data.get("note", ""),
    )
