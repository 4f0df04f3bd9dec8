"""Each documented example archive reads as the conversations it shows: roles, order, agent,
times and where each came from."""

from __future__ import annotations

from datetime import UTC, datetime

from calmline.core.types import Role
from calmline.qa.ingest import read_archive
from calmline.qa.types import Conversation, IngestProblem
from tests.qa.ingest.conftest import EXAMPLES

C, A = Role.CUSTOMER, Role.AGENT


def read(name: str) -> tuple[list[Conversation], list[IngestProblem]]:
    items = list(read_archive(EXAMPLES / name))
    conversations = [i for i in items if isinstance(i, Conversation)]
    problems = [i for i in items if isinstance(i, IngestProblem)]
    return conversations, problems


def roles(conv: Conversation) -> list[Role]:
    return [m.role for m in conv.messages]


def times_ascend(conv: Conversation) -> bool:
    times = [m.at for m in conv.messages]
    return all(t is not None for t in times) and times == sorted(times)  # type: ignore[type-var]


def test_calmline_jsonl_groups_interleaved_rows_by_conversation() -> None:
    convs, problems = read("calmline.jsonl")
    assert problems == []
    assert [c.id for c in convs] == ["C-2001", "C-2002"]
    first, second = convs
    assert roles(first) == [C, A, C]
    assert roles(second) == [C, A, C, A]
    assert first.agent == "Sam" and second.agent == "Ines"
    assert first.customer_name == "Dana"
    assert first.messages[0].at == datetime(2026, 11, 23, 10, 2, tzinfo=UTC)
    assert all(times_ascend(c) for c in convs)
    assert {c.format for c in convs} == {"calmline-jsonl"}
    assert first.record == "line 1" and second.record == "line 2"


def test_calmline_csv() -> None:
    convs, problems = read("calmline.csv")
    assert problems == []
    assert [(c.id, roles(c), c.agent) for c in convs] == [
        ("C-3001", [C, A], "Omar"),
        ("C-3002", [C, A, C], "Tess"),
    ]
    assert convs[1].messages[1].text == "Calm down, there's no need for that."
    assert all(times_ascend(c) for c in convs)


def test_zendesk_wrapper_with_sideloaded_users() -> None:
    convs, problems = read("zendesk.json")
    assert [(c.id, roles(c), c.agent, c.team, c.channel) for c in convs] == [
        ("51001", [C, A], "Noor", "42", "email"),
        ("51002", [C, A], "Felix", "42", "web"),
    ]
    router = convs[0]
    assert router.customer_name == "Aiden Cole"
    assert [m.author for m in router.messages] == ["Aiden Cole", "Noor"]
    # the internal note between them is not a message to the customer
    assert all("copper pair" not in m.text for m in router.messages)
    # an HTML-only body loses its tags
    assert router.messages[1].text.startswith("Hi Aiden,\nI'm sorry")
    assert (
        "<" not in router.messages[1].text
        and "Thursday between 8 and 12" in router.messages[1].text
    )
    # a plain body keeps markup as the words the customer typed
    assert "<script>" in convs[1].messages[0].text
    assert router.messages[1].at == datetime(2026, 11, 25, 14, 7, tzinfo=UTC)
    assert [str(p) for p in problems] == [
        f"{EXAMPLES / 'zendesk.json'}:whole file: warning: left out (not messages to score): "
        "1 internal notes"
    ]
    assert all(p.warning for p in problems)


def test_zendesk_ndjson_without_users_uses_the_requester() -> None:
    convs, problems = read("zendesk.ndjson")
    assert [(c.id, roles(c), c.agent) for c in convs] == [
        ("52001", [C, A], "710"),
        ("52002", [C, A], "711"),
    ]
    assert convs[0].record == "line 1, ticket 52001"
    assert all(times_ascend(c) for c in convs)
    assert len(problems) == 1 and problems[0].warning


def test_intercom_comments_only_in_order() -> None:
    convs, problems = read("intercom.json")
    app, cancel = convs
    assert (app.id, roles(app), app.agent, app.team) == (
        "1911149811711",
        [C, A, C, A],
        "Kai",
        "5100",
    )
    assert app.customer_name == "Jo Lindqvist"
    assert app.messages[1].text == (
        "Thanks Jo. Could you tell me which version of the app you have? "
        "It's under Settings > About."
    )
    assert all("Known bug" not in m.text for m in app.messages)  # a note
    assert app.messages[0].at == datetime(
        2026, 11, 30, 9, 46, 40, tzinfo=UTC
    )  # the conversation's created_at
    assert times_ascend(app)
    assert (roles(cancel), cancel.agent, cancel.channel) == ([C, A], "Bea", "email")
    assert len(problems) == 1
    assert "1 assignment parts" in problems[0].message and "1 note parts" in problems[0].message


def test_transcribe_call_analytics_keeps_each_utterance() -> None:
    convs, problems = read("transcribe-call-analytics.json")
    assert problems == []
    (call,) = convs
    assert call.id == "call-2026-11-28-0001"
    assert roles(call) == [A, C, C, A]
    assert call.messages[1].text.startswith("I've been on hold")
    assert call.channel == "voice"
    assert all(m.at is None for m in call.messages)  # offsets only, no start time


def test_contact_lens_resolves_participants_and_times_from_the_file_name() -> None:
    convs, problems = read("contact-lens_analysis_2026-11-28T15-30-00Z.json")
    assert problems == []
    (call,) = convs
    assert call.id == "c7f1e2d0-0000-4000-8000-000000000001"
    assert roles(call) == [C, A]
    assert [m.at for m in call.messages] == [
        datetime(2026, 11, 28, 15, 30, tzinfo=UTC),
        datetime(2026, 11, 28, 15, 30, 4, 500_000, tzinfo=UTC),
    ]


def test_twcs_threads_rebuilt_from_reply_links_in_any_row_order() -> None:
    convs, problems = read("twcs.csv")
    assert problems == []
    lost, rude = convs
    assert lost.id == "9000"  # the first tweet, though the brand's reply comes first in the file
    assert roles(lost) == [C, A, C, A]
    assert lost.agent == lost.team == "QuickShipHelp"
    assert [m.author for m in lost.messages] == ["cust301", "QuickShipHelp"] * 2
    assert times_ascend(lost)
    assert (rude.id, roles(rude)) == ("9100", [C, A])
    assert rude.channel == "social"
