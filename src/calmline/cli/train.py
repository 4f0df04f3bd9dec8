"""`calmline train`: roleplay a scenario with a simulated customer and get a debrief;
`calmline progress TRAINEE`: a trainee's trend per principle group and the scenarios passed.

``train`` is interactive in a terminal (pick a scenario, type replies timed by the real
clock); with ``--replies FILE`` it plays one reply per line, each taken as sent after
``--reply-seconds``, so the same seed and file always give the same debrief.
"""

from __future__ import annotations

import math
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from calmline.cli import PlaybookOption, _engine, _input_errors, _write_json, out
from calmline.cli.db import DatabaseUrlOption, resolve_database_url
from calmline.core.analyzer import Engine
from calmline.errors import InputError
from calmline.playbook.schema import Playbook
from calmline.store.db import make_engine, make_session_factory
from calmline.store.training import Progress, TrainingStore, Trend, check_trainee
from calmline.trainer.scenario import Band, Scenario, load_scenarios
from calmline.trainer.scoring import Debrief, score
from calmline.trainer.simulator import MAX_REPLY_CHARS, CustomerTurn, Session

#: Seconds each reply of a --replies file is taken to have been typed in.
DEFAULT_REPLY_SECONDS = 20.0
#: Largest replies file read.
MAX_REPLIES_BYTES = 1_000_000
#: What a trainee types to leave an interactive session without a debrief.
QUIT_WORDS = frozenset({"/quit", "/q", "/exit"})
#: Seeds drawn when none is given (small enough to retype).
_SEED_RANGE = 1_000_000
#: Largest seed taken (what the store keeps: a signed 64-bit number).
MAX_SEED = 2**63 - 1


class TrainFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


TrainFormatOption = Annotated[
    TrainFormat,
    typer.Option("--format", "-f", help="Output: text for people, json for programs."),
]

_BAND_STYLE = {Band.CALM: "green", Band.UPSET: "yellow", Band.FURIOUS: "red"}
_TREND_TEXT = {
    Trend.IMPROVING: ("▲ improving", "green"),
    Trend.STEADY: ("► steady", "yellow"),
    Trend.DECLINING: ("▼ declining", "red"),
}
_GROUP_NAMES = {
    "A": "composure",
    "B": "don'ts",
    "C": "do's",
    "D": "protocol",
    "E": "relent",
}


# ----- reading what the trainee gives -------------------------------------------------------------


def read_replies(path: Path) -> list[str]:
    """The replies of a file, one per line (blank lines skipped); InputError naming the file
    and line of anything unusable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such replies file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; give a file with one reply per line") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    if len(raw) > MAX_REPLIES_BYTES:
        raise InputError(
            f"{path}: the file is {len(raw):,} bytes; a replies file may be at most "
            f"{MAX_REPLIES_BYTES:,}"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{bad_line}: not valid UTF-8") from None
    replies = []
    for number, line in enumerate(text.splitlines(), 1):
        reply = line.strip()
        if not reply:
            continue
        if len(reply) > MAX_REPLY_CHARS:
            raise InputError(
                f"{path}:{number}: the reply is {len(reply):,} characters; the limit is "
                f"{MAX_REPLY_CHARS:,}"
            )
        if "\x00" in reply:
            raise InputError(f"{path}:{number}: the reply contains a NUL character")
        replies.append(reply)
    if not replies:
        raise InputError(f"{path}: no replies in the file (one reply per line)")
    return replies


def _scenario(scenarios: Mapping[str, Scenario], name: str) -> Scenario:
    found = scenarios.get(name)
    if found is None:
        raise InputError(f"unknown scenario {name!r}; the scenarios are: {', '.join(scenarios)}")
    return found


def _scenarios(engine: Engine, folder: Path | None) -> dict[str, Scenario]:
    playbook = engine.settings
    return load_scenarios(folder, playbook=playbook if isinstance(playbook, Playbook) else None)


def _store(database_url: str | None) -> TrainingStore:
    db = make_engine(resolve_database_url(database_url), must_exist=True)
    return TrainingStore(make_session_factory(db))


def _now() -> datetime:
    return datetime.now(UTC)


# ----- playing ---------------------------------------------------------------------------------


def play_replies(
    scenario: Scenario,
    engine: Engine,
    replies: Sequence[str],
    *,
    seed: int,
    seconds: float,
    trainee: str | None,
    source: Path,
) -> tuple[Session, int]:
    """A session played with ``replies`` in turn; the session and how many replies it used.
    InputError when the replies run out before the session ends."""
    session = Session(scenario, engine, seed=seed, trainee=trainee)
    session.opening()
    used = 0
    for reply in replies:
        if session.done:
            break
        session.reply(reply, seconds=seconds)
        used += 1
    if not session.done:
        last = session.transcript[-1].text
        raise InputError(
            f"{source}: the {len(replies)} replies ran out before the session ended; add "
            f"replies to answer the customer's last line: {last!r}"
        )
    return session, used


def _customer_line(turn: CustomerTurn, name: str) -> Text:
    # The band stays hidden during the chat (reading the customer is part of the exercise);
    # the debrief's transcript shows it.
    return Text.assemble((f"{name}: ", "bold cyan"), turn.text)


def play_interactively(
    scenario: Scenario,
    engine: Engine,
    *,
    seed: int,
    trainee: str | None,
    ask: Callable[[], str],
    clock: Callable[[], float] = time.monotonic,
) -> Session | None:
    """A session played at the terminal: each reply is timed from the customer's line to the
    moment it is sent. None when the trainee quits."""
    session = Session(scenario, engine, seed=seed, trainee=trainee)
    out.print(briefing(scenario, seed))
    turn = session.opening()
    name = scenario.persona.name
    while True:
        out.print(_customer_line(turn, name))
        if session.done:
            return session
        shown_at = clock()
        while True:
            reply = ask().strip()
            if reply.lower() in QUIT_WORDS:
                out.print(Text("Session left; nothing scored or stored.", style="dim"))
                return None
            if not reply:
                continue
            if len(reply) > MAX_REPLY_CHARS:
                out.print(Text(f"That reply is over {MAX_REPLY_CHARS:,} characters.", style="red"))
                continue
            break
        turn = session.reply(reply, seconds=max(0.0, clock() - shown_at))


# ----- showing ------------------------------------------------------------------------------------


def scenario_table(scenarios: Mapping[str, Scenario]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Scenarios", title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("title")
    table.add_column("scored on", no_wrap=True)
    for number, (name, scenario) in enumerate(scenarios.items(), 1):
        groups = "A B C" + (" D" if scenario.persona.abusive else "")
        groups += " E" if scenario.persona.demand else ""
        table.add_row(str(number), name, escape(scenario.title), groups)
    return table


def scenario_record(scenario: Scenario) -> dict[str, object]:
    return {
        "name": scenario.name,
        "title": scenario.title,
        "customer": scenario.persona.name,
        "abusive": scenario.persona.abusive,
        "demand": scenario.persona.demand,
        "principles": list(scenario.principles),
        "source": scenario.source,
    }


def briefing(scenario: Scenario, seed: int) -> Panel:
    facts = scenario.facts
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    grid.add_row("Customer", Text(f"{scenario.persona.name}: {scenario.persona.description}"))
    grid.add_row("What happened", Text(facts.what_happened))
    grid.add_row("Policy", Text(facts.policy))
    grid.add_row("You can offer", Text("\n".join(f"• {item}" for item in facts.can_offer)))
    grid.add_row("Trains", Text(" ".join(scenario.principles)))
    grid.add_row("", Text("Type your replies; /quit leaves without a debrief.", style="dim"))
    return Panel(
        grid,
        title=f"[bold]{escape(scenario.title)}[/bold] · {escape(facts.company)} · seed {seed}",
        title_align="left",
        border_style="cyan",
    )


def transcript_view(debrief: Debrief, customer: str) -> RenderableType:
    lines: list[RenderableType] = []
    for exchange in debrief.transcript:
        if exchange.role == "customer":
            style = _BAND_STYLE.get(exchange.band, "") if exchange.band else ""
            lines.append(Text.assemble((f"{customer}: ", f"bold {style}"), exchange.text))
        else:
            took = f" ({exchange.reply_seconds:g} s)" if exchange.reply_seconds is not None else ""
            lines.append(Text.assemble(("You", "bold"), (took, "dim"), ": ", exchange.text))
    return Group(*lines)


def _group_label(group: str) -> str:
    return f"{group} {_GROUP_NAMES[group]}" if group in _GROUP_NAMES else group


def _score_text(value: int | float | None) -> Text:
    if value is None:
        return Text("not counted", style="dim")
    style = "green" if value >= 70 else "yellow" if value >= 50 else "red"
    return Text(f"{value:g}", style=style)


def debrief_view(debrief: Debrief, customer: str) -> RenderableType:
    verdict = (
        Text(" PASSED ", style="bold white on green")
        if debrief.passed
        else Text(" NOT PASSED ", style="bold white on red")
    )
    head = Text.assemble(
        verdict,
        "  outcome ",
        (debrief.outcome.value.replace("_", " "), "bold"),
        f" · overall {debrief.scores.get('overall')} (pass mark {debrief.pass_mark})",
    )
    scores = Table(box=box.SIMPLE_HEAD)
    scores.add_column("group")
    scores.add_column("score", justify="right")
    for group in ("A", "B", "C", "D", "E", "overall"):
        scores.add_row(_group_label(group), _score_text(debrief.scores.get(group)))
    parts: list[RenderableType] = [head, scores]
    timing = debrief.timing
    if timing.median_seconds is not None:
        parts.append(
            Text(
                f"Timing: median reply {timing.median_seconds:g} s; {timing.too_fast} too fast "
                f"after a hostile line (pause {timing.pause_seconds:g} s), {timing.stalled} "
                f"over {timing.stall_seconds:g} s.",
                style="dim",
            )
        )
    if debrief.went_well:
        parts.append(Text("Went well", style="bold green"))
        parts.extend(Text(f"• {item}") for item in debrief.went_well)
    if debrief.to_change:
        parts.append(Text("To change", style="bold yellow"))
        for change in debrief.to_change:
            parts.append(
                Text.assemble(
                    (f"• {change.principle} ", "bold"),
                    change.why,
                    ("\n  you said: ", "dim"),
                    (change.said, "red"),
                    ("\n  better:   ", "dim"),
                    (change.better, "green"),
                )
            )
    return Panel(
        Group(*parts),
        title=f"[bold]Debrief[/bold] · {escape(debrief.title)} · seed {debrief.seed}",
        title_align="left",
        border_style="green" if debrief.passed else "red",
    )


# ----- calmline train -----------------------------------------------------------------------------


def _seed(seed: int | None) -> int:
    if seed is None:
        return secrets.randbelow(_SEED_RANGE)
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed: expected a whole number from 0 to {MAX_SEED}, got {seed}")
    return seed


def _check_seconds(seconds: float) -> float:
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"--reply-seconds: expected 0 or more seconds, got {seconds}")
    return seconds


def _pick(scenarios: Mapping[str, Scenario]) -> Scenario:
    out.print(scenario_table(scenarios))
    names = list(scenarios)
    while True:
        answer = Prompt.ask("Scenario (name or number)", console=out).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            return scenarios[names[int(answer) - 1]]
        if answer in scenarios:
            return scenarios[answer]
        out.print(Text(f"No scenario {answer!r}.", style="red"))


def train(
    scenario_name: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            "-s",
            metavar="NAME",
            help="The scenario to play (see --list). Interactive runs ask when it is not given.",
            show_default=False,
        ),
    ] = None,
    replies: Annotated[
        Path | None,
        typer.Option(
            "--replies",
            metavar="FILE",
            help="Play non-interactively: one trainee reply per line, used in turn.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            metavar="N",
            help="Seed of the customer's lines: the same seed and replies play the same way. "
            "Default: a random one, shown in the debrief.",
            show_default=False,
        ),
    ] = None,
    reply_seconds: Annotated[
        float,
        typer.Option(
            "--reply-seconds",
            metavar="SECONDS",
            help="With --replies: how long each reply is taken to have taken (A3 timing).",
        ),
    ] = DEFAULT_REPLY_SECONDS,
    list_only: Annotated[
        bool,
        typer.Option("--list", help="List the scenarios (built-in and the team's) and exit."),
    ] = False,
    trainee: Annotated[
        str | None,
        typer.Option(
            "--trainee",
            metavar="NAME",
            help="Store the session and its scores under this trainee (see calmline progress).",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrlOption = None,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option(
            "--scenarios",
            envvar="CALMLINE_SCENARIOS",
            metavar="DIR",
            help="A team's folder of scenario files, over the built-in ones "
            "(also CALMLINE_SCENARIOS).",
            show_default=False,
        ),
    ] = None,
    playbook: PlaybookOption = None,
    train_format: TrainFormatOption = TrainFormat.TEXT,
) -> None:
    """Roleplay a difficult customer and get a debrief scored on the playbook.

    Without --replies, chat in the terminal; with it, play a file of replies.

    Exit codes: 0 when the session was played (passed or not), 2 for bad input (an unknown
    scenario, an unreadable or too short replies file, a bad scenario folder).
    """
    with _input_errors():
        engine = _engine(playbook)
        scenarios = _scenarios(engine, scenarios_dir)
        if list_only:
            if train_format is TrainFormat.JSON:
                _write_json([scenario_record(s) for s in scenarios.values()], pretty=True)
            else:
                out.print(scenario_table(scenarios))
            return
        # Check the trainee and the database before playing, not after a whole session.
        if trainee is not None:
            trainee = check_trainee(trainee)
        store = _store(database_url) if trainee is not None else None
        if replies is not None:
            if scenario_name is None:
                raise InputError("--replies needs --scenario NAME (see calmline train --list)")
            chosen = _scenario(scenarios, scenario_name)
            lines = read_replies(replies)
            started = _now()
            session, used = play_replies(
                chosen,
                engine,
                lines,
                seed=_seed(seed),
                seconds=_check_seconds(reply_seconds),
                trainee=trainee,
                source=replies,
            )
            if used < len(lines):
                sys.stderr.write(
                    f"{replies}: the session ended after {used} of {len(lines)} replies; "
                    "the rest were not used\n"
                )
        else:
            if train_format is TrainFormat.JSON:
                raise InputError("--format json needs --replies FILE (interactive runs are text)")
            try:
                chosen = (
                    _scenario(scenarios, scenario_name) if scenario_name is not None else None
                ) or _pick(scenarios)
                started = _now()
                played = play_interactively(
                    chosen,
                    engine,
                    seed=_seed(seed),
                    trainee=trainee,
                    ask=lambda: Prompt.ask("[bold]You[/bold]", console=out),
                )
            except (EOFError, KeyboardInterrupt):
                # end of input or Ctrl-C: the same as /quit
                out.print(Text("\nSession left; nothing scored or stored.", style="dim"))
                return
            if played is None:
                return
            session = played
        debrief = score(session)
        stored = None
        if store is not None and trainee is not None:
            stored = store.record(
                trainee, debrief.to_dict(), started_at=started, finished_at=_now()
            )
    if train_format is TrainFormat.JSON:
        _write_json(debrief.to_dict(), pretty=True)
    else:
        if replies is not None:
            out.print(transcript_view(debrief, chosen.persona.name))
        out.print(debrief_view(debrief, chosen.persona.name))
    if stored is not None:
        sys.stderr.write(f"stored as training session {stored} of {trainee}\n")


# ----- calmline progress --------------------------------------------------------------------------


def progress_view(progress: Progress) -> RenderableType:
    groups = Table(
        box=box.SIMPLE_HEAD,
        title=f"{progress.trainee}: {progress.sessions} session"
        + ("s" if progress.sessions != 1 else ""),
        title_justify="left",
    )
    groups.add_column("group")
    groups.add_column("sessions", justify="right")
    groups.add_column("latest", justify="right")
    groups.add_column("trend")
    groups.add_column("scores, oldest first", style="dim")
    for item in progress.groups:
        trend = (
            Text(*_TREND_TEXT[item.trend])
            if item.trend
            else Text("not yet" if item.scores else "not counted", style="dim")
        )
        groups.add_row(
            _group_label(item.group),
            str(len(item.scores)),
            _score_text(item.latest),
            trend,
            " ".join(f"{s:g}" for s in item.scores[-10:]),
        )
    scenarios = Table(box=box.SIMPLE_HEAD, title="Scenarios", title_justify="left")
    scenarios.add_column("scenario", style="cyan")
    scenarios.add_column("attempts", justify="right")
    scenarios.add_column("best overall", justify="right")
    scenarios.add_column("passed")
    for attempted in progress.scenarios:
        scenarios.add_row(
            attempted.scenario,
            str(attempted.attempts),
            _score_text(attempted.best_overall),
            Text("yes", style="green") if attempted.passed else Text("not yet", style="yellow"),
        )
    return Group(groups, scenarios)


def progress(
    trainee: Annotated[
        str,
        typer.Argument(help="The trainee's name, as given to train --trainee.", metavar="TRAINEE"),
    ],
    database_url: DatabaseUrlOption = None,
    train_format: TrainFormatOption = TrainFormat.TEXT,
) -> None:
    """Show a trainee's trend per principle group and which scenarios they have passed.

    Exit codes: 0, or 2 for an unknown trainee or an unusable database.
    """
    with _input_errors():
        found = _store(database_url).progress(trainee)
    if train_format is TrainFormat.JSON:
        _write_json(found.to_dict(), pretty=True)
        return
    out.print(progress_view(found))
