"""The quality-review report: one self-contained HTML file with tables and inline SVG charts.

Everything the page needs is inside it: CSS inline, charts drawn by pygal as SVG with its
scripts taken out, no font, image, script or stylesheet from anywhere else. It opens from a
file, offline, and asks no host for anything. Agent and customer text is hostile input: the
template autoescapes everything, and quotes were redacted when they were sampled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pygal  # type: ignore[import-untyped]  # no stubs, no py.typed
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from pygal.style import Style  # type: ignore[import-untyped]

from calmline.qa.aggregate import OUTCOMES, UNKNOWN, Aggregator, GroupStats
from calmline.qa.export import atomic_file

_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#7b8794",
    colors=("#2f6fb0", "#c2410c", "#15803d", "#7c3aed", "#b45309", "#0e7490"),
    font_family="system-ui, sans-serif",
    title_font_size=14,
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
)


@dataclass
class RunInfo:
    """What the report says about the run itself (not read from the scores)."""

    archives: Sequence[str] = ()
    skipped: int = 0
    warnings: int = 0
    engine: str = "local"
    workers: int | None = None
    elapsed_seconds: float | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    title: str = "Quality review"


def _strip_between(text: str, start: str, end: str) -> str:
    """``text`` without every ``start ... end`` run (plain string search: linear time)."""
    out: list[str] = []
    pos = 0
    while True:
        i = text.find(start, pos)
        if i < 0:
            out.append(text[pos:])
            return "".join(out)
        j = text.find(end, i + len(start))
        out.append(text[pos:i])
        if j < 0:
            return "".join(out)
        pos = j + len(end)


def svg(chart: Any) -> Markup:
    """A pygal chart as inline SVG with no script, no comment and no namespace URL.

    pygal escapes the labels and values it writes as XML text, so the SVG is safe to mark up.
    Its script (tooltips) would reach for files and hosts, so it goes; its comments name web
    addresses and the namespace declarations are not needed inline in HTML.
    """
    text = chart.render(is_unicode=True)
    text = _strip_between(text, "<script", "</script>")
    text = _strip_between(text, "<!--", "-->")
    for declaration in (
        ' xmlns="http://www.w3.org/2000/svg"',
        ' xmlns:xlink="http://www.w3.org/1999/xlink"',
    ):
        text = text.replace(declaration, "")
    return Markup(text)


def _chart_config(**extra: Any) -> dict[str, Any]:
    return {
        "js": [],
        "disable_xml_declaration": True,
        "style": _STYLE,
        "width": 720,
        "height": 300,
        "explicit_size": False,
        "legend_at_bottom": True,
        "show_minor_x_labels": True,
        "x_label_rotation": 30,
        "print_values": False,
        **extra,
    }


def _weeks(aggregator: Aggregator) -> dict[str, GroupStats]:
    return {k: v for k, v in aggregator.groups("week").items() if k != UNKNOWN}


def charts(aggregator: Aggregator) -> dict[str, Markup]:
    """The report's charts by name; a chart with nothing to draw is left out."""
    found: dict[str, Markup] = {}
    weeks = _weeks(aggregator)
    labels = list(weeks)
    if labels:
        score = pygal.Line(**_chart_config(title="Mean score per week", range=(0, 100)))
        score.x_labels = labels
        score.add("mean score", [_round(w.mean_score) for w in weeks.values()])
        found["score"] = svg(score)

        anger = pygal.Line(**_chart_config(title="Customer anger per week", range=(0, 1)))
        anger.x_labels = labels
        anger.add("at the start", [_round(w.anger_start_mean, 3) for w in weeks.values()])
        anger.add("at the end", [_round(w.anger_end_mean, 3) for w in weeks.values()])
        found["anger"] = svg(anger)

        volume = pygal.Bar(**_chart_config(title="Conversations per week"))
        volume.x_labels = labels
        volume.add("conversations", [w.conversations for w in weeks.values()])
        volume.add("needed the protocol", [w.protocol_needed for w in weeks.values()])
        found["volume"] = svg(volume)

        if any(w.protocol_needed for w in weeks.values()):
            protocol = pygal.Line(
                **_chart_config(title="Boundary protocol kept (share) per week", range=(0, 1))
            )
            protocol.x_labels = labels
            protocol.add("kept", [_round(w.protocol_rate, 3) for w in weeks.values()])
            found["protocol"] = svg(protocol)

    tallies = aggregator.overall.principles
    if tallies:
        pids = sorted(tallies)
        bars = pygal.StackedBar(
            **_chart_config(title="Principles followed and broken", x_label_rotation=0)
        )
        bars.x_labels = pids
        bars.add("followed", [tallies[p].followed for p in pids])
        bars.add("broken", [tallies[p].violated for p in pids])
        found["principles"] = svg(bars)

    outcomes = aggregator.overall.outcomes
    if outcomes:
        pie = pygal.Pie(**_chart_config(title="Outcomes", inner_radius=0.45, height=280))
        for outcome in OUTCOMES:
            if outcomes.get(outcome):
                pie.add(outcome, outcomes[outcome])
        found["outcomes"] = svg(pie)
    return found


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("calmline.qa", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    return env


def render_report(
    aggregator: Aggregator,
    run: RunInfo | None = None,
    *,
    principle_titles: Mapping[str, str] | None = None,
    scenario_titles: Mapping[str, str] | None = None,
) -> str:
    """The whole report as one HTML string."""
    run = run or RunInfo()
    titles = dict(principle_titles or {})
    overall = aggregator.overall
    principles = [
        {
            "id": pid,
            "title": titles.get(pid, ""),
            "tally": overall.principles[pid],
            "followed_quotes": aggregator.quotes(pid, followed=True),
            "broken_quotes": aggregator.quotes(pid, followed=False),
        }
        for pid in aggregator.principles()
    ]
    untrained = sorted(
        {w.principle for weak in aggregator.recommendations().values() for w in weak}
        - set(aggregator.scenarios)
    )
    template = _environment().get_template("report.html")
    return template.render(
        run=run,
        overall=overall,
        agg=aggregator,
        teams=aggregator.groups("team"),
        agents=aggregator.groups("agent"),
        weeks=aggregator.groups("week"),
        outcomes=OUTCOMES,
        principles=principles,
        titles=titles,
        scenario_titles=dict(scenario_titles or {}),
        recommendations=aggregator.recommendations(),
        untrained=untrained,
        charts=charts(aggregator),
        min_evidence=aggregator.min_evidence,
    )


def write_report(
    path: str | Path,
    aggregator: Aggregator,
    run: RunInfo | None = None,
    *,
    principle_titles: Mapping[str, str] | None = None,
    scenario_titles: Mapping[str, str] | None = None,
) -> Path:
    """Render the report and write it to ``path`` (replaced only once it is complete)."""
    html = render_report(
        aggregator, run, principle_titles=principle_titles, scenario_titles=scenario_titles
    )
    target = Path(path)
    with atomic_file(target) as handle:
        handle.write(html)
    return target
