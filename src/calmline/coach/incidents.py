"""D6-D7: the written record of a conversation that ended through the protocol or for safety.

An incident keeps what the next agent and the line manager need: who, what the customer raised
(their complaint in their own words, demands, threats), the protocol steps with times and
quotes, and whether each step was taken. Contact details inside quotes are redacted before an
incident exists, so nothing downstream can store them by mistake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from calmline.coach.events import Incident, KeyPoint, ProtocolStep
from calmline.core.redact import contact_spans, redact_contacts
from calmline.core.text import TextView
from calmline.core.types import MessageAnalysis, Signal

#: Signal types that make a sentence worth keeping as a key point.
KEY_SIGNALS = frozenset(
    {
        "demand",
        "threat.legal",
        "threat.public",
        "threat.churn",
        "threat.safety",
        "repeat_contact",
        "manager_request",
        "loyalty",
        "excuse",
    }
)
#: Signals that are abuse, not content: a sentence made only of these is not a key point.
ABUSE_SIGNALS = frozenset({"insult", "profanity", "shouting", "venting"})
MAX_KEY_POINTS = 6
QUOTE_CHARS = 200
PROTOCOL_STEPS = ("D1", "D2", "D3", "D4", "D5")

_REASON_WORDS = {
    "protocol_end": "ended through the boundary protocol",
    "safety_threat": "ended after a threat to someone's safety",
    "premature_end": "ended before the warnings the playbook asks for were given",
}
_STEP_WORDS = {
    "D1": "made the customer aware",
    "D2": "asked them to stop",
    "D3": "warned them",
    "D4": "repeated the warning",
    "D5": "invited them back and ended",
    "calmed": "customer calmed down; back to normal",
    "safety": "threat to safety; manager alerted",
    "end": "conversation ended",
}


@dataclass(frozen=True, slots=True)
class CustomerTurn:
    """A customer message as the coach read it."""

    event_id: str
    at: datetime
    text: str
    analysis: MessageAnalysis


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A short, redacted, single-line quote."""
    flat = " ".join(redact_contacts(text).split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _content_words(view: TextView, span: tuple[int, int], abuse: Sequence[Signal]) -> int:
    """Words of a sentence outside abusive spans."""
    count = 0
    for i in view.tokens_in(span):
        start, end = view.starts[i], view.ends[i]
        if any(start < s.span[1] and s.span[0] < end for s in abuse):
            continue
        if any(c.isalpha() for c in view.norms[i]):
            count += 1
    return count


def _whole_contacts(
    sentences: Sequence[tuple[int, int]], contacts: Sequence[tuple[int, int, str]]
) -> list[tuple[int, int]]:
    """Sentences joined where a boundary falls inside an email address or phone number."""
    out: list[tuple[int, int]] = []
    c = 0  # both are in text order: one sweep
    for start, end in sentences:
        while c < len(contacts) and contacts[c][1] <= start:
            c += 1
        if out and c < len(contacts) and contacts[c][0] < start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def key_points(turns: Iterable[CustomerTurn], limit: int = MAX_KEY_POINTS) -> tuple[KeyPoint, ...]:
    """What the customer raised: their opening complaint and every sentence with a key signal."""
    points: list[KeyPoint] = []
    seen: set[str] = set()
    for n, turn in enumerate(turns):
        view = TextView.read(turn.text)
        abuse = [s for s in turn.analysis.signals if s.type in ABUSE_SIGNALS]
        for span in _whole_contacts(view.sentences(), contact_spans(turn.text)):
            inside = [s for s in turn.analysis.signals if _overlaps(s.span, span)]
            kinds = tuple(sorted({s.type for s in inside if s.type in KEY_SIGNALS}))
            opening = n == 0 and _content_words(view, span, abuse) >= 3
            if not kinds and not opening:
                continue
            text = quote(turn.text[span[0] : span[1]])
            key = text.lower()
            if not text or key in seen:
                continue
            seen.add(key)
            points.append(KeyPoint(quote=text, signals=kinds, at=turn.at, event_id=turn.event_id))
    if len(points) <= limit:
        return tuple(points)
    # keep the opening complaint and the latest points: what the next agent will face
    openers = [p for p in points if not p.signals][:1]
    rest = [p for p in points if p not in openers]
    return tuple(openers + rest[-(limit - len(openers)) :])


def describe_demand(signal: Signal) -> str:
    """'refund of 120 GBP (100%)' from a demand signal's detail, else its quote."""
    detail: Mapping[str, object] = signal.detail
    kind = str(detail.get("kind") or "demand")
    parts = [kind]
    amount, currency, percent = detail.get("amount"), detail.get("currency"), detail.get("percent")
    if isinstance(amount, int | float):
        parts.append(f"of {amount:,.2f} {currency or ''}".rstrip())
    if isinstance(percent, int | float):
        parts.append(f"({percent:g}%)")
    return f"{' '.join(parts)}: \u201c{quote(signal.text, 120)}\u201d"


def describe_threat(signal: Signal) -> str:
    return f"{signal.type}: \u201c{quote(signal.text, 120)}\u201d"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def write_note(
    *,
    customer: str,
    agent: str | None,
    reason: str,
    opened_at: datetime,
    closed_at: datetime,
    timeline: Sequence[ProtocolStep],
    steps_done: Mapping[str, bool],
    points: Sequence[KeyPoint],
    demands: Sequence[str],
    threats: Sequence[str],
) -> str:
    """The D6 note: plain text a manager can read in half a minute."""
    lines = [
        f"Customer: {customer}. Agent: {agent or 'not recorded'}.",
        f"The conversation ({_when(opened_at)} to {_when(closed_at)}) was "
        f"{_REASON_WORDS.get(reason, reason)}.",
    ]
    if points:
        lines.append("What the customer raised:")
        lines.extend(f"- {p.quote}" for p in points)
    if demands:
        lines.append("Demands: " + "; ".join(demands) + ".")
    if threats:
        lines.append("Threats: " + "; ".join(threats) + ".")
    if timeline:
        lines.append("Protocol steps:")
        for step in timeline:
            flag = "" if step.proper else " (out of order)"
            what = _STEP_WORDS.get(step.step, step.step)
            lines.append(f"- {_when(step.at)} {step.step} {what}{flag}: \u201c{step.quote}\u201d")
    missing = [s for s in PROTOCOL_STEPS if not steps_done.get(s, False)]
    if reason != "safety_threat" and missing:
        lines.append("Steps not taken: " + ", ".join(missing) + ".")
    return "\n".join(lines)


def build_incident(
    *,
    conversation_id: str,
    customer_name: str | None,
    customer_id: str | None,
    agent: str | None,
    reason: str,
    opened_at: datetime,
    closed_at: datetime,
    turns: Sequence[CustomerTurn],
    timeline: Sequence[ProtocolStep],
    steps_done: Mapping[str, bool],
) -> Incident:
    """Everything D6 asks for, from what the coach saw."""
    points = key_points(turns)
    demands: list[str] = []
    threats: list[str] = []
    for turn in turns:
        for signal in turn.analysis.signals:
            if signal.type == "demand":
                demands.append(describe_demand(signal))
            elif signal.type.startswith("threat."):
                threats.append(describe_threat(signal))
    demands = list(dict.fromkeys(demands))
    threats = list(dict.fromkeys(threats))
    done = {step: bool(steps_done.get(step, False)) for step in PROTOCOL_STEPS}
    customer = customer_name or customer_id or "unknown customer"
    note = write_note(
        customer=customer,
        agent=agent,
        reason=reason,
        opened_at=opened_at,
        closed_at=closed_at,
        timeline=timeline,
        steps_done=done,
        points=points,
        demands=demands,
        threats=threats,
    )
    return Incident(
        conversation_id=conversation_id,
        customer_name=customer_name,
        customer_id=customer_id,
        agent=agent,
        reason=reason,
        opened_at=opened_at,
        closed_at=closed_at,
        key_points=points,
        demands=tuple(demands),
        threats=tuple(threats),
        timeline=tuple(timeline),
        steps_done=done,
        note=note,
    )
