"""`calmline qa`: score whole archives, roll the scores up, write the report and exports."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from calmline.cli import (
    EXIT_INPUT,
    EXIT_OK,
    PlaybookOption,
    _input_errors,
    _write_json,
    err,
    out,
)
from calmline.errors import CalmlineError, InputError
from calmline.qa.aggregate import Aggregator, GroupStats, scenarios_by_principle
from calmline.qa.export import Exports
from calmline.qa.types import ConversationScore, IngestProblem

SUMMARY_LEGEND = (
    "score: mean 0-100 · hits +/-: principles followed/broken · protocol: kept/needed · "
    "de/esc: conversations de-escalated/escalated"
)


class QaFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class QaEngine(StrEnum):
    LOCAL = "local"
    DASK = "dask"


@dataclass
class _Tally:
    """What the run has done so far, for the progress bar and the summary."""

    conversations: int = 0
    messages: int = 0
    skipped: int = 0
    warnings: int = 0
    #: archive sizes by the names scores and problems may carry (the path as given, its name)
    sizes: dict[str, int] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    current: str | None = None
    bytes_done: int = 0

    def problem(self, problem: IngestProblem) -> None:
        if problem.warning:
            self.warnings += 1
        else:
            self.skipped += 1

    def reached(self, source: str) -> None:
        """Scores arrive in archive order: a new source means the one before is read."""
        if source == self.current:
            return
        if self.current is not None:
            self._finish(self.current)
        self.current = source

    def _finish(self, source: str) -> None:
        if source in self.sizes and source not in self.finished:
            self.finished.add(source)
            self.bytes_done += self.sizes[source]

    def done(self) -> None:
        if self.current is not None:
            self._finish(self.current)


def _check_archives(archives: Sequence[Path]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in archives:
        if not path.is_file():
            raise InputError(f"{path}: no such archive file")
        size = path.stat().st_size
        sizes[str(path)] = size
        sizes.setdefault(path.name, size)
    return sizes


def _check_options(
    engine: QaEngine,
    scheduler: str | None,
    input_format: str | None,
    report: Path | None,
) -> None:
    from calmline.qa.ingest import FORMATS

    if input_format is not None and input_format not in FORMATS:
        raise InputError(f"--input-format: {input_format!r} is not one of {', '.join(FORMATS)}")
    if scheduler is not None and engine is not QaEngine.DASK:
        raise InputError("--scheduler needs --engine dask")
    if scheduler is not None and not scheduler.startswith("tcp://"):
        raise InputError(f"--scheduler: {scheduler!r} is not a tcp://HOST:PORT address")
    if report is not None and report.is_dir():
        raise InputError(f"--report: {report} is a folder; give the HTML file to write")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]scoring[/bold]"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _counts(tally: _Tally, started: float, files: int) -> str:
    elapsed = max(time.perf_counter() - started, 1e-9)
    # archives are read one after the other: with several, the bytes of those finished
    read = (
        f"{len(tally.finished)}/{files} files ({tally.bytes_done / 1e6:,.1f} MB) · "
        if files > 1
        else ""
    )
    return (
        read + f"{tally.conversations:,} conversations · {tally.messages:,} messages · "
        f"{tally.messages / elapsed:,.0f} msg/s"
        + (f" · {tally.skipped:,} skipped" if tally.skipped else "")
    )


def _principle_titles(playbook: Path | None) -> tuple[dict[str, str], Any]:
    from calmline.playbook.loader import load_playbook

    book = load_playbook(playbook)
    return {p.id: p.title for p in book.principles}, book


def _scenario_titles(book: Any) -> dict[str, str]:
    from calmline.trainer.scenario import load_scenarios

    return {name: s.title for name, s in load_scenarios(playbook=book).items()}


def _group_json(stats: GroupStats) -> dict[str, Any]:
    row = stats.row()
    row["principles"] = {
        pid: {"followed": t.followed, "violated": t.violated, "follow_rate": t.follow_rate}
        for pid, t in sorted(stats.principles.items())
    }
    return row


def summary_json(
    agg: Aggregator, tally: _Tally, elapsed: float, written: Sequence[Path]
) -> dict[str, Any]:
    """The object ``--format json`` prints."""
    return {
        "conversations": agg.overall.conversations,
        "messages": agg.overall.messages,
        "skipped": tally.skipped,
        "warnings": tally.warnings,
        "elapsed_seconds": round(elapsed, 3),
        "messages_per_second": round(agg.overall.messages / elapsed, 1) if elapsed else None,
        "overall": _group_json(agg.overall),
        "teams": {k: _group_json(g) for k, g in agg.groups("team").items()},
        "agents": {
            k: {"team": agg.agent_team.get(k), **_group_json(g)}
            for k, g in agg.groups("agent").items()
        },
        "weeks": {k: _group_json(g) for k, g in agg.groups("week").items()},
        "recommendations": {
            agent: [
                {
                    "principle": w.principle,
                    "followed": w.followed,
                    "violated": w.violated,
                    "follow_rate": w.follow_rate,
                    "scenarios": list(w.scenarios),
                }
                for w in weak
            ]
            for agent, weak in agg.recommendations().items()
        },
        "written": [str(p) for p in written],
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def summary_table(agg: Aggregator) -> Table:
    """One row per team and a total: conversations, messages, score, principles, protocol and
    the two outcomes a lead looks at first (the report and the JSON have them all)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("team", min_width=12, overflow="ellipsis", no_wrap=True)
    # short headings so the table fits 80 columns; the legend is printed under it
    for column in ("convs", "msgs", "score", "hits +/-", "protocol", "de/esc"):
        table.add_column(column, justify="right", no_wrap=True)

    def row(name: str, g: GroupStats, style: str | None = None) -> None:
        table.add_row(
            Text(name),
            f"{g.conversations:,}",
            f"{g.messages:,}",
            _num(g.mean_score),
            f"{g.followed:,}/{g.violated:,}",
            f"{g.protocol_followed:,}/{g.protocol_needed:,}",
            f"{g.outcomes.get('de-escalated', 0):,}/{g.outcomes.get('escalated', 0):,}",
            style=style,
        )

    for name, stats in agg.groups("team").items():
        row(name, stats)
    row("all", agg.overall, style="bold")
    return table


def qa(
    archives: Annotated[
        list[Path],
        typer.Argument(
            help="Transcript archives: calmline JSONL/CSV, Zendesk, Intercom, Amazon Transcribe "
            "or Twitter-style (TWCS) exports; the format is detected per file.",
            metavar="ARCHIVE",
            show_default=False,
        ),
    ],
    report: Annotated[
        Path | None,
        typer.Option("--report", metavar="FILE", help="Write the HTML report here."),
    ] = None,
    csv_dir: Annotated[
        Path | None,
        typer.Option("--csv", metavar="DIR", help="Write CSV exports into this folder."),
    ] = None,
    parquet_dir: Annotated[
        Path | None,
        typer.Option("--parquet", metavar="DIR", help="Write Parquet exports into this folder."),
    ] = None,
    engine: Annotated[
        QaEngine, typer.Option("--engine", help="local processes, or a Dask cluster.")
    ] = QaEngine.LOCAL,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="tcp://HOST:PORT",
            help="With --engine dask: a running scheduler (default: a LocalCluster on 127.0.0.1).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            min=1,
            help="Worker processes (default: the CPU count; 1 scores in this process).",
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", metavar="N", min=1, help="Conversations per task."),
    ] = 200,
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format",
            metavar="FMT",
            help="Read every archive as this format instead of detecting it.",
        ),
    ] = None,
    playbook: PlaybookOption = None,
    no_models: Annotated[
        bool,
        typer.Option("--no-models", help="Rules only: leave the learned models out."),
    ] = False,
    fmt: Annotated[
        QaFormat,
        typer.Option("--format", "-f", help="Summary: text for people, json for programs."),
    ] = QaFormat.TEXT,
) -> None:
    """Score whole transcript archives: per conversation, then per agent, team and week.

    Writes a self-contained HTML report (--report) and CSV or Parquet exports (--csv,
    --parquet); problems with records go to stderr as FILE:RECORD.

    Exit codes: 0 when every record was used, 2 when records were skipped or the input is bad.
    """
    from calmline.qa.engines import score_archives
    from calmline.qa.report import RunInfo, write_report  # pygal: only when a report is run

    tally = _Tally()
    with _input_errors():
        tally.sizes = _check_archives(archives)
        _check_options(engine, scheduler, input_format, report)
        titles, book = _principle_titles(playbook)
        scenario_titles = _scenario_titles(book)
        agg = Aggregator(scenarios=scenarios_by_principle(playbook=book))
        total_bytes = sum(path.stat().st_size for path in archives)
        started = time.perf_counter()
        progress = _progress()

        def on_problem(problem: IngestProblem) -> None:
            tally.problem(problem)
            tally.reached(problem.source)
            if progress.live.is_started:  # above the bar, which stays at the bottom
                progress.console.print(Text(str(problem)), soft_wrap=True)
            else:
                sys.stderr.write(f"{problem}\n")

        written: list[Path] = []
        try:
            with progress, Exports(csv_dir=csv_dir, parquet_dir=parquet_dir) as exports:
                # one archive: no measure of how far through it we are, so the bar pulses
                files = len(archives)
                task = progress.add_task(
                    "scoring", total=total_bytes if files > 1 else None, counts=""
                )
                scores = score_archives(
                    [str(p) for p in archives],
                    playbook=playbook,
                    models=False if no_models else None,
                    engine=engine.value,
                    workers=workers,
                    scheduler=scheduler,
                    batch_size=batch_size,
                    input_format=input_format,
                    on_problem=on_problem,
                )
                last_update = 0.0
                for score in scores:
                    _count(tally, agg, exports, score)
                    now = time.perf_counter()
                    if now - last_update > 0.1:
                        last_update = now
                        progress.update(
                            task,
                            completed=tally.bytes_done,
                            counts=_counts(tally, started, files),
                        )
                tally.done()
                progress.update(task, completed=total_bytes, counts=_counts(tally, started, files))
                written += exports.finish(agg)
            elapsed = time.perf_counter() - started
            if report is not None:
                run = RunInfo(
                    archives=[str(p) for p in archives],
                    skipped=tally.skipped,
                    warnings=tally.warnings,
                    engine=engine.value,
                    workers=workers,
                    elapsed_seconds=elapsed,
                )
                written.append(
                    write_report(
                        report,
                        agg,
                        run,
                        principle_titles=titles,
                        scenario_titles=scenario_titles,
                    )
                )
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise CalmlineError(f"{where}{exc.strerror or exc}") from None
    _finish(agg, tally, elapsed, written, fmt)


def _count(tally: _Tally, agg: Aggregator, exports: Exports, score: ConversationScore) -> None:
    tally.reached(score.source)
    tally.conversations += 1
    tally.messages += score.customer_messages + score.agent_messages
    agg.add(score)
    exports.write(score)


def _finish(
    agg: Aggregator, tally: _Tally, elapsed: float, written: Sequence[Path], fmt: QaFormat
) -> None:
    if fmt is QaFormat.JSON:
        _write_json(summary_json(agg, tally, elapsed, written), pretty=True)
    else:
        out.print(summary_table(agg))
        out.print(Text(SUMMARY_LEGEND, style="dim"))
        rate = agg.overall.messages / elapsed if elapsed else 0.0
        line = (
            f"{agg.overall.conversations:,} conversations, {agg.overall.messages:,} messages "
            f"in {elapsed:.1f} s ({rate:,.0f} messages/s)"
        )
        if tally.skipped or tally.warnings:
            line += f"; {tally.skipped:,} records skipped, {tally.warnings:,} warnings (see above)"
        out.print(Text(line, style="dim"))
        folders: dict[Path, list[str]] = {}
        for path in written:
            folders.setdefault(path.parent, []).append(path.name)
        for folder, names in folders.items():
            out.print(Text.assemble(("wrote ", "green"), f"{folder}/: {', '.join(names)}"))
    if tally.skipped:
        sys.stderr.write(f"calmline qa: {tally.skipped} record(s) skipped\n")
        raise typer.Exit(EXIT_INPUT)
    raise typer.Exit(EXIT_OK)
