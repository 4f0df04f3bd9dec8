"""Format detection from the extension and the first record, and its errors."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from calmline.errors import ArchiveError, InputError
from calmline.qa.ingest import FORMATS, detect_format, read_archive
from calmline.qa.types import IngestProblem
from tests.qa.ingest.conftest import DATA, EXAMPLES


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("calmline.jsonl", "calmline-jsonl"),
        ("calmline.csv", "calmline-csv"),
        ("zendesk.json", "zendesk"),
        ("zendesk.ndjson", "zendesk"),
        ("intercom.json", "intercom"),
        ("transcribe-call-analytics.json", "transcribe"),
        ("contact-lens_analysis_2026-11-28T15-30-00Z.json", "transcribe"),
        ("twcs.csv", "twcs"),
    ],
)
def test_each_example_is_detected(name: str, expected: str) -> None:
    assert detect_format(EXAMPLES / name) == expected


def test_every_format_has_an_example() -> None:
    detected = {detect_format(p) for p in EXAMPLES.iterdir()}
    assert detected == set(FORMATS)


def test_the_shape_decides_not_the_extension(tmp_path: Path) -> None:
    for name in ("zendesk.json", "intercom.json", "twcs.csv"):
        renamed = tmp_path / (name.split(".")[0] + ".export")
        renamed.write_bytes((EXAMPLES / name).read_bytes())
        assert detect_format(renamed) == detect_format(EXAMPLES / name)


def test_users_before_tickets_and_a_single_intercom_conversation(tmp_path: Path) -> None:
    users_first = tmp_path / "z.json"
    users_first.write_text('{"users": [{"id": 1, "role": "agent"}], "tickets": []}')
    assert detect_format(users_first) == "zendesk"
    single = tmp_path / "i.json"
    single.write_text('{"type": "conversation", "id": "1", "source": {}, "conversation_parts": {}}')
    assert detect_format(single) == "intercom"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("a.json", b'{"id": 1, "name": "not an archive"}\n', "the first record has id, name"),
        ("a.csv", b"ticket,owner,notes\n1,a,b\n", "found notes, owner, ticket"),
        ("a.json", b"", "the file is empty"),
        ("a.json", b"\x00\x01\x02binary", "binary"),
        ("a.csv", codecs.BOM_UTF16_LE + "x".encode("utf-16-le"), "UTF-16"),
        ("a.json", b'{"tickets" [1, 2]}', "not valid JSON"),
        ("a.jsonl", b"hello", "does not start with a JSON object"),
    ],
)
def test_unrecognised_files_raise_archive_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ArchiveError) as caught:
        detect_format(path)
    assert str(path) in caught.value.message and says in caught.value.message
    assert caught.value.code == "archive_invalid"
    assert isinstance(caught.value, InputError)


def test_not_recognised_message_lists_what_is_expected() -> None:
    with pytest.raises(ArchiveError, match="not a recognised archive: expected calmline JSONL"):
        detect_format(DATA / "unknown.csv")


def test_missing_file_folder_and_unknown_forced_format(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no such file"):
        read_archive(tmp_path / "nope.jsonl")
    with pytest.raises(ArchiveError, match="is a folder"):
        read_archive(tmp_path, input_format="zendesk")
    with pytest.raises(ArchiveError, match="unknown archive format 'freshdesk'"):
        read_archive(EXAMPLES / "zendesk.json", input_format="freshdesk")


def test_forcing_a_format_skips_detection() -> None:
    (item,) = read_archive(DATA / "unknown.json", input_format="zendesk")
    assert isinstance(item, IngestProblem) and "has no message to score" in item.message


def test_a_broken_first_line_of_json_lines_does_not_hide_the_format(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_text(
        '{"conversation_id": "A", "role": \n'
        '{"conversation_id": "A", "role": "customer", "text": "hello"}\n'
    )
    assert detect_format(path) == "calmline-jsonl"
    items = list(read_archive(path))
    assert isinstance(items[0], IngestProblem) and items[0].record == "line 1"
    assert len(items) == 2
