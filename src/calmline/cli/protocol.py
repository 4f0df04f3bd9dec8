"""`calmline protocol show`: the boundary protocol (D1-D5) a playbook defines, as a table, a
Mermaid diagram or JSON."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from calmline.cli import PlaybookOption, _input_errors, _write_json, out
from calmline.coach.protocol import ProtocolMachine
from calmline.playbook.loader import load_playbook
from calmline.playbook.protocol import CONDITIONS, ProtocolDefinition

protocol_app = typer.Typer(
    help="The boundary protocol for abusive behaviour (D1-D5).", no_args_is_help=True
)


class ProtocolFormat(StrEnum):
    TEXT = "text"
    MERMAID = "mermaid"
    JSON = "json"


def protocol_view(definition: ProtocolDefinition) -> Group:
    """The states with their steps, the transitions with their conditions, and the acts."""
    n = definition.warnings
    head = Text.assemble(
        ("Boundary protocol", "bold"),
        f": {n} warning{'s' if n != 1 else ''} before the conversation may end",
        ("   started by ", "dim"),
        ", ".join(definition.triggers),
    )
    states = Table(title="States", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("state", "step", "", "label"):
        states.add_column(column, no_wrap=column != "label")
    for name, state in definition.states.items():
        role = (
            "initial" if name == definition.initial else "final" if name == definition.final else ""
        )
        states.add_row(Text(name, style="cyan"), state.step or "", Text(role, "dim"), state.label)
    moves = Table(title="Transitions", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("from", "act", "to", "when"):
        moves.add_column(column)
    for t in definition.transitions:
        moves.add_row(", ".join(t.from_), Text(t.act, "bold"), t.to, Text(t.when or "", "yellow"))
    used = dict.fromkeys(t.when for t in definition.transitions if t.when)
    conditions = Text("\n").join(
        Text.assemble((name, "yellow"), ": ", CONDITIONS[name].replace("`warnings`", str(n)))
        for name in used
    )
    acts = Table(title="Acts", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("act", "what it is", "phrases"):
        acts.add_column(column, justify="right" if column == "phrases" else "left")
    for name, act in definition.acts.items():
        phrases = sum(1 for w in act.phrases.values() if w > 0) + sum(
            1 for listed in act.include for w in definition.words[listed].values() if w > 0
        )
        acts.add_row(Text(name, "bold"), act.label, str(phrases))
    return Group(head, Text(""), states, moves, conditions, Text(""), acts)


@protocol_app.command("show")
def show(
    playbook: PlaybookOption = None,
    protocol_format: Annotated[
        ProtocolFormat,
        typer.Option(
            "--format",
            "-f",
            help="text: tables for people; mermaid: a stateDiagram-v2 to paste into docs; "
            "json: the definition as data.",
        ),
    ] = ProtocolFormat.TEXT,
) -> None:
    """Show the boundary protocol: its states and steps, transitions, conditions and warnings.

    Exits 2 when the playbook cannot be read or its protocol is not sound.
    """
    with _input_errors():
        definition = load_playbook(playbook).protocol
    if protocol_format is ProtocolFormat.MERMAID:
        sys.stdout.write(ProtocolMachine(definition).to_mermaid())
    elif protocol_format is ProtocolFormat.JSON:
        _write_json(definition.model_dump(mode="json", by_alias=True), pretty=True)
    else:
        out.print(protocol_view(definition))
