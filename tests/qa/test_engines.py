"""score_archives: the local engine with 2 workers, in-process and on a Dask LocalCluster on
127.0.0.1 all give the scores of the Scorer, in archive order, with problems reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calmline import load_engine
from calmline.errors import InputError, PlaybookError
from calmline.qa import engines
from calmline.qa.engines import score_archives
from calmline.qa.ingest import read_archive
from calmline.qa.score import Scorer
from calmline.qa.types import Conversation, ConversationScore, IngestProblem

DATA = Path(__file__).parent / "data"
ARCHIVES = [DATA / "archive-a.jsonl", DATA / "archive-b.jsonl"]


def run(**options: object) -> tuple[list[ConversationScore], list[IngestProblem]]:
    problems: list[IngestProblem] = []
    scores = list(
        score_archives(ARCHIVES, models=False, on_problem=problems.append, **options)  # type: ignore[arg-type]
    )
    return scores, problems


@pytest.fixture(scope="module")
def in_process() -> tuple[list[ConversationScore], list[IngestProblem]]:
    return run(workers=1, batch_size=4)


def test_in_process_scores_every_conversation_as_the_scorer_does(
    in_process: tuple[list[ConversationScore], list[IngestProblem]],
) -> None:
    scorer = Scorer(load_engine(models=False))
    expected = [
        scorer.score(item)
        for path in ARCHIVES
        for item in read_archive(path)
        if isinstance(item, Conversation)
    ]
    scores, problems = in_process
    assert scores == expected
    assert [(p.record, p.field) for p in problems] == [("line 17", "role")]
    assert all(p.source.endswith("archive-b.jsonl") for p in problems)


def test_two_local_workers_equal_one(
    in_process: tuple[list[ConversationScore], list[IngestProblem]],
) -> None:
    assert run(workers=2, batch_size=4) == in_process


@pytest.mark.slow
def test_a_dask_local_cluster_equals_the_local_engine(
    in_process: tuple[list[ConversationScore], list[IngestProblem]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("distributed")
    psutil = pytest.importorskip("psutil")
    seen: list[str] = []

    def watched(distributed: Any, workers: int) -> Any:
        cluster = make_cluster(distributed, workers)
        me = psutil.Process()
        for process in (me, *me.children(recursive=True)):
            for conn in process.net_connections(kind="inet"):
                seen.append(conn.laddr.ip)
                if conn.raddr:
                    seen.append(conn.raddr.ip)
        addresses = [cluster.scheduler_address, *cluster.scheduler_info["workers"]]
        seen.extend(a.split("//")[1].rsplit(":", 1)[0] for a in addresses)
        return cluster

    make_cluster = engines._local_cluster
    monkeypatch.setattr(engines, "_local_cluster", watched)
    assert run(engine="dask", workers=2, batch_size=4) == in_process
    assert seen and set(seen) <= {"127.0.0.1"}


def test_stopping_early_leaves_no_pool_behind() -> None:
    stream = score_archives(ARCHIVES, models=False, workers=2, batch_size=2)
    first = next(stream)
    stream.close()  # type: ignore[attr-defined]
    assert first.conversation_id == "de-escalation-0"


@pytest.mark.parametrize(
    "options",
    [{"engine": "spark"}, {"batch_size": 0}, {"workers": 0}],
    ids=["engine", "batch_size", "workers"],
)
def test_bad_options_are_input_errors(options: dict[str, object]) -> None:
    with pytest.raises(InputError, match=next(iter(options))):
        score_archives(ARCHIVES, **options)  # type: ignore[arg-type]


def test_a_bad_playbook_fails_before_any_work(tmp_path: Path) -> None:
    bad = tmp_path / "team.yaml"
    bad.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(PlaybookError):
        score_archives(ARCHIVES, playbook=bad)


def test_a_conversation_the_scorer_fails_on_is_a_problem_not_a_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = Scorer.score

    def failing(self: Scorer, conv: Conversation) -> ConversationScore:
        if conv.id == "escalation-1":
            raise RuntimeError("boom")
        return original(self, conv)

    monkeypatch.setattr(Scorer, "score", failing)
    scores, problems = run(workers=1, batch_size=5)
    assert "escalation-1" not in {s.conversation_id for s in scores}
    assert len(scores) == 21
    failed = [p for p in problems if "not scored" in p.message]
    assert [(p.source.endswith("archive-a.jsonl"), "boom" in p.message) for p in failed] == [
        (True, True)
    ]


def test_without_on_problem_problems_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="calmline.qa.engines"):
        scores = list(score_archives([ARCHIVES[1]], models=False, workers=1))
    assert len(scores) == 4
    assert any("line 17" in r.getMessage() for r in caplog.records)


def test_a_forced_format_is_used(tmp_path: Path) -> None:
    renamed = tmp_path / "export.txt"
    renamed.write_bytes(ARCHIVES[1].read_bytes())
    scores = list(score_archives([renamed], models=False, workers=1, input_format="calmline-jsonl"))
    assert [s.conversation_id for s in scores][:1] == ["b-de-escalation"]
