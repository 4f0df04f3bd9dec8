"""read_archive runs unchanged in a worker process, and what it yields crosses back intact."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from calmline.qa.ingest import read_archive
from calmline.qa.types import Conversation, IngestProblem
from tests.qa.ingest.conftest import EXAMPLES


def read_all(path: str) -> list[Conversation | IngestProblem]:
    return list(read_archive(path))


def test_read_archive_in_a_spawned_worker_equals_in_process() -> None:
    paths = sorted(str(p) for p in EXAMPLES.iterdir())
    here = [read_all(p) for p in paths]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = list(pool.map(read_all, paths))
    assert there == here
    assert all(pickle.loads(pickle.dumps(items)) == items for items in here)


def test_the_reader_itself_can_be_handed_to_a_worker_before_it_starts() -> None:
    # a generator cannot be pickled, so callers pass the path; the path and options are enough
    assert read_all(str(Path(EXAMPLES / "twcs.csv"))) == read_all(str(EXAMPLES / "twcs.csv"))
