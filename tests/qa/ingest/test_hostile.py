"""Hostile and broken input: every bad record is a problem naming file, record and field, the
records after it are still read, nothing is cut silently and nothing hangs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calmline.core.types import Role
from calmline.qa.ingest import read_archive
from calmline.qa.ingest.calmline_transcript import read_transcript
from calmline.qa.types import Conversation, IngestProblem
from tests.qa.ingest.conftest import DATA


def split(items: object) -> tuple[list[Conversation], list[IngestProblem]]:
    listed = list(items)  # type: ignore[call-overload]
    return (
        [i for i in listed if isinstance(i, Conversation)],
        [i for i in listed if isinstance(i, IngestProblem)],
    )


def test_zendesk_bad_lines_each_reported_and_the_rest_read() -> None:
    path = DATA / "zendesk-hostile.ndjson"
    convs, problems = split(read_archive(path))
    assert [c.id for c in convs] == ["1", "4", "8"]
    shown = [(p.record, p.field) for p in problems if not p.warning]
    assert shown == [
        ("line 2", ""),
        ("line 3", "comments"),
        ("line 4, ticket 4", "comments[0].public"),
        ("line 5, [0]", ""),
        ("line 5, [1]", ""),
        ("line 5, [2]", ""),
        ("line 6", ""),
        ("line 7", "id"),
    ]
    assert all(p.source == str(path) for p in problems)
    messages = {p.record: p.message for p in problems}
    assert messages["line 2"].startswith("not valid JSON")
    assert messages["line 6"] == "not valid UTF-8 (byte 78 of the line)"
    assert "expected a list, got text" in messages["line 3"]


def test_markup_is_text_and_html_bodies_lose_scripts() -> None:
    convs, _ = split(read_archive(DATA / "zendesk-hostile.ndjson"))
    ticket = next(c for c in convs if c.id == "8")
    assert ticket.messages[0].text == "<script>alert(1)</script> plain text stays"  # plain body
    assert ticket.messages[1].text == "Sure thing"  # html_body: tags and script dropped


def test_intercom_bad_parts_skip_the_part_not_the_conversation() -> None:
    convs, problems = split(read_archive(DATA / "intercom-hostile.json"))
    (conv,) = convs
    assert [(m.role, m.text) for m in conv.messages] == [
        (Role.CUSTOMER, "Hi & hello"),
        (Role.AGENT, "How can I help today?"),
    ]
    assert [p.field for p in problems] == [
        "conversation_parts[0].author.type",
        "conversation_parts[1].body",
        "conversation_parts[2].created_at",
        "id",
        "",
    ]
    assert problems[0].record == "line 2, conversation ok-1"


def test_twcs_bad_rows() -> None:
    path = DATA / "twcs-hostile.csv"
    convs, problems = split(read_archive(path))
    assert [(p.record, p.field) for p in problems] == [
        ("line 3", "inbound"),
        ("line 4", "created_at"),
        ("line 5", "text"),
        ("line 6", ""),
        ("line 7", "text"),
    ]
    assert "not valid UTF-8" in problems[-1].message
    (thread,) = convs
    assert [m.text for m in thread.messages] == ["first tweet", "the reply"]


def test_truncated_json_reports_where_and_keeps_what_came_before() -> None:
    convs, problems = split(read_archive(DATA / "truncated.json", input_format="zendesk"))
    assert [c.id for c in convs] == ["1"]
    (problem,) = problems
    assert problem.record == "line 3"
    assert (
        "the file ends inside" in problem.message
        and "rest of the file is skipped" in problem.message
    )


def test_broken_utf8_in_a_streamed_json_file_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    good = {"id": "a", "source": {"body": "hi", "author": {"type": "user"}}}
    body = json.dumps([good, {"id": "b", "source": {"body": "XX"}}], indent=1).encode()
    at = body.index(b"XX")
    path.write_bytes(body.replace(b"XX", b"\xff\xfe"))
    convs, problems = split(read_archive(path))
    assert [c.id for c in convs] == ["a"]
    (problem,) = problems
    assert problem.message == f"not valid UTF-8 (byte {at + 1:,} of the file)"


def test_huge_records_are_skipped_unread_and_the_next_one_is_read(tmp_path: Path) -> None:
    small = {"id": 2, "requester_id": 1, "comments": [{"author_id": 1, "body": "Hello"}]}
    huge = {"id": 1, "requester_id": 1, "comments": [{"author_id": 1, "body": "x" * 60_000}]}
    ndjson = tmp_path / "tickets.ndjson"
    ndjson.write_text(json.dumps(small) + "\n" + json.dumps(huge) + "\n" + json.dumps(small) + "\n")
    wrapped = tmp_path / "tickets.json"
    wrapped.write_text(json.dumps({"tickets": [small, huge, small]}, indent=1))
    for path, record in ((ndjson, "line 2"), (wrapped, "line 13")):
        convs, problems = split(read_archive(path, max_record_bytes=50_000, max_chars=100_000))
        assert [c.id for c in convs] == ["2", "2"], path
        (problem,) = problems
        assert problem.record == record
        assert "50,000" in problem.message and "skipped unread" in problem.message


def test_a_message_over_max_chars_is_skipped_with_a_problem_not_cut(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    comments = [
        {"author_id": 1, "body": "y" * 101},
        {"author_id": 2, "body": "A short answer."},
    ]
    path.write_text(json.dumps({"tickets": [{"id": 7, "requester_id": 1, "comments": comments}]}))
    convs, problems = split(read_archive(path, max_chars=100))
    assert [m.text for m in convs[0].messages] == ["A short answer."]
    (problem,) = problems
    assert (problem.record, problem.field) == ("line 1, tickets[0], ticket 7", "comments[0].body")
    assert "101 characters long; the limit is 100" in problem.message


@pytest.mark.parametrize("fmt", ["zendesk", "intercom", "transcribe"])
@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"[",
        b'{"a": }',
        b"]]]",
        b",,,",
        b'{"tickets": [{"id": 1}',
        b'"\\',
        b"\xff" * 10,
        b"{}",
    ],
)
def test_garbage_never_hangs_or_crashes(tmp_path: Path, fmt: str, content: bytes) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(content)
    for item in read_archive(path, input_format=fmt):
        assert isinstance(item, Conversation | IngestProblem)


def test_calmline_rows_far_apart_are_read_as_parts_with_a_warning(tmp_path: Path) -> None:
    rows = [("A", "customer", "first"), ("B", "customer", "b1"), ("C", "customer", "c1")]
    rows += [("D", "customer", "d1"), ("A", "agent", "late reply")]
    path = tmp_path / "t.jsonl"
    path.write_text(
        "".join(json.dumps({"conversation_id": c, "role": r, "text": t}) + "\n" for c, r, t in rows)
    )
    items = list(read_transcript(path, str(path), fmt="calmline-jsonl", max_chars=100, idle_rows=3))
    convs, problems = split(items)
    assert [c.id for c in convs] == ["A", "B", "C", "D", "A"]
    (warning,) = problems
    assert warning.warning and warning.record == "line 5" and "part 2" in warning.message
    # within the window, interleaved rows join their conversation
    convs, problems = split(read_archive(path))
    assert problems == [] and [len(c.messages) for c in convs] == [1, 1, 1, 2]


def test_calmline_bad_rows_become_problems(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b'{"conversation_id": "A", "role": "customer", "text": "hi", "queue": "x"}\n'
        b'{"conversation_id": "A", "role": "robot", "text": "beep"}\n'
        b"not json\n"
        b'{"conversation_id": "A", "role": "agent", "text": "hello \xff"}\n'
        b'{"conversation_id": "A", "role": "agent", "text": "Hello!"}\n'
    )
    convs, problems = split(read_archive(path))
    assert [len(c.messages) for c in convs] == [2]
    assert [(p.record, p.field, p.warning) for p in problems] == [
        ("line 1", "", True),
        ("line 2", "role", False),
        ("line 3", "", False),
        ("line 4", "", False),
    ]


def test_problems_never_repeat_text_that_landed_in_the_wrong_field(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "1,a,True,call me on 07700 900123 jo@example.com,hi,,\n"
        "2,a,False,yesterday,hi,,\n"
    )
    problems = [p for p in read_archive(path) if isinstance(p, IngestProblem)]
    assert [p.message.endswith("(not shown)") for p in problems] == [True, False]
    assert "07700" not in str(problems[0]) and "example.com" not in str(problems[0])
    assert "'yesterday'" in problems[1].message


def test_twcs_open_threads_are_bounded_and_no_tweet_is_lost() -> None:
    from calmline.qa.ingest.twcs import read_twcs
    from tests.qa.ingest.conftest import EXAMPLES

    path = EXAMPLES / "twcs.csv"
    whole, _ = split(read_twcs(path, "twcs.csv", max_chars=1000, max_line_chars=10_000))
    capped, problems = split(
        read_twcs(path, "twcs.csv", max_chars=1000, max_line_chars=10_000, max_open_tweets=1)
    )
    assert len(capped) > len(whole)
    texts = sorted(m.text for c in capped for m in c.messages)
    assert texts == sorted(m.text for c in whole for m in c.messages)
    (warning,) = problems
    assert warning.warning and "handed on before every tweet" in warning.message
