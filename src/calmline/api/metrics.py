"""Prometheus metrics of one service: request latency, findings and signals, live sessions.

Each app has its own registry (two apps in one process, as in tests, never share counts).
Labels are route templates, rule ids and signal types: nothing a customer wrote.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from calmline.core.types import Finding, Signal

#: Latency buckets in seconds, fine-grained where the draft-check target (15 ms) lies.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "calmline_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.findings = Counter(
            "calmline_findings_total",
            "Findings reported on agent drafts and messages, by rule and severity.",
            ["rule", "severity"],
            registry=self.registry,
        )
        self.signals = Counter(
            "calmline_signals_total",
            "Signals read in customer messages, by type.",
            ["type"],
            registry=self.registry,
        )
        self.websockets = Gauge(
            "calmline_websocket_sessions",
            "Open live-guidance WebSocket sessions.",
            registry=self.registry,
        )
        self.incidents = Counter(
            "calmline_incidents_total",
            "Conversations ended through the boundary protocol (incidents written).",
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).observe(seconds)

    def count_findings(self, findings: tuple[Finding, ...] | list[Finding]) -> None:
        for f in findings:
            self.findings.labels(f.rule, f.severity.value).inc()

    def count_signals(self, signals: tuple[Signal, ...] | list[Signal]) -> None:
        for s in signals:
            self.signals.labels(s.type).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
