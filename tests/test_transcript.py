"""Reading transcripts: good rows, every kind of bad row, files that are not transcripts."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmline import Role
from calmline.errors import TranscriptError
from calmline.transcript import (
    RowProblem,
    TranscriptFormat,
    TranscriptReader,
    TranscriptRow,
    format_for,
    parse_timestamp,
)

CASES = Path(__file__).parent / "cases" / "transcripts"


def read(path: Path, **kwargs: Any) -> tuple[list[TranscriptRow], list[RowProblem]]:
    rows: list[TranscriptRow] = []
    problems: list[RowProblem] = []
    for item in TranscriptReader(path, **kwargs):
        (problems if isinstance(item, RowProblem) else rows).append(item)  # type: ignore[arg-type]
    return rows, problems


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def jrow(**fields: Any) -> str:
    base = {"conversation_id": "c1", "role": "customer", "text": "Where is my order?"}
    base.update(fields)
    return json.dumps(base)


# ----- good files ---------------------------------------------------------------------------------


def test_example_jsonl_reads_every_row() -> None:
    rows, problems = read(CASES / "example.jsonl")
    assert problems == []
    assert [r.line for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r.conversation_id for r in rows] == ["T-1001"] * 4 + ["T-1002"] * 2
    assert [r.role for r in rows] == [Role.CUSTOMER, Role.AGENT] * 3
    first = rows[0]
    assert first.author == "Priya Shah" and first.customer_name == "Priya"
    assert first.timestamp == 1714641240.0  # 2024-05-02T09:14:00Z
    assert rows[4].timestamp == 1714642200.0  # epoch seconds as a number
    assert rows[1].customer_name is None
    turn = rows[1].turn()
    assert turn.role is Role.AGENT and turn.author == "Leo" and turn.text.startswith("Calm down")


def test_example_csv_reads_the_same_as_the_jsonl() -> None:
    jsonl, _ = read(CASES / "example.jsonl")
    rows, problems = read(CASES / "example.csv")
    assert problems == []
    strip = [
        (r.conversation_id, r.role, r.text, r.timestamp, r.author, r.customer_name) for r in rows
    ]
    expect = [
        (r.conversation_id, r.role, r.text, r.timestamp, r.author, r.customer_name) for r in jsonl
    ]
    assert strip == expect
    assert [r.line for r in rows] == [2, 3, 4, 5, 6, 7]  # the header is line 1


def test_reader_counts_rows_and_skipped() -> None:
    reader = TranscriptReader(CASES / "bad_rows.jsonl")
    items = list(reader)
    assert reader.rows == 3
    assert reader.skipped == 8
    assert sum(1 for i in items if isinstance(i, RowProblem) and i.warning) == 1


# ----- bad rows -----------------------------------------------------------------------------------


def test_bad_jsonl_rows_are_reported_with_line_and_field() -> None:
    rows, problems = read(CASES / "bad_rows.jsonl")
    assert [r.line for r in rows] == [1, 11, 12]
    skipped = {(p.line, p.field) for p in problems if not p.warning}
    assert skipped == {
        (2, None),  # invalid JSON
        (3, "role"),
        (4, "text"),  # missing
        (5, "text"),  # empty
        (6, "timestamp"),
        (7, None),  # broken UTF-8
        (8, "text"),  # too long
        (9, None),  # a list, not an object
    }
    by_line = {p.line: str(p) for p in problems}
    assert by_line[2].startswith(f"{CASES / 'bad_rows.jsonl'}:2: skipped: not valid JSON")
    assert "expected customer or agent, got 'robot'" in by_line[3]
    assert "missing" in by_line[4]
    assert "empty" in by_line[5]
    assert "'yesterday at noon'" in by_line[6]
    assert "UTF-8" in by_line[7]
    assert "20,001 characters" in by_line[8] and "max_message_chars" in by_line[8]
    assert "got a list" in by_line[9]
    warning = next(p for p in problems if p.warning)
    assert warning.line == 11 and "'channel'" in str(warning) and "warning" in str(warning)
    # markup-looking text is kept exactly as written
    assert rows[2].text.startswith("<script>")


def test_bad_csv_rows_are_reported_with_line_and_field() -> None:
    rows, problems = read(CASES / "bad_rows.csv")
    assert [r.line for r in rows] == [2, 3, 8]
    assert rows[2].text == "A message\nover two lines"
    assert rows[0].timestamp == parse_timestamp("2024-05-01T09:00:00Z")
    assert rows[1].timestamp is None  # empty optional column
    skipped = {(p.line, p.field) for p in problems if not p.warning}
    assert skipped == {
        (4, "text"),  # broken UTF-8
        (5, None),  # too many fields
        (6, "role"),
        (7, "conversation_id"),
        (10, "timestamp"),  # milliseconds
    }
    messages = {p.line: p.message for p in problems}
    assert "6 fields but the header has 5" in messages[5]
    assert "milliseconds" in messages[10]
    assert any(p.warning and "'queue'" in p.message for p in problems)


@pytest.mark.parametrize(
    ("line", "field", "needle"),
    [
        (jrow(role="Agent"), None, None),  # case-insensitive role: fine
        (jrow(conversation_id=42), None, None),  # a number is a fine conversation id
        (jrow(conversation_id=True), "conversation_id", "true/false"),
        (jrow(conversation_id=""), "conversation_id", "empty"),
        (jrow(conversation_id=None), "conversation_id", "missing"),
        (jrow(role=3), "role", "a number"),
        (jrow(role="system"), "role", "'system'"),
        (jrow(text=["a"]), "text", "a list"),
        (jrow(text="\n\t "), "text", "empty"),
        (jrow(author=7), "author", "a number"),
        (jrow(customer_name={"first": "Al"}), "customer_name", "an object"),
        (jrow(customer_name="x" * 201), "customer_name", "200"),
        (jrow(timestamp="2024-13-45"), "timestamp", "ISO 8601"),
        (jrow(timestamp=-5), "timestamp", "epoch"),
        (jrow(timestamp=True), "timestamp", "true/false"),
        (jrow(timestamp=[1]), "timestamp", "a list"),
        ('{"conversation_id": "c1", "role": "customer", "text": "\\ud83d"}', "text", "UTF-8"),
        ('{"conversation_id": "c1", "role": "customer", "text": NaN', None, "JSON"),
        ("[" * 5000 + "]" * 5000, None, None),  # deep nesting: a list, or too deep; no crash
        ("42", None, "a number"),
        ('"just text"', None, "got text"),
        ("null", None, "null"),
    ],
)
def test_one_jsonl_row(tmp_path: Path, line: str, field: str | None, needle: str | None) -> None:
    rows, problems = read(write(tmp_path, "t.jsonl", line + "\n"))
    skipped = [p for p in problems if not p.warning]
    if needle is None and not line.startswith("["):
        assert rows and not skipped
        return
    assert not rows
    assert len(skipped) == 1
    assert skipped[0].field == field
    assert skipped[0].line == 1
    if needle:
        assert needle in skipped[0].message


def test_long_text_limit_follows_max_chars(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jsonl", jrow(text="a" * 150) + "\n" + jrow(text="b" * 100) + "\n")
    rows, problems = read(path, max_chars=100)
    assert [r.line for r in rows] == [2]
    assert problems[0].line == 1 and problems[0].field == "text"
    assert "150 characters" in problems[0].message


def test_blank_lines_bom_and_crlf(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + jrow().encode() + b"\r\n\r\n   \r\n" + jrow(role="agent").encode()
    rows, problems = read(write(tmp_path, "t.jsonl", data))
    assert problems == []
    assert [(r.line, r.role) for r in rows] == [(1, Role.CUSTOMER), (4, Role.AGENT)]

    csv_data = b"\xef\xbb\xbfconversation_id,role,text\r\nc1,customer,hi\r\n\r\nc1,agent,hello\r\n"
    rows, problems = read(write(tmp_path, "t.csv", csv_data))
    assert problems == []
    assert [(r.line, r.text) for r in rows] == [(2, "hi"), (4, "hello")]


def test_unknown_fields_warn_once_per_field(tmp_path: Path) -> None:
    lines = [jrow(channel="chat"), jrow(channel="email", queue="vip"), jrow(channel="x")]
    rows, problems = read(write(tmp_path, "t.jsonl", "\n".join(lines)))
    assert len(rows) == 3
    assert [(p.line, p.warning) for p in problems] == [(1, True), (2, True)]


def test_csv_columns_in_any_order_and_optional_columns_absent(tmp_path: Path) -> None:
    data = 'text,role,conversation_id\n"Hi, it\'s me",CUSTOMER,c7\n'
    rows, problems = read(write(tmp_path, "t.csv", data))
    assert problems == []
    assert rows[0].text == "Hi, it's me" and rows[0].role is Role.CUSTOMER
    assert rows[0].timestamp is None and rows[0].author is None


def test_csv_unterminated_quote_is_one_bad_row_not_a_crash(tmp_path: Path) -> None:
    data = 'conversation_id,role,text\nc1,customer,"never closed\nc1,agent,hello\n'
    rows, problems = read(write(tmp_path, "t.csv", data))
    assert not rows
    assert len(problems) == 1 and problems[0].line == 2


def test_csv_field_size_limit_is_restored(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    read(CASES / "example.csv")
    assert csv.field_size_limit() == before


# ----- files that are not transcripts -------------------------------------------------------------


def test_csv_without_required_columns_is_not_a_transcript() -> None:
    with pytest.raises(TranscriptError, match=r"not_a_transcript.csv:1: .*conversation_id"):
        read(CASES / "not_a_transcript.csv")


def test_csv_with_duplicate_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "conversation_id,role,text,text\nc1,customer,a,b\n")
    with pytest.raises(TranscriptError, match="more than once"):
        read(path)


def test_jsonl_file_given_as_csv_is_refused() -> None:
    with pytest.raises(TranscriptError, match="not a calmline transcript"):
        read(CASES / "example.jsonl", input_format="csv")


@pytest.mark.parametrize("name", ["missing.jsonl", "folder.jsonl"])
def test_unreadable_files(tmp_path: Path, name: str) -> None:
    if name.startswith("folder"):
        (tmp_path / name).mkdir()
    with pytest.raises(TranscriptError, match=name):
        TranscriptReader(tmp_path / name)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(TranscriptError, match="binary"):
        TranscriptReader(path)


def test_utf16_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "conversation_id,role,text\nc,customer,hi\n".encode("utf-16"))
    with pytest.raises(TranscriptError, match="save it as UTF-8"):
        TranscriptReader(path)


def test_format_comes_from_the_extension_or_the_option(tmp_path: Path) -> None:
    assert format_for("a.JSONL") is TranscriptFormat.JSONL
    assert format_for("a.ndjson") is TranscriptFormat.JSONL
    assert format_for("a.csv") is TranscriptFormat.CSV
    assert format_for("a.txt", "csv") is TranscriptFormat.CSV
    with pytest.raises(TranscriptError, match="--input-format"):
        format_for("chats.txt")
    with pytest.raises(TranscriptError, match="jsonl or csv"):
        format_for("a.jsonl", "xml")
    path = write(tmp_path, "chats.txt", jrow() + "\n")
    rows, _ = read(path, input_format="jsonl")
    assert len(rows) == 1


def test_empty_file_is_an_empty_transcript(tmp_path: Path) -> None:
    assert read(write(tmp_path, "t.jsonl", b"")) == ([], [])
    assert read(write(tmp_path, "t.csv", b"")) == ([], [])


# ----- timestamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", 1714557600.0),
        ("2024-05-01T10:00:00+00:00", 1714557600.0),
        ("2024-05-01T12:00:00+02:00", 1714557600.0),
        ("2024-05-01 10:00", 1714557600.0),  # no zone: UTC
        ("2024-05-01T10:00:00.250Z", 1714557600.25),
        ("2024-05-01", 1714521600.0),
        (1714557600, 1714557600.0),
        (1714557600.5, 1714557600.5),
        ("1714557600", 1714557600.0),
        (" 1714557600 ", 1714557600.0),
        (None, None),
        ("", None),
    ],
)
def test_good_timestamps(value: Any, expected: float | None) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    "value",
    ["tomorrow", "2024-02-30", "10:00", "1714557600000", 1714557600000, -1, float("inf"), "1e9"],
)
def test_bad_timestamps(tmp_path: Path, value: Any) -> None:
    line = json.dumps({"conversation_id": "c", "role": "agent", "text": "hi", "timestamp": value})
    rows, problems = read(write(tmp_path, "t.jsonl", line))
    assert not rows
    assert problems[0].field == "timestamp"


# ----- size and memory ----------------------------------------------------------------------------


def test_overlong_jsonl_line_is_skipped_and_the_next_row_read(tmp_path: Path) -> None:
    # 1,000,000 characters x 6 bytes is the line limit: write one line past it.
    giant = '{"conversation_id": "c", "role": "customer", "text": "' + "a" * 6_000_100 + '"}'
    path = write(tmp_path, "t.jsonl", giant + "\n" + jrow(text="after") + "\n")
    rows, problems = read(path, max_chars=100)
    assert [r.text for r in rows] == ["after"]
    assert [(p.line, p.field) for p in problems] == [(1, None)]
    assert "longer than" in problems[0].message


def test_overlong_csv_line_is_skipped_and_the_next_row_read(tmp_path: Path) -> None:
    data = "conversation_id,role,text\nc,customer," + "a" * 1_000_100 + "\nc,agent,after\n"
    rows, problems = read(write(tmp_path, "t.csv", data), max_chars=100)
    assert [(r.line, r.text) for r in rows] == [(3, "after")]
    assert [p.line for p in problems] == [2]


def test_a_big_file_is_streamed_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = jrow(text="My parcel still has not arrived and nobody answers my emails. " * 4)
    with path.open("w", encoding="utf-8") as f:
        for _ in range(20_000):
            f.write(line + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        reader = TranscriptReader(path)
        count = sum(1 for item in reader if isinstance(item, TranscriptRow))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert size > 5_000_000
    assert peak < size / 10, f"peak {peak:,} bytes for a {size:,} byte file"


# ----- robustness ---------------------------------------------------------------------------------


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_any_bytes_as_jsonl_never_crash(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "fuzz.jsonl", data.replace(b"\x00", b" "))
    try:
        reader = TranscriptReader(path, max_chars=100)
    except TranscriptError as exc:
        # a whole file refused up front (a UTF-16 byte-order mark): said, with the file's name
        assert str(path) in exc.message and data.startswith((b"\xff\xfe", b"\xfe\xff"))
        return
    for item in reader:
        assert isinstance(item, TranscriptRow | RowProblem)
        if isinstance(item, TranscriptRow):
            assert item.text.strip() and len(item.text) <= 100
            item.text.encode("utf-8")  # never a lone surrogate


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.lists(
        st.lists(
            st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=12), max_size=5
        ),
        max_size=6,
    )
)
def test_any_csv_rows_never_crash(tmp_path: Path, body: list[list[str]]) -> None:
    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", errors="surrogatepass", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["conversation_id", "role", "text"])
        writer.writerows(body)
    for item in TranscriptReader(path):
        assert isinstance(item, TranscriptRow | RowProblem)
        if isinstance(item, TranscriptRow):
            item.text.encode("utf-8")
