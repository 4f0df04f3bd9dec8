"""The calmline command line: check drafts, analyse transcripts, list rules, run the demo.

Exit codes are part of the contract (docs/cli.md): 0 for success, 1 when ``check`` finds a
``block`` finding (or ``playbook validate`` finds the file invalid), 2 for bad input (an
unreadable file or playbook, a bad option, or transcript rows that had to be skipped).
"""

from __future__ import annotations

import json
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from calmline import __version__
from calmline.core.analyzer import Engine
from calmline.core.types import (
    AbuseLevel,
    Credit,
    Finding,
    MessageAnalysis,
    ReplyCheck,
    Role,
    Severity,
    Turn,
)
from calmline.docsgen import RuleInfo, parse_example, principle_title, rule_infos
from calmline.engine import build_engine, load_engine
from calmline.errors import CalmlineError, TranscriptError
from calmline.playbook.loader import load_playbook
from calmline.transcript import RowProblem, TranscriptFormat, TranscriptReader, TranscriptRow

app = typer.Typer(
    name="calmline",
    help="Coaching for difficult customer conversations, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
playbook_app = typer.Typer(help="Work with playbook files.", no_args_is_help=True)
app.add_typer(playbook_app, name="playbook")

out = Console(highlight=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)

#: Exit codes (documented in docs/cli.md).
EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_INPUT = 2

#: Agent messages in ``analyze`` are checked against at most this many earlier messages of
#: their conversation, and at most this many conversations are followed at once.
CONTEXT_TURNS = 50
OPEN_CONVERSATIONS = 10_000
DEMO_FILE = "demo/conversation.jsonl"


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"


PlaybookOption = Annotated[
    Path | None,
    typer.Option(
        "--playbook",
        envvar="CALMLINE_PLAYBOOK",
        metavar="FILE",
        help="A team playbook YAML file merged over the default (also CALMLINE_PLAYBOOK).",
        show_default=False,
    ),
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="Output: text for people, json or jsonl for programs."),
]
InputFormatOption = Annotated[
    TranscriptFormat | None,
    typer.Option(
        "--input-format",
        help="Transcript format when the file extension does not say (.jsonl or .csv).",
        show_default=False,
    ),
]


# ----- shared plumbing ----------------------------------------------------------------------------


def _say_error(message: str) -> None:
    """One clear message on stderr (plain text, so it can be grepped and never wraps)."""
    sys.stderr.write(f"calmline: error: {message}\n")
    sys.stderr.flush()


@contextmanager
def _input_errors() -> Iterator[None]:
    """Turn calmline's own errors into a one-line message and exit code 2, no traceback."""
    try:
        yield
    except CalmlineError as exc:
        _say_error(exc.message)
        raise typer.Exit(EXIT_INPUT) from None


def _engine(playbook: Path | None) -> Engine:
    try:
        return load_engine(playbook)
    except ImportError as exc:  # a detector or rule plugin that is listed but cannot load
        raise CalmlineError(f"a detector or rule of the playbook cannot be loaded: {exc}") from None


def _write_json(data: Any, *, pretty: bool) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2 if pretty else None)
    sys.stdout.write(text + "\n")


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"calmline {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the calmline version and exit.",
        ),
    ] = False,
) -> None:
    """Coaching for difficult customer conversations, offline.

    Check a draft reply before it is sent, review transcripts, list the playbook's rules,
    or watch the built-in demo conversation.
    """


# ----- rendering (text output) --------------------------------------------------------------------

_SEVERITY_STYLE = {Severity.BLOCK: "bold white on red", Severity.WARN: "black on yellow"}
_ABUSE_STYLE = {
    AbuseLevel.NONE: "green",
    AbuseLevel.VENTING: "yellow",
    AbuseLevel.ABUSIVE: "bold red",
    AbuseLevel.SAFETY: "bold white on red",
}
_BORDER = {
    AbuseLevel.NONE: "blue",
    AbuseLevel.VENTING: "yellow",
    AbuseLevel.ABUSIVE: "red",
    AbuseLevel.SAFETY: "bold red",
}
_BAR_WIDTH = 20
#: Signals shown for an agent's own message in text output (the JSON has them all): the ones
#: that say something about the agent's conduct rather than a customer's request.
AGENT_CONDUCT_SIGNALS = ("shouting", "profanity", "insult", "threat")


def anger_bar(anger: float) -> Text:
    """A fixed-width bar for the anger score, coloured by how hot it is."""
    filled = round(max(0.0, min(1.0, anger)) * _BAR_WIDTH)
    style = "green" if anger < 0.35 else "yellow" if anger < 0.65 else "red"
    return Text.assemble(
        ("█" * filled, style), ("░" * (_BAR_WIDTH - filled), "dim"), (f" {anger:.2f}", style)
    )


def _quoted(text: str, limit: int = 60) -> Text:
    shown = " ".join(text.split())
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return Text(f"“{shown}”", style="italic")


def analysis_view(analysis: MessageAnalysis) -> RenderableType:
    """Anger bar, abuse level and one line per signal."""
    head = Text.assemble(
        ("anger ", "dim"),
        anger_bar(analysis.anger),
        ("   abuse ", "dim"),
        (analysis.abuse.value, _ABUSE_STYLE[analysis.abuse]),
    )
    if not analysis.signals:
        return Group(head, Text("no signals", style="dim"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_column(justify="right", no_wrap=True)
    for sig in analysis.signals:
        grid.add_row(Text(f"• {sig.type}", style="cyan"), _quoted(sig.text), f"{sig.score:.2f}")
    return Group(head, grid)


def _severity_badge(severity: Severity) -> Text:
    return Text(f" {severity.value.upper()} ", style=_SEVERITY_STYLE.get(severity, "reverse"))


def findings_view(engine: Engine, check: ReplyCheck) -> RenderableType:
    """Each finding (rule, principle, severity, text, why, rewrite), credits, and the fix."""
    parts: list[RenderableType] = []
    if check.findings:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        for finding in check.findings:
            grid.add_row(_severity_badge(finding.severity), finding_text(engine, finding))
        parts.append(grid)
    else:
        parts.append(Text("✓ nothing to change", style="green"))
    if check.credits:
        parts.append(credits_text(check.credits))
    if check.findings and check.fixed != check.draft:
        parts.append(Text.assemble(("Suggested reply: ", "bold green"), (check.fixed, "green")))
    return Group(*parts)


def finding_text(engine: Engine, finding: Finding) -> Text:
    title = principle_title(engine, finding.principle)
    text = Text.assemble(
        (finding.rule, "bold"),
        (f" · principle {finding.principle} {title}".rstrip(), "dim"),
        "\n",
        _quoted(finding.text),
        " ",
        finding.message,
    )
    if finding.rewrite is not None:
        suggestion = finding.rewrite.text or "(leave this sentence out)"
        text.append_text(Text.assemble("\n", ("→ ", "green"), (suggestion, "green")))
    return text


def credits_text(credits: Sequence[Credit]) -> Text:
    text = Text("Good: ", style="bold green")
    for i, credit in enumerate(credits):
        if i:
            text.append(" · ")
        text.append(credit.behaviour, style="green")
        text.append(" ")
        text.append_text(_quoted(credit.text, 30))
    return text


def _clock(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def message_panel(
    engine: Engine,
    role: Role,
    text: str,
    analysis: MessageAnalysis,
    check: ReplyCheck | None,
    label: Sequence[str],
) -> Panel:
    """A customer message with its signals, or an agent message with its coaching."""
    title = " · ".join(escape(p) for p in (role.value.capitalize(), *label) if p)
    body: list[RenderableType] = [Text(text), Text("")]
    if role is Role.CUSTOMER:
        body.append(analysis_view(analysis))
        border = _BORDER[analysis.abuse]
    else:
        conduct = tuple(s for s in analysis.signals if s.type.startswith(AGENT_CONDUCT_SIGNALS))
        if conduct:  # the agent shouting, swearing or insulting: show it like a customer's
            body.append(
                analysis_view(
                    MessageAnalysis(analysis.text, conduct, analysis.anger, analysis.abuse)
                )
            )
        if check is not None:
            body.append(findings_view(engine, check))
        worst = check.worst if check else None
        border = "red" if worst is Severity.BLOCK else "yellow" if worst else "green"
    return Panel(
        Group(*body), title=title, title_align="left", border_style=border, box=box.ROUNDED
    )


# ----- calmline check -----------------------------------------------------------------------------


def _read_draft(draft: str, limit: int) -> str:
    if draft == "-":
        try:
            # Read one character past the limit (plus room for a final newline) and no more.
            draft = sys.stdin.read(limit + 3)
        except UnicodeDecodeError:
            raise CalmlineError("the draft on stdin is not valid UTF-8") from None
        if len(draft.strip()) > limit:
            raise CalmlineError(
                f"the draft on stdin is longer than {limit:,} characters "
                "(set limits.max_message_chars in the playbook to change it)"
            )
    try:
        draft.encode("utf-8")
    except UnicodeEncodeError:
        raise CalmlineError("the draft is not valid UTF-8") from None
    draft = draft.strip()
    if not draft:
        raise CalmlineError("the draft is empty; give the reply text, or - to read stdin")
    return draft


def _last_conversation(reader: TranscriptReader) -> str | None:
    last = None
    for item in reader:
        if isinstance(item, TranscriptRow):
            last = item.conversation_id
    return last


def read_context(
    path: Path,
    conversation: str | None,
    input_format: TranscriptFormat | None,
    max_chars: int,
) -> tuple[list[Turn], str | None]:
    """The turns of one conversation of a transcript (the last one unless named) and the
    customer's name from it. Bad rows are reported on stderr and left out."""
    if conversation is None:
        conversation = _last_conversation(
            TranscriptReader(path, input_format=input_format, max_chars=max_chars)
        )
        if conversation is None:
            raise TranscriptError(f"{path}: no usable messages to use as context")
    reader = TranscriptReader(path, input_format=input_format, max_chars=max_chars)
    turns: list[Turn] = []
    customer_name = None
    for item in reader:
        if isinstance(item, RowProblem):
            sys.stderr.write(f"{item}\n")
        elif item.conversation_id == conversation:
            turns.append(item.turn())
            customer_name = item.customer_name or customer_name
    if not turns:
        raise TranscriptError(f"{path}: no conversation {conversation!r} in this file")
    return turns, customer_name


@app.command()
def check(
    draft: Annotated[
        str,
        typer.Argument(
            help='The draft reply to check; "-" reads it from stdin.',
            metavar="DRAFT",
            show_default=False,
        ),
    ],
    context: Annotated[
        Path | None,
        typer.Option(
            "--context",
            metavar="FILE",
            help="The conversation so far: a transcript (JSONL or CSV) in the format "
            "'analyze' reads. Its last conversation is used unless --conversation names one.",
            show_default=False,
        ),
    ] = None,
    conversation: Annotated[
        str | None,
        typer.Option(
            "--conversation",
            metavar="ID",
            help="Which conversation of the --context file the draft answers.",
            show_default=False,
        ),
    ] = None,
    customer_name: Annotated[
        str | None,
        typer.Option(
            "--customer-name",
            metavar="NAME",
            help="The customer's name, used in rewrites (default: from the context file).",
            show_default=False,
        ),
    ] = None,
    input_format: InputFormatOption = None,
    playbook: PlaybookOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Check an agent's draft reply before it is sent.

    Exit codes: 1 when a finding has severity block (use it as a pre-send hook), 0 otherwise.

    2 for bad input (an empty draft, an unreadable context file or playbook).
    """
    with _input_errors():
        engine = _engine(playbook)
        text = _read_draft(draft, engine.max_chars)
        turns: list[Turn] = []
        name_from_file = None
        if context is not None:
            turns, name_from_file = read_context(
                context, conversation, input_format, engine.max_chars
            )
        elif conversation is not None:
            raise CalmlineError("--conversation needs --context FILE")
        ctx = engine.context(turns, customer_name=customer_name or name_from_file)
        result = engine.check_reply(text, ctx)
    if fmt is OutputFormat.TEXT:
        _print_check(engine, result)
    else:
        _write_json(result.to_dict(), pretty=fmt is OutputFormat.JSON)
    raise typer.Exit(EXIT_BLOCKED if result.blocked else EXIT_OK)


def _print_check(engine: Engine, result: ReplyCheck) -> None:
    n = len(result.findings)
    if result.blocked:
        verdict = Text("Blocked: do not send this draft as it is.", style="bold red")
        border = "red"
    elif result.findings:
        verdict = Text(
            f"{n} finding{'s' if n != 1 else ''}: consider the suggestions before sending.",
            style="yellow",
        )
        border = "yellow"
    else:
        verdict = Text("Ready to send.", style="bold green")
        border = "green"
    out.print(Panel(Text(result.draft), title="Draft", title_align="left", border_style=border))
    if result.findings:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        for i, finding in enumerate(result.findings):
            if i:
                grid.add_row("", "")
            grid.add_row(_severity_badge(finding.severity), finding_text(engine, finding))
        out.print(Panel(grid, title="Findings", title_align="left", border_style=border))
    if result.credits:
        out.print(credits_text(result.credits))
    if result.politeness is not None:
        polite = result.politeness
        tone = "polite" if polite >= 0.5 else "curt" if polite >= 0.1 else "impolite"
        out.print(Text.assemble(("Tone: ", "bold"), f"reads as {tone} ({polite:.2f} polite)"))
    if result.findings and result.fixed != result.draft:
        out.print(
            Panel(
                Text(result.fixed),
                title="Suggested reply",
                title_align="left",
                border_style="green",
            )
        )
    out.print(verdict)


# ----- calmline analyze ---------------------------------------------------------------------------


@dataclass
class _Conversation:
    turns: deque[Turn] = field(default_factory=lambda: deque(maxlen=CONTEXT_TURNS))
    #: what the engine read in each of ``turns`` (reused so no message is read twice)
    analyses: deque[MessageAnalysis | None] = field(
        default_factory=lambda: deque(maxlen=CONTEXT_TURNS)
    )
    customer_name: str | None = None


def row_record(
    row: TranscriptRow, analysis: MessageAnalysis, result: ReplyCheck | None
) -> dict[str, Any]:
    """The JSON object ``analyze`` prints for one message."""
    record: dict[str, Any] = {
        "conversation_id": row.conversation_id,
        "line": row.line,
        "role": row.role.value,
        "author": row.author,
        "timestamp": row.timestamp,
        **analysis.to_dict(),
    }
    if result is not None:
        check = result.to_dict()
        record["findings"] = check["findings"]
        record["credits"] = check["credits"]
        record["blocked"] = check["blocked"]
        record["fixed"] = check["fixed"]
    return record


class _Conversations:
    """The recent turns of each open conversation (oldest conversations are let go)."""

    def __init__(self) -> None:
        self.open: OrderedDict[str, _Conversation] = OrderedDict()

    def get(self, conversation_id: str) -> _Conversation:
        conv = self.open.get(conversation_id)
        if conv is None:
            conv = self.open[conversation_id] = _Conversation()
            if len(self.open) > OPEN_CONVERSATIONS:
                self.open.popitem(last=False)
        else:
            self.open.move_to_end(conversation_id)
        return conv


Analysed = tuple[TranscriptRow, MessageAnalysis, ReplyCheck | None]


def analyse_rows(
    engine: Engine, items: Iterator[TranscriptRow | RowProblem], source: str
) -> Iterator[Analysed | RowProblem]:
    """Analyse every message; check every agent message against its conversation so far."""
    conversations = _Conversations()
    for item in items:
        if isinstance(item, RowProblem):
            yield item
            continue
        row = item
        conv = conversations.get(row.conversation_id)
        if row.customer_name:
            conv.customer_name = row.customer_name
        names = tuple(n for n in (conv.customer_name, row.author) if n)
        try:
            analysis = engine.analyze_message(row.text, names=names)
            result = None
            if row.role is Role.AGENT:
                ctx = engine.context(
                    conv.turns,
                    customer_name=conv.customer_name,
                    agent_name=row.author,
                    analyses=conv.analyses,
                )
                result = engine.check_reply(row.text, ctx)
        except CalmlineError as exc:
            yield RowProblem(source, row.line, None, exc.message)
            continue
        conv.turns.append(row.turn())
        conv.analyses.append(analysis if row.role is Role.CUSTOMER else None)
        yield row, analysis, result


class _JsonOut:
    """JSON array or JSON lines, written as rows arrive (nothing is held back)."""

    def __init__(self, lines: bool) -> None:
        self.lines = lines
        self.count = 0

    def emit(self, record: dict[str, Any]) -> None:
        text = json.dumps(record, ensure_ascii=False)
        if self.lines:
            sys.stdout.write(text + "\n")
        else:
            sys.stdout.write(("[\n" if self.count == 0 else ",\n") + text)
        self.count += 1

    def close(self) -> None:
        if not self.lines:
            sys.stdout.write("[]\n" if self.count == 0 else "\n]\n")


@app.command()
def analyze(
    file: Annotated[
        Path,
        typer.Argument(
            help="A transcript: JSONL or CSV with conversation_id, role, text "
            "(and optionally timestamp, author, customer_name).",
            metavar="FILE",
            show_default=False,
        ),
    ],
    input_format: InputFormatOption = None,
    playbook: PlaybookOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Analyse every message of a transcript and check every agent reply.

    Bad rows are reported on stderr as FILE:LINE and skipped.

    Exit codes: 0 when every row was fine, 2 when rows were skipped or the file is unreadable.
    """
    with _input_errors():
        engine = _engine(playbook)
        reader = TranscriptReader(file, input_format=input_format, max_chars=engine.max_chars)
        json_out = (
            _JsonOut(lines=fmt is OutputFormat.JSONL) if fmt is not OutputFormat.TEXT else None
        )
        skipped = 0
        shown = 0
        current: str | None = None
        conversations: set[str] = set()
        for item in analyse_rows(engine, iter(reader), reader.name):
            if isinstance(item, RowProblem):
                skipped += 0 if item.warning else 1
                sys.stderr.write(f"{item}\n")
                continue
            row, analysis, result = item
            shown += 1
            if json_out is not None:
                json_out.emit(row_record(row, analysis, result))
                continue
            if row.conversation_id != current:
                current = row.conversation_id
                conversations.add(current)
                out.rule(Text(f"Conversation {current}", style="bold"), align="left")
            label = [row.author or "", f"line {row.line}", _clock(row.timestamp)]
            out.print(message_panel(engine, row.role, row.text, analysis, result, label))
        if json_out is not None:
            json_out.close()
    if fmt is OutputFormat.TEXT:
        summary = f"{shown} message{'s' if shown != 1 else ''} in {len(conversations)} conversation"
        summary += "s" if len(conversations) != 1 else ""
        if skipped:
            summary += f"; {skipped} row{'s' if skipped != 1 else ''} skipped (see above)"
        out.print(Text(summary, style="dim"))
    if reader.format is TranscriptFormat.JSONL and reader.json_lines == 0 and reader.skipped:
        _say_error(f"{reader.name}: no line is a JSON object; is this a JSONL transcript?")
    if skipped:
        sys.stderr.write(f"{reader.name}: {skipped} row(s) skipped\n")
        raise typer.Exit(EXIT_INPUT)


# ----- calmline rules -----------------------------------------------------------------------------


@app.command()
def rules(playbook: PlaybookOption = None, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """List the reply rules: what each catches, its example, and the rewrite calmline proposes."""
    with _input_errors():
        engine = _engine(playbook)
        infos = rule_infos(engine)
    if fmt is OutputFormat.JSON:
        _write_json([i.to_dict() for i in infos], pretty=True)
        return
    if fmt is OutputFormat.JSONL:
        for info in infos:
            _write_json(info.to_dict(), pretty=False)
        return
    for info in infos:
        out.print(_rule_panel(info))
    on = sum(1 for i in infos if i.enabled)
    out.print(Text(f"{len(infos)} rules, {on} switched on. Details: docs/rules.md", style="dim"))


def _example_text(example: str, style: str) -> Text:
    """A docstring example; a conversation ("Customer: ... Agent: ...") one turn a line."""
    parsed = parse_example(example)
    if parsed is None or not parsed.context:
        return Text(example, style=style)
    text = Text()
    for turn in parsed.context:
        text.append(f"{turn.role.value.capitalize()}: ", style="dim")
        text.append(turn.text + "\n")
    text.append("Agent: ", style="dim")
    text.append(parsed.draft, style=style)
    return text


def _rule_panel(info: RuleInfo) -> Panel:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    grid.add_row("Catches", Text(info.summary))
    if info.anti_pattern:
        grid.add_row("Don't", _example_text(info.anti_pattern, "red"))
    if info.best_practice:
        grid.add_row("Do", _example_text(info.best_practice, "green"))
    if info.fires and info.fixed is not None:
        grid.add_row("calmline", Text(info.fixed, style="green"))
    elif info.fires is False:
        grid.add_row("calmline", Text("does not fire on this example", style="yellow"))
    state = "" if info.enabled else " · off"
    title = (
        f"[bold]{escape(info.id)}[/bold] {escape(info.name)} · "
        f"principle {escape(info.principle)} {escape(info.principle_title)} · "
        f"{escape(info.severity)}{state}"
    )
    border = "red" if info.severity == "block" else "yellow" if info.severity == "warn" else "blue"
    return Panel(
        grid, title=title, title_align="left", border_style=border if info.enabled else "dim"
    )


# ----- calmline demo ------------------------------------------------------------------------------


@contextmanager
def _demo_file() -> Iterator[Path]:
    with resources.as_file(resources.files("calmline").joinpath(DEMO_FILE)) as path:
        yield path


@app.command()
def demo(playbook: PlaybookOption = None, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Play a built-in difficult conversation (a lost parcel) with the coaching turn by turn."""
    with _input_errors():
        engine = _engine(playbook)
        with _demo_file() as path:
            reader = TranscriptReader(path, max_chars=engine.max_chars, name="demo")
            started = time.perf_counter()
            turns = list(analyse_rows(engine, iter(reader), reader.name))
            elapsed = time.perf_counter() - started
    rows = [t for t in turns if not isinstance(t, RowProblem)]
    if fmt is not OutputFormat.TEXT:
        records = []
        for n, (row, analysis, result) in enumerate(rows, 1):
            record = {"turn": n, "text": row.text, **row_record(row, analysis, result)}
            records.append(record)
        if fmt is OutputFormat.JSONL:
            for record in records:
                _write_json(record, pretty=False)
        else:
            _write_json(records, pretty=True)
        return
    _print_demo(engine, rows, elapsed)


def _print_demo(
    engine: Engine,
    rows: Sequence[Analysed],
    elapsed: float,
) -> None:
    out.print(
        Panel(
            Text.assemble(
                ("A customer's birthday present is lost in the post. ", "bold"),
                "She gets angry, shouts, swears and threatens a bad review; the agent's first "
                "drafts make it worse, the later ones turn it round. calmline reads each "
                "customer message into signals and checks each agent draft before it is sent.",
            ),
            title="[bold]calmline demo[/bold]: a lost parcel",
            title_align="left",
            border_style="cyan",
        )
    )
    findings = 0
    for n, (row, analysis, result) in enumerate(rows, 1):
        label = [row.author or "", f"turn {n}"]
        out.print(message_panel(engine, row.role, row.text, analysis, result, label))
        if result is not None:
            findings += len(result.findings)
    drafts = sum(1 for _, _, r in rows if r is not None)
    out.print(
        Text(
            f"{len(rows)} messages read and {drafts} drafts checked ({findings} findings) "
            f"in {elapsed * 1000:.1f} ms of engine time.",
            style="dim",
        )
    )
    out.print(
        Text.assemble(
            ("Next: ", "bold"),
            'calmline check "your draft"   ·   calmline coach transcript.jsonl   ·   '
            "calmline analyze transcript.jsonl   ·   calmline rules",
        )
    )


# ----- calmline playbook validate -----------------------------------------------------------------


@playbook_app.command("validate")
def playbook_validate(
    file: Annotated[
        Path, typer.Argument(help="The team playbook YAML file to check.", metavar="FILE")
    ],
) -> None:
    """Check a playbook file: YAML, schema, principle ids and every detector and rule setting.

    Exits 0 when the file is valid and 1 when it is not.
    """
    try:
        playbook = load_playbook(file)
        engine = build_engine(playbook)
    except CalmlineError as exc:
        err.print(Text.assemble(("invalid ", "red"), exc.message))
        raise typer.Exit(1) from None
    out.print(
        Text.assemble(
            ("valid ", "green"),
            f"{file}: {len(playbook.principles)} principles, "
            f"{len(engine.detectors)} detectors, {len(engine.rules)} rules",
        )
    )


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        # The reader went away (calmline analyze big.jsonl | head): stop quietly.
        _silence_stdout()
        sys.exit(EXIT_OK)


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


# ----- command groups in their own modules (imported last: they use the helpers above) ----------

from calmline.cli.coach import coach  # noqa: E402
from calmline.cli.db import db_app  # noqa: E402
from calmline.cli.incidents import incidents_app  # noqa: E402
from calmline.cli.keys import keys_app  # noqa: E402
from calmline.cli.notify import notify_app  # noqa: E402
from calmline.cli.protocol import protocol_app  # noqa: E402
from calmline.cli.qa import qa  # noqa: E402
from calmline.cli.relent import relent  # noqa: E402
from calmline.cli.serve import serve  # noqa: E402
from calmline.cli.train import progress, train  # noqa: E402

app.command("coach")(coach)
app.add_typer(db_app, name="db", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")
app.add_typer(keys_app, name="keys")
app.add_typer(notify_app, name="notify")
app.add_typer(protocol_app, name="protocol")
app.command("qa")(qa)
app.command("relent")(relent)
app.command("serve")(serve)
app.command("train")(train)
app.command("progress")(progress)
