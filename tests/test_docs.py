"""The docs cannot drift: generated pages are up to date and every command, option, setting,
rule and signal is documented with an example."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer
from pydantic import BaseModel

from calmline import Engine, Role
from calmline.cli import OutputFormat, app
from calmline.cli.protocol import ProtocolFormat
from calmline.cli.train import TrainFormat
from calmline.coach.protocol import ProtocolMachine, classify_acts
from calmline.core.types import SIGNAL_TYPES
from calmline.docsgen import (
    PARAMS_END,
    PARAMS_START,
    SIGNAL_EXAMPLES,
    field_comments,
    main,
    parse_example,
    render_docs,
    rule_class,
    rule_infos,
)
from calmline.playbook.loader import load_playbook
from calmline.playbook.schema import Playbook
from calmline.transcript import TranscriptFormat

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
REGENERATE = "run `python -m calmline.docsgen` from the repository root"


def section(text: str, heading: str) -> str:
    """The part of a markdown page from ``heading`` to the next heading of the same level."""
    level = heading.split(" ")[0]
    start = text.index(heading)
    rest = text[start + len(heading) :]
    m = re.search(rf"^{level} ", rest, flags=re.M)
    return text[start : start + len(heading) + (m.start() if m else len(rest))]


# ----- generated pages ----------------------------------------------------------------------------


def test_generated_docs_are_up_to_date(engine: Engine) -> None:
    for path, content in render_docs(DOCS, engine).items():
        assert path.exists(), f"{path} is missing: {REGENERATE}"
        assert path.read_text(encoding="utf-8") == content, f"{path} is out of date: {REGENERATE}"


def test_docsgen_check_mode(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    assert main(["--docs", str(docs)]) == 0
    assert main(["--docs", str(docs), "--check"]) == 0
    (docs / "rules.md").write_text("stale\n", encoding="utf-8")
    assert main(["--docs", str(docs), "--check"]) == 1
    assert (docs / "rules.md").read_text(encoding="utf-8") == "stale\n"
    assert main(["--docs", str(docs)]) == 0
    assert main(["--docs", str(docs), "--check"]) == 0
    assert main(["--docs", str(tmp_path / "nowhere")]) == 2


def test_every_rule_is_in_rules_md_with_its_examples(engine: Engine) -> None:
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    for rule_id in engine.settings.rules:
        cls = rule_class(engine, rule_id)
        assert cls is not None
        doc = cls.doc()
        part = section(text, f"## {rule_id} {cls.name}")
        assert doc.summary in part
        assert doc.anti_pattern and doc.best_practice, f"{rule_id} docstring needs both examples"
        assert "**Anti-pattern**" in part and "**Best practice**" in part
        assert "**What calmline does with the anti-pattern**" in part


def test_every_signal_type_is_in_signals_md_with_an_example() -> None:
    text = (DOCS / "signals.md").read_text(encoding="utf-8")
    for signal_type in SIGNAL_TYPES:
        part = section(text, f"## {signal_type}\n")
        assert signal_type in SIGNAL_EXAMPLES
        if "No detector of the default playbook" not in part:
            assert "**Example**" in part and SIGNAL_EXAMPLES[signal_type] in part
    assert "custom.*" in text


def test_every_principle_is_in_the_index(engine: Engine) -> None:
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    index = section(text, "## Principles and what cites them")
    playbook = engine.settings
    assert isinstance(playbook, Playbook)
    for p in playbook.principles:
        assert f"**{p.id}** {p.title}" in index


# ----- the examples shown are what calmline really does ---------------------------------------


def test_every_rule_fires_on_its_own_anti_pattern_and_not_on_its_best_practice(
    engine: Engine,
) -> None:
    for info in rule_infos(engine):
        if not info.enabled:
            continue
        assert info.fires, f"{info.id} does not fire on its docstring anti-pattern"
        assert not info.fires_on_best_practice, f"{info.id} fires on its own best practice"


def test_every_signal_example_gives_its_signal(engine: Engine) -> None:
    emitted = {t for d in engine.detectors for t in d.signal_types}
    for signal_type, example in SIGNAL_EXAMPLES.items():
        if signal_type not in emitted:
            continue
        found = [s.type for s in engine.analyze_message(example).signals]
        assert signal_type in found, f"{example!r} gives {found}, not {signal_type}"


@pytest.mark.parametrize(
    ("text", "context", "draft"),
    [
        ("Calm down.", [], "Calm down."),
        (
            "Customer: This is the third time! Agent: Calm down.",
            [(Role.CUSTOMER, "This is the third time!")],
            "Calm down.",
        ),
        (
            "Customer: Hi. Agent: Hello. Customer: You idiot. Agent: You are the idiot.",
            [(Role.CUSTOMER, "Hi."), (Role.AGENT, "Hello."), (Role.CUSTOMER, "You idiot.")],
            "You are the idiot.",
        ),
    ],
)
def test_parse_example(text: str, context: list[tuple[Role, str]], draft: str) -> None:
    example = parse_example(text)
    assert example is not None
    assert [(t.role, t.text) for t in example.context] == context
    assert example.draft == draft


def test_parse_example_without_a_draft() -> None:
    assert parse_example("") is None
    assert parse_example("Customer: Where is my parcel?") is None


# ----- docs/cli.md --------------------------------------------------------------------------------


def commands(group: Any, prefix: str = "calmline") -> Iterator[tuple[str, Any]]:
    """Every leaf command of the Typer app as ("calmline playbook validate", command)."""
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            yield from commands(command, path)
        else:
            yield path, command


CHOICES = {
    "fmt": [f.value for f in OutputFormat],
    "input_format": [f.value for f in TranscriptFormat],
    "protocol_format": [f.value for f in ProtocolFormat],
    "train_format": [f.value for f in TrainFormat],
}


#: Every command of the CLI, one per line; each needs its section in docs/cli.md.
DOCUMENTED_COMMANDS = [
    "calmline check",
    "calmline analyze",
    "calmline rules",
    "calmline demo",
    "calmline playbook validate",
    "calmline coach",
    "calmline notify run",
    "calmline notify status",
    "calmline notify test",
    "calmline db upgrade",
    "calmline db current",
    "calmline incidents list",
    "calmline incidents show",
    "calmline incidents ack",
    "calmline keys create",
    "calmline keys list",
    "calmline keys revoke",
    "calmline relent",
    "calmline protocol show",
    "calmline train",
    "calmline progress",
    "calmline qa",
    "calmline serve",
]


def test_every_command_and_option_is_in_cli_md() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    for param in root.params:
        for opt in param.opts:
            assert f"`calmline {opt}`" in text, opt
    found = list(commands(root))
    assert {p for p, _ in found} == set(DOCUMENTED_COMMANDS)
    for path, command in found:
        part = section(text, f"## `{path}`")
        assert "```console" in part, f"{path} has no example in docs/cli.md"
        assert command.params, path
        for param in command.params:
            if param.param_type_name == "argument":
                assert f"`{param.metavar}`" in part, f"{param.metavar} of {path}"
                continue
            for opt in param.opts:
                assert f"`{opt}" in part, f"{opt} of {path} is not in its section of docs/cli.md"
            for choice in CHOICES.get(param.name, []):
                assert choice in part, f"{choice} of {param.opts} in {path}"


def test_cli_md_documents_the_exit_codes() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    table = section(text, "## Exit codes")
    for code in ("`0`", "`1`", "`2`"):
        assert code in table
    assert "CALMLINE_PLAYBOOK" in text


# ----- docs/playbook.md ---------------------------------------------------------------------------


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if get_origin(annotation) is not None:  # list[X], dict[str, X], X | None ...
        for arg in get_args(annotation):
            yield from _models(arg)


def all_settings_models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [Playbook]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            todo.extend(_models(info.annotation))
    return seen


def test_every_settings_field_is_in_playbook_md() -> None:
    text = (DOCS / "playbook.md").read_text(encoding="utf-8")
    hand_written = text[: text.index(PARAMS_START)]
    # The coach's sections (pacing, relent ...) are documented in docs/coach.md.
    hand_written += (DOCS / "coach.md").read_text(encoding="utf-8")
    models = all_settings_models()
    names = {m.__name__ for m in models}
    assert {"DetectorSettings", "RuleSettings", "AngerSettings", "Limits", "Scripts"} <= names
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if f"`{name}`" not in hand_written
    ]
    assert not missing, f"settings not documented in docs/playbook.md: {missing}"
    assert "`extends`" in hand_written and "`none`" in hand_written


def test_every_params_field_is_in_playbook_md(engine: Engine) -> None:
    text = (DOCS / "playbook.md").read_text(encoding="utf-8")
    block = text[text.index(PARAMS_START) : text.index(PARAMS_END)]
    components: list[tuple[str, type[BaseModel] | None]] = [
        (f"detectors.{d.key}", d.Params) for d in engine.detectors
    ] + [(f"rules.{r.id}", r.Params) for r in engine.rules]
    for key, params in components:
        assert f"`{key}.params`" in block, key
        for name in params.model_fields if params else {}:
            assert f"| `{name}` |" in block, f"{key}.params.{name}"


def test_playbook_md_explains_merging_and_word_list_detectors() -> None:
    text = (DOCS / "playbook.md").read_text(encoding="utf-8")
    for needle in (
        "Mappings merge",
        "Lists and single values replace",
        "Weight 0 switches a phrase off",
        "extends: none",
        "params: {signal: custom.",
        "file, the line and the key",
    ):
        assert needle in text, needle


def test_field_comments_are_read_from_the_source() -> None:
    class Example(BaseModel):
        #: how many words in a row
        min_run: int = 3
        plain: int = 1

    assert field_comments(Example) == {"min_run": "how many words in a row"}


# ----- docs/transcripts.md ------------------------------------------------------------------------


def test_transcripts_md_shows_the_example_files_the_tests_use() -> None:
    text = (DOCS / "transcripts.md").read_text(encoding="utf-8")
    cases = Path(__file__).parent / "cases" / "transcripts"
    for name in ("example.jsonl", "example.csv"):
        content = (cases / name).read_text(encoding="utf-8").strip()
        assert content.replace("\r\n", "\n") in text, f"{name} differs from docs/transcripts.md"
    for field in ("conversation_id", "role", "text", "timestamp", "author", "customer_name"):
        assert f"`{field}`" in text
    assert "ignored with a" in text and "warning" in text
    assert "**0** when every row was fine" in text and "**2** when some rows were skipped" in text


# ----- README ----------------------------------------------------------------------------------


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = _readme()
    first_block = readme.split("```console", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["$ make serve", "$ make test"]
    assert readme.index("```console") < readme.index("## What it does")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == "exec make test"


def test_readme_python_example_runs_and_its_comments_are_true() -> None:
    readme = _readme()
    code = readme.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    analysis, check = namespace["analysis"], namespace["check"]
    assert f"AbuseLevel.{analysis.abuse.name}" in code
    assert f"# {analysis.anger:.2f}" in code
    for signal in analysis.signals:
        assert f"('{signal.type}', '{signal.principle}', '{signal.text}')" in code
    shown_fixed = code.split("check.fixed\n# ", 1)[1].splitlines()[0]
    assert json.loads(shown_fixed) == check.fixed
    for rule, severity, text in re.findall(r"\('(\w\d)', '(\w+)', '([^']+)'\)", code):
        assert any(
            f.rule == rule and f.severity == severity and f.text == text for f in check.findings
        ), (rule, text)


def test_readme_commands_exist() -> None:
    readme = _readme()
    shown = set(re.findall(r"^\$ (calmline \w+(?: [a-z]+)?)", readme, flags=re.M))
    found = {path for path, _ in commands(typer.main.get_command(app))}
    assert shown, "the README shows no calmline command"
    for line in shown:
        assert any(
            path == line or path.startswith(line + " ") or line.startswith(path + " ")
            for path in found
        ), line


# ----- docs/protocol.md ---------------------------------------------------------------------------


def _protocol_md() -> str:
    return (DOCS / "protocol.md").read_text(encoding="utf-8")


def test_protocol_md_diagram_is_the_default_protocol() -> None:
    text = _protocol_md()
    block = text.split("<!-- protocol-diagram:start -->", 1)[1].split("<!-- protocol-diagram:end")[
        0
    ]
    shown = block.strip().removeprefix("```mermaid").removesuffix("```").lstrip("\n")
    expected = ProtocolMachine(load_playbook().protocol).to_mermaid()
    assert shown == expected, (
        "docs/protocol.md shows an old diagram: paste the output of "
        "`calmline protocol show --format mermaid` between the protocol-diagram markers"
    )


def test_protocol_md_examples_are_what_calmline_does() -> None:
    text = _protocol_md()
    protocol = load_playbook().protocol
    table = section(text, "## How an agent's message is recognised")
    rows = re.findall(r"^\| ([^|`]+?) \| ((?:`\w+`(?:, )?)+|none) \|$", table, flags=re.M)
    assert len(rows) >= 6
    for message, acts in rows:
        assert classify_acts(message, protocol) == tuple(re.findall(r"`(\w+)`", acts)), message
    code = text.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code.replace("print(", "str("), "docs/protocol.md", "exec"), namespace)
    machine, finding = namespace["machine"], namespace["finding"]
    state = (machine.stage, machine.warnings_given, machine.recommended_act())
    assert f"# {state!r}" in code
    assert f"# {(finding.rule, finding.severity.value)!r}" in code


def test_every_error_code_is_in_errors_md() -> None:
    import importlib
    import pkgutil

    import calmline
    from calmline.errors import CalmlineError

    for module in pkgutil.walk_packages(calmline.__path__, "calmline."):
        importlib.import_module(module.name)

    def subclasses(cls: type[CalmlineError]) -> list[type[CalmlineError]]:
        return [s for c in cls.__subclasses__() for s in (c, *subclasses(c))]

    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    for cls in (CalmlineError, *subclasses(CalmlineError)):
        assert f"| `{cls.code}` | `{cls.__name__}` |" in text, cls.__name__


# ----- docs/operations.md -------------------------------------------------------------------------


def test_every_serve_setting_is_in_operations_md_with_its_variable_and_an_example() -> None:
    from calmline.settings import ServeSettings

    table = section((DOCS / "operations.md").read_text(encoding="utf-8"), "## Settings")
    for name in ServeSettings.model_fields:
        variable = f"CALMLINE_SERVE__{name.upper()}"
        row = next((r for r in table.splitlines() if r.startswith(f"| `{name}` |")), None)
        assert row is not None, f"serve.{name} is not in docs/operations.md#settings"
        assert f"| `{variable}` |" in row, f"serve.{name}: the row does not name {variable}"
        assert f"`{variable}=" in row, f"serve.{name}: the row has no example"


def test_every_metric_is_in_operations_md() -> None:
    from calmline.api.metrics import Metrics

    part = section((DOCS / "operations.md").read_text(encoding="utf-8"), "## `/metrics`")
    names = [
        family.name + ("_total" if family.type == "counter" else "")
        for family in Metrics().registry.collect()
    ]
    assert len(names) >= 5
    for name in names:
        assert f"| `{name}` |" in part, f"{name} is not in docs/operations.md#metrics"


def test_the_live_protocol_in_operations_md_has_every_frame_and_close_code() -> None:
    from calmline.api.routes import ws

    part = section((DOCS / "operations.md").read_text(encoding="utf-8"), "## The live protocol")
    for kind in (*ws.FRAMES, "hello", "check", "guidance", "pong", "error"):
        assert f'{{"type": "{kind}"' in part, kind
    for code in (ws.CLOSE_POLICY, ws.CLOSE_TOO_BIG, ws.CLOSE_TRY_LATER):
        assert f"| {code} |" in part, code
    assert "### An example session" in part
