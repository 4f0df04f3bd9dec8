"""Scoring as one function over pandas DataFrames, for engines that bring their own scheduler.

:func:`score_frame` takes the messages of whole conversations (one row per message) and gives
one row per conversation, the same scorecard :class:`~calmline.qa.score.Scorer` makes. It is
the function the local and Dask engines run per batch, and the one to hand to Spark or Ray.

Input columns (one row per message):

=================  ========  ===========================================================
column             needed    what
=================  ========  ===========================================================
conversation_id    yes       groups the rows into conversations (kept as text)
role               yes       ``customer`` or ``agent``
text               yes       the message
timestamp          no        when it was sent: datetime, ISO 8601 or epoch seconds (UTC if no zone)
position           no        the message's place in its conversation (rows are sorted by it)
author             no        the agent's (or customer's) name or id
agent, team        no        the conversation's agent and team (the first value given)
customer_name      no        the customer's name (so it is not read as a swear word)
source, format     no        where the conversation came from (for reports)
=================  ========  ===========================================================

Rows of one conversation are scored in the order given, or by ``position`` when present.
Spark's ``applyInPandas`` does not keep row order within a group: give ``position`` (or
``timestamp``, which is then used to sort) there. A row that cannot be used (an unknown role, a
missing text, a timestamp that does not parse) is left out of its conversation and said in the
conversation's ``problems`` column: nothing is dropped without a word.

Output columns (one row per conversation, in order of first appearance): those of
:data:`OUTPUT_COLUMNS`; ``protocol_steps`` is the steps joined by commas, ``hits``, ``problems``
and ``extra`` are JSON text (``hits``: a list of objects with principle, source, followed,
quote, message, severity). Quotes are the agent's own words: redact them before export.

Spark (the schema string is :data:`SPARK_SCHEMA`)::

    from calmline.qa.batch import SPARK_SCHEMA, score_frame

    scores = messages.groupBy("conversation_id").applyInPandas(
        lambda pdf: score_frame(pdf, playbook="/opt/playbooks/team.yaml"), schema=SPARK_SCHEMA
    )

Ray Data (a batch must hold whole conversations: group first)::

    import ray
    from calmline.qa.batch import score_frame

    ds = ray.data.read_parquet("messages.parquet")
    scores = ds.groupby("conversation_id").map_groups(score_frame, batch_format="pandas")
    # or, when each file already holds whole conversations:
    scores = ds.map_batches(score_frame, batch_format="pandas", batch_size=None)

The engine is built once per process (about half a second) and kept for the next batch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]  # no stubs in the test extra

from calmline.core.types import Role
from calmline.errors import InputError
from calmline.playbook.schema import Playbook
from calmline.qa.score import scorer_for
from calmline.qa.types import Conversation, ConversationScore, Message

REQUIRED_COLUMNS = ("conversation_id", "role", "text")
OUTPUT_COLUMNS = (
    "conversation_id",
    "source",
    "format",
    "agent",
    "team",
    "week",
    "started_at",
    "customer_messages",
    "agent_messages",
    "followed",
    "violated",
    "anger_start",
    "anger_end",
    "anger_peak",
    "abuse",
    "protocol_needed",
    "protocol_followed",
    "protocol_steps",
    "outcome",
    "score",
    "hits",
    "problems",
    "extra",
)
#: The output as a Spark DDL schema, for ``applyInPandas``.
SPARK_SCHEMA = (
    "conversation_id string, source string, format string, agent string, team string, "
    "week string, started_at timestamp, customer_messages long, agent_messages long, "
    "followed long, violated long, anger_start double, anger_end double, anger_peak double, "
    "abuse string, protocol_needed boolean, protocol_followed boolean, protocol_steps string, "
    "outcome string, score double, hits string, problems string, extra string"
)
_ROLES = {r.value: r for r in Role}
_TEXT_COLUMNS = (
    "conversation_id",
    "source",
    "format",
    "agent",
    "team",
    "week",
    "abuse",
    "protocol_steps",
    "outcome",
    "hits",
    "problems",
    "extra",
)


def score_frame(
    messages: pd.DataFrame,
    *,
    playbook: str | Path | Playbook | None = None,
    models: bool | None = None,
) -> pd.DataFrame:
    """One scorecard row per conversation in ``messages`` (see the module's docstring).

    ``playbook`` is a playbook file or folder (None: the default one) and ``models`` whether
    the shipped model adds its evidence (None: the playbook's ``models.enabled``). A frame
    without the needed columns raises :class:`~calmline.errors.InputError`.
    """
    scorer = scorer_for(playbook, models)
    conversations, problems = conversations_of_frame(messages)
    scores = [scorer.score(conv) for conv in conversations]
    return frame_of_scores(scores, problems)


def conversations_of_frame(
    messages: pd.DataFrame,
) -> tuple[list[Conversation], dict[str, list[str]]]:
    """The conversations of a message frame, and the rows left out of each (by id)."""
    if not isinstance(messages, pd.DataFrame):
        raise InputError(f"score_frame needs a pandas DataFrame, got {type(messages).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in messages.columns]
    if missing:
        raise InputError(
            f"the message frame has no column {', '.join(missing)} "
            f"(columns: {', '.join(map(str, messages.columns))})"
        )
    frame = messages.reset_index(drop=True)
    if "position" in frame.columns:
        frame = frame.sort_values(["position"], kind="stable")
    elif "timestamp" in frame.columns:
        order = _parse_times(frame["timestamp"]).reset_index(drop=True)
        frame = frame.iloc[order.sort_values(kind="stable", na_position="first").index]
    frame = frame.reset_index(drop=True)
    has = set(frame.columns)
    rows: dict[str, list[Message]] = {}
    meta: dict[str, dict[str, str | None]] = {}
    problems: dict[str, list[str]] = {}
    times = _parse_times(frame["timestamp"]) if "timestamp" in has else None
    for i, row in enumerate(frame.to_dict("records")):
        cid = _text(row.get("conversation_id"))
        if cid is None:
            raise InputError(f"row {i}: conversation_id: missing")
        msgs = rows.setdefault(cid, [])
        info = meta.setdefault(cid, {})
        for key in ("agent", "team", "customer_name", "source", "format"):
            if info.get(key) is None and key in has:
                info[key] = _text(row.get(key))
        role = _ROLES.get(str(row.get("role", "")).strip().lower())
        text = row.get("text")
        where = f"row {row.get('position', i) if 'position' in has else i}"
        if role is None:
            problems.setdefault(cid, []).append(
                f"{where}: role: {str(row.get('role'))[:40]!r} is not customer or agent"
            )
            continue
        if not isinstance(text, str):
            problems.setdefault(cid, []).append(f"{where}: text: missing or not text")
            continue
        at: datetime | None = None
        if times is not None:
            raw = row.get("timestamp")
            stamp = times.iloc[i]
            if not _missing(stamp):
                at = stamp.to_pydatetime()
            elif raw is not None and not _missing(raw):
                problems.setdefault(cid, []).append(
                    f"{where}: timestamp: {str(raw)[:40]!r} is not a date-time"
                )
        msgs.append(Message(role, text, at, _text(row.get("author"))))
    conversations = [
        Conversation(
            id=cid,
            messages=tuple(msgs),
            source=meta[cid].get("source") or "frame",
            record=cid,
            format=meta[cid].get("format") or "frame",
            agent=meta[cid].get("agent"),
            team=meta[cid].get("team"),
            customer_name=meta[cid].get("customer_name"),
        )
        for cid, msgs in rows.items()
    ]
    return conversations, problems


def frame_of_scores(
    scores: Iterable[ConversationScore], problems: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """Scorecards as a frame of :data:`OUTPUT_COLUMNS`."""
    records = [score_record(s, (problems or {}).get(s.conversation_id, ())) for s in scores]
    frame = pd.DataFrame.from_records(records, columns=list(OUTPUT_COLUMNS))
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    # one dtype whatever the values (a batch where no conversation has a team included)
    for column in _TEXT_COLUMNS:
        frame[column] = frame[column].astype("string")
    for column in ("customer_messages", "agent_messages", "followed", "violated"):
        frame[column] = frame[column].astype("int64")
    for column in ("anger_start", "anger_end", "anger_peak", "score"):
        frame[column] = frame[column].astype("float64")
    frame["protocol_needed"] = frame["protocol_needed"].astype("bool")
    frame["protocol_followed"] = frame["protocol_followed"].astype("boolean")
    return frame


def score_record(score: ConversationScore, problems: Iterable[str] = ()) -> dict[str, Any]:
    """One scorecard as a flat record (the row :func:`frame_of_scores` makes of it)."""
    return {
        **score.fields(),
        "followed": sum(1 for h in score.hits if h.followed),
        "violated": sum(1 for h in score.hits if not h.followed),
        "protocol_steps": ",".join(score.protocol_steps),
        "hits": json.dumps([h.to_dict() for h in score.hits], ensure_ascii=False),
        "problems": json.dumps(list(problems), ensure_ascii=False),
        # the customer's name rides in extra only for redaction; it is not an output
        "extra": json.dumps(
            {k: v for k, v in score.extra.items() if k != "customer_name"},
            ensure_ascii=False,
            default=str,
        ),
    }


def _parse_times(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return pd.to_datetime(column, unit="s", utc=True, errors="coerce")
    return pd.to_datetime(column, utc=True, errors="coerce", format="mixed")


def _text(value: object) -> str | None:
    if value is None or _missing(value):
        return None
    text = str(value).strip()
    return text or None


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)
