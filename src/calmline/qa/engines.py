"""Run scoring over whole archives: in local processes, or on a Dask cluster.

Both engines read the archives lazily in the caller's process, cut the conversations into
batches and keep only a few batches in flight, so memory stays bounded whatever the archive's
size; scores come back in archive order. Ingest problems (records skipped, warnings) are
reported in the caller's process. A conversation the scorer fails on is reported the same way
(as a problem naming its file and record) instead of stopping the run.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from calmline.errors import InputError
from calmline.playbook.loader import load_playbook
from calmline.playbook.schema import Playbook
from calmline.qa.score import scorer_for
from calmline.qa.types import Conversation, ConversationScore, IngestProblem

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult

log = logging.getLogger(__name__)

#: Batches in flight per worker: one being scored, one waiting, so no worker idles.
IN_FLIGHT_PER_WORKER = 2
Outcome = list[ConversationScore | IngestProblem]


def score_archives(
    paths: Sequence[str | Path],
    *,
    playbook: str | Path | None = None,
    models: bool | None = None,
    engine: Literal["local", "dask"] = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int = 200,
    input_format: str | None = None,
    on_problem: Callable[[IngestProblem], None] | None = None,
) -> Iterator[ConversationScore]:
    """Scores in archive order, streamed: at most a few batches in flight, memory bounded
    whatever the archive size.

    ``playbook`` is a team playbook (None: the default one), loaded once here, so a bad
    playbook fails before any work; ``models`` as in :func:`calmline.load_engine`.
    ``engine="local"`` scores in ``workers`` processes (default: the CPU count; 1 scores in this
    process); ``engine="dask"`` submits batches to the Dask scheduler at ``scheduler``
    (``tcp://host:port``) or, when None, to a ``LocalCluster`` of ``workers`` processes on
    127.0.0.1 without a dashboard, closed at the end. ``input_format`` forces an ingest format
    (None: detected per file). Every skipped record or warning goes to ``on_problem`` (when
    None, to the ``calmline.qa.engines`` log).
    """
    if engine not in ("local", "dask"):
        raise InputError(f"engine: {engine!r} is not local or dask")
    if batch_size < 1:
        raise InputError(f"batch_size: {batch_size} is not a positive number")
    if workers is not None and workers < 1:
        raise InputError(f"workers: {workers} is not a positive number")
    report = on_problem or _log_problem
    book = load_playbook(playbook)
    batches = _batches(paths, input_format, batch_size, book.limits.max_message_chars, report)
    if engine == "dask":
        return _dask(batches, book, models, workers, scheduler, report)
    count = workers or os.cpu_count() or 1
    if count == 1:
        return _in_process(batches, book, models, report)
    return _pool(batches, book, models, count, report)


def score_batch(
    conversations: Sequence[Conversation], playbook: Playbook | None, models: bool | None
) -> Outcome:
    """Score one batch: its scores, and a problem for any conversation the scorer failed on.

    The task both engines run in their workers (module-level, so it pickles by name).
    """
    scorer = scorer_for(playbook, models)
    out: Outcome = []
    for conv in conversations:
        try:
            out.append(scorer.score(conv))
        except Exception as exc:  # one bad conversation must not stop an archive
            out.append(
                IngestProblem(
                    source=conv.source,
                    record=conv.record,
                    field="",
                    message=f"not scored: {type(exc).__name__}: {exc}",
                )
            )
    return out


# ----- reading ------------------------------------------------------------------------------


def _batches(
    paths: Sequence[str | Path],
    input_format: str | None,
    batch_size: int,
    max_chars: int,
    report: Callable[[IngestProblem], None],
) -> Iterator[list[Conversation]]:
    """Conversations of every archive in order, in lists of ``batch_size``, read lazily."""
    from calmline.qa.ingest import read_archive

    batch: list[Conversation] = []
    for path in paths:
        for item in read_archive(path, input_format=input_format, max_chars=max_chars):
            if isinstance(item, IngestProblem):
                report(item)
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def _log_problem(problem: IngestProblem) -> None:
    log.warning("%s", problem)


def _deliver(
    outcome: Outcome, report: Callable[[IngestProblem], None]
) -> Iterator[ConversationScore]:
    for item in outcome:
        if isinstance(item, IngestProblem):
            report(item)
        else:
            yield item


# ----- local --------------------------------------------------------------------------------


def _in_process(
    batches: Iterable[list[Conversation]],
    playbook: Playbook,
    models: bool | None,
    report: Callable[[IngestProblem], None],
) -> Iterator[ConversationScore]:
    for batch in batches:
        yield from _deliver(score_batch(batch, playbook, models), report)


# Set in each pool worker by _start_worker: the playbook travels once per worker, not per batch.
_WORKER_PLAYBOOK: list[tuple[Playbook, bool | None]] = []


def _start_worker(playbook: Playbook, models: bool | None) -> None:
    _WORKER_PLAYBOOK[:] = [(playbook, models)]
    scorer_for(playbook, models)  # build the engine now, not in the first batch


def _pool_batch(conversations: list[Conversation]) -> Outcome:
    playbook, models = _WORKER_PLAYBOOK[0]
    return score_batch(conversations, playbook, models)


def _pool(
    batches: Iterable[list[Conversation]],
    playbook: Playbook,
    models: bool | None,
    workers: int,
    report: Callable[[IngestProblem], None],
) -> Iterator[ConversationScore]:
    # Pool.imap would read the whole archive ahead into its task queue; a window of
    # apply_async results keeps a few batches in flight and the output in archive order.
    context = multiprocessing.get_context("spawn")
    window: deque[AsyncResult[Outcome]] = deque()
    limit = workers * IN_FLIGHT_PER_WORKER
    with context.Pool(workers, initializer=_start_worker, initargs=(playbook, models)) as pool:
        for batch in batches:
            window.append(pool.apply_async(_pool_batch, (batch,)))
            if len(window) >= limit:
                yield from _deliver(window.popleft().get(), report)
        while window:
            yield from _deliver(window.popleft().get(), report)


# ----- dask ---------------------------------------------------------------------------------


def _dask(
    batches: Iterable[list[Conversation]],
    playbook: Playbook,
    models: bool | None,
    workers: int | None,
    scheduler: str | None,
    report: Callable[[IngestProblem], None],
) -> Iterator[ConversationScore]:
    try:
        # distributed's API is untyped: held as Any
        distributed: Any = importlib.import_module("distributed")
    except ImportError:  # pragma: no cover - dask comes with the qa extra
        raise InputError(
            "the dask engine needs dask[distributed]: pip install 'calmline[qa]'"
        ) from None
    cluster: Any = None
    if scheduler is None:
        cluster = _local_cluster(distributed, workers or os.cpu_count() or 1)
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    try:
        # One copy of the playbook on every worker; tasks refer to it (a worker builds its
        # engine once, keyed by the object it holds).
        book = client.scatter(playbook, broadcast=True)
        limit = max(1, sum(client.nthreads().values())) * IN_FLIGHT_PER_WORKER
        window: deque[Any] = deque()
        for batch in batches:
            window.append(client.submit(score_batch, batch, book, models, pure=False))
            if len(window) >= limit:
                yield from _deliver(window.popleft().result(), report)
        while window:
            yield from _deliver(window.popleft().result(), report)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _local_cluster(distributed: Any, workers: int) -> Any:
    """A cluster of ``workers`` single-threaded processes on this machine, listening on
    127.0.0.1 only, with no dashboard (the scheduler's health endpoint stays on loopback)."""
    return distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
        silence_logs=logging.WARNING,
    )
