"""score_frame: a DataFrame of messages in, one scorecard row per conversation out, the same
as the Scorer's."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from calmline import load_engine
from calmline.errors import InputError
from calmline.qa.batch import OUTPUT_COLUMNS, SPARK_SCHEMA, frame_of_scores, score_frame
from calmline.qa.score import Scorer
from tests.qa.scripted import conversations


def message_frame() -> pd.DataFrame:
    rows = []
    for conv in conversations():
        for i, m in enumerate(conv.messages):
            rows.append(
                {
                    "conversation_id": conv.id,
                    "position": i,
                    "role": m.role.value,
                    "text": m.text,
                    "timestamp": m.at.isoformat() if m.at else None,
                    "author": m.author,
                    "agent": conv.agent,
                    "team": conv.team,
                    "customer_name": conv.customer_name,
                    "source": conv.source,
                    "format": conv.format,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    scorer = Scorer(load_engine(models=False))
    return frame_of_scores([scorer.score(c) for c in conversations()])


def test_score_frame_equals_the_scorer(expected: pd.DataFrame) -> None:
    got = score_frame(message_frame(), models=False)
    assert list(got.columns) == list(OUTPUT_COLUMNS)
    pd.testing.assert_frame_equal(got, expected)


def test_row_order_within_a_conversation_comes_from_position(expected: pd.DataFrame) -> None:
    # Spark hands a group's rows over in any order
    shuffled = message_frame().sample(frac=1.0, random_state=7)
    got = score_frame(shuffled, models=False).set_index("conversation_id")
    pd.testing.assert_frame_equal(
        got.loc[expected["conversation_id"]].reset_index(), expected, check_like=False
    )


def test_one_group_at_a_time_like_apply_in_pandas(expected: pd.DataFrame) -> None:
    frame = message_frame()
    parts = [score_frame(g, models=False) for _, g in frame.groupby("conversation_id", sort=False)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), expected)


def test_bad_rows_are_said_in_problems_not_dropped_silently() -> None:
    frame = pd.DataFrame(
        {
            "conversation_id": ["a", "a", "a", "a"],
            "role": ["customer", "robot", "agent", "agent"],
            "text": ["Where is my order?", "beep", None, "It ships today."],
            "timestamp": ["2026-12-01T10:00:00Z", None, None, "yesterday-ish"],
        }
    )
    got = score_frame(frame, models=False)
    assert (got.loc[0, "customer_messages"], got.loc[0, "agent_messages"]) == (1, 1)
    problems = json.loads(got.loc[0, "problems"])
    assert [p.split(": ")[1] for p in problems] == ["role", "text", "timestamp"]


def test_missing_columns_are_an_input_error() -> None:
    with pytest.raises(InputError, match="text"):
        score_frame(pd.DataFrame({"conversation_id": ["a"], "role": ["customer"]}))


def test_hits_are_json_and_the_spark_schema_names_every_column(expected: pd.DataFrame) -> None:
    hits = [json.loads(h) for h in expected["hits"]]
    assert any(h for h in hits)
    assert {"principle", "source", "followed", "quote", "message", "severity"} == set(hits[0][0])
    names = [part.strip().split(" ")[0] for part in SPARK_SCHEMA.split(",")]
    assert names == list(OUTPUT_COLUMNS)


def test_the_models_setting_reaches_the_engine() -> None:
    frame = message_frame()
    with_models = score_frame(frame, models=True)
    without = score_frame(frame, models=False)
    assert list(with_models["conversation_id"]) == list(without["conversation_id"])
    assert not with_models["anger_start"].equals(without["anger_start"])


@pytest.mark.parametrize(
    "stamps",
    [
        ["2026-12-01T08:00:00Z", "2026-12-01T08:01:00Z"],
        pd.to_datetime(["2026-12-01 08:00", "2026-12-01 08:01"]),
        [1796112000, 1796112060],
    ],
    ids=["iso", "datetime", "epoch-seconds"],
)
def test_timestamps_as_text_datetimes_or_epoch_seconds(stamps: object) -> None:
    frame = pd.DataFrame(
        {
            "conversation_id": ["a", "a"],
            "role": ["customer", "agent"],
            "text": ["Where is my order?", "It ships today."],
            "timestamp": stamps,
        }
    )
    got = score_frame(frame, models=False)
    assert got.loc[0, "started_at"].year == 2026
    assert got.loc[0, "week"] == got.loc[0, "started_at"].strftime("%G-W%V")
    assert json.loads(got.loc[0, "problems"]) == []
