"""Scorecards rolled up per agent, team and week as scores stream past, in constant memory.

The aggregator keeps running sums per group (agent, team, week), never the scores themselves,
so its memory grows with the number of agents, teams and weeks, not with the archive. The
only text it keeps is a bounded sample of quotes per principle for the report, redacted as it
is taken.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

import re2

from calmline.core.redact import redact_contacts, redact_names
from calmline.qa.types import ConversationScore, Outcome, PrincipleHit

#: Outcomes in the order reports show them.
OUTCOMES: tuple[str, ...] = get_args(Outcome)
#: Abuse levels in the order reports show them.
ABUSE_LEVELS = ("none", "venting", "abusive", "safety")
#: The key under ConversationScore.extra that carries the conversation's customer name
#: (only ever used to redact it; it is never shown or exported).
CUSTOMER_NAME_KEY = "customer_name"
#: The name shown for a conversation with no agent, team or week.
UNKNOWN = "(unknown)"

Level = Literal["agent", "team", "week"]
LEVELS: tuple[Level, ...] = ("agent", "team", "week")


HANDLE_MARK = "[handle]"
#: an @handle (Twitter, Instagram ...) at a word start; emails are replaced before this runs
_HANDLE = re2.compile(r"(^|[^A-Za-z0-9_.@])@[A-Za-z0-9_]{1,30}")
_NO_DIGITS = str.maketrans("", "", "0123456789")
#: fewer digits than this cannot make a phone number (calmline.core.redact counts 9 to 15)
_PHONE_DIGITS = 9


def redact_quote(text: str, names: Sequence[str] = ()) -> str:
    """``text`` with emails, phone numbers, @handles and the given names replaced by markers.

    Most quotes hold none of them: cheap tests (an ``@``, enough digits, the name's letters
    in any case) skip the RE2 passes that could not match, which keeps exports as fast as the
    scoring they follow.
    """
    if "@" in text or len(text) - len(text.translate(_NO_DIGITS)) >= _PHONE_DIGITS:
        text = redact_contacts(text)
        if "@" in text:  # social replies open with the customer's handle
            text = _HANDLE.sub(r"\1" + HANDLE_MARK, text)
    if names:
        folded = text.casefold()
        present = tuple(n for n in names if n and n.strip().casefold() in folded)
        if present:
            text = redact_names(text, present)
    return text


def customer_names(score: ConversationScore) -> tuple[str, ...]:
    """The customer's name (and its parts) that quotes of this conversation must not show."""
    name = score.extra.get(CUSTOMER_NAME_KEY)
    if not isinstance(name, str) or not name.strip():
        return ()
    whole = " ".join(name.split())
    # the full name first, then each part of two letters or more ("Ada" in "Hi Ada")
    parts = tuple(p for p in whole.split(" ") if len(p) >= 2)
    return (whole, *(p for p in parts if p != whole))


@dataclass
class PrincipleTally:
    """How often one principle was followed (credits) and broken (findings)."""

    followed: int = 0
    violated: int = 0

    @property
    def evidence(self) -> int:
        return self.followed + self.violated

    @property
    def follow_rate(self) -> float | None:
        """Followed / (followed + violated); None with no evidence."""
        return self.followed / self.evidence if self.evidence else None


@dataclass
class GroupStats:
    """Running sums for one agent, team or week (or the whole archive)."""

    key: str
    conversations: int = 0
    customer_messages: int = 0
    agent_messages: int = 0
    score_sum: float = 0.0
    anger_start_sum: float = 0.0
    anger_end_sum: float = 0.0
    anger_peak_sum: float = 0.0
    protocol_needed: int = 0
    protocol_followed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    abuse: Counter[str] = field(default_factory=Counter)
    principles: dict[str, PrincipleTally] = field(default_factory=dict)

    def add(self, score: ConversationScore) -> None:
        self.conversations += 1
        self.customer_messages += score.customer_messages
        self.agent_messages += score.agent_messages
        self.score_sum += score.score
        self.anger_start_sum += score.anger_start
        self.anger_end_sum += score.anger_end
        self.anger_peak_sum += score.anger_peak
        if score.protocol_needed:
            self.protocol_needed += 1
            if score.protocol_followed:
                self.protocol_followed += 1
        self.outcomes[score.outcome] += 1
        self.abuse[score.abuse] += 1
        for hit in score.hits:
            tally = self.principles.get(hit.principle)
            if tally is None:
                tally = self.principles[hit.principle] = PrincipleTally()
            if hit.followed:
                tally.followed += 1
            else:
                tally.violated += 1

    @property
    def messages(self) -> int:
        return self.customer_messages + self.agent_messages

    def _mean(self, total: float) -> float | None:
        return total / self.conversations if self.conversations else None

    @property
    def mean_score(self) -> float | None:
        return self._mean(self.score_sum)

    @property
    def anger_start_mean(self) -> float | None:
        return self._mean(self.anger_start_sum)

    @property
    def anger_end_mean(self) -> float | None:
        return self._mean(self.anger_end_sum)

    @property
    def anger_peak_mean(self) -> float | None:
        return self._mean(self.anger_peak_sum)

    @property
    def protocol_rate(self) -> float | None:
        """Of the conversations that needed the boundary protocol, the share that kept to it."""
        return self.protocol_followed / self.protocol_needed if self.protocol_needed else None

    @property
    def followed(self) -> int:
        return sum(t.followed for t in self.principles.values())

    @property
    def violated(self) -> int:
        return sum(t.violated for t in self.principles.values())

    def row(self) -> dict[str, Any]:
        """The flat record exports write (rates and means None when there is nothing to rate)."""
        return {
            "key": self.key,
            "conversations": self.conversations,
            "customer_messages": self.customer_messages,
            "agent_messages": self.agent_messages,
            "mean_score": self.mean_score,
            "principles_followed": self.followed,
            "principles_violated": self.violated,
            "protocol_needed": self.protocol_needed,
            "protocol_followed": self.protocol_followed,
            "protocol_rate": self.protocol_rate,
            "anger_start_mean": self.anger_start_mean,
            "anger_end_mean": self.anger_end_mean,
            "anger_peak_mean": self.anger_peak_mean,
            **{f"outcome_{o.replace('-', '_')}": self.outcomes.get(o, 0) for o in OUTCOMES},
            **{f"abuse_{a}": self.abuse.get(a, 0) for a in ABUSE_LEVELS},
        }


@dataclass(frozen=True, slots=True)
class Quote:
    """A sampled agent sentence that followed or broke a principle (already redacted)."""

    principle: str
    followed: bool
    text: str
    source: str
    conversation_id: str
    agent: str | None


@dataclass(frozen=True, slots=True)
class Weakness:
    """One of an agent's weakest principles and the scenarios that train it."""

    principle: str
    followed: int
    violated: int
    follow_rate: float
    #: names of the roleplay scenarios whose ``principles`` list it (empty: none trains it)
    scenarios: tuple[str, ...]


def scenarios_by_principle(
    folder: str | Path | None = None, *, playbook: Any = None
) -> dict[str, tuple[str, ...]]:
    """Principle id -> the names of the scenarios (built-in and a team's folder) training it."""
    from calmline.trainer.scenario import load_scenarios

    found: dict[str, list[str]] = {}
    for name, scenario in load_scenarios(folder, playbook=playbook).items():
        for principle in scenario.principles:
            found.setdefault(principle, []).append(name)
    return {p: tuple(sorted(names)) for p, names in sorted(found.items())}


class _Reservoir:
    """A uniform sample of at most ``size`` items from a stream (Algorithm R), seeded."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        self.seen = 0
        self.items: list[Quote] = []
        self._rng = rng

    def offer(self, make: Callable[[], Quote]) -> None:
        """``make()`` builds the item only when it is kept (redaction is not free)."""
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(make())
            return
        slot = self._rng.randrange(self.seen)
        if slot < self.size:
            self.items[slot] = make()


class Aggregator:
    """Feed it every :class:`ConversationScore` with :meth:`add`; read the roll-ups after.

    ``quotes_per_principle`` bounds the quotes kept for each principle, followed and broken
    separately; ``min_evidence`` is how many hits (followed + broken) a principle needs for an
    agent before it can count among that agent's weakest; ``scenarios`` maps principle ids to
    training scenarios (:func:`scenarios_by_principle`).
    """

    def __init__(
        self,
        *,
        scenarios: Mapping[str, Sequence[str]] | None = None,
        quotes_per_principle: int = 3,
        min_evidence: int = 5,
        weakest_count: int = 3,
        seed: int = 0,
    ) -> None:
        self.scenarios = {p: tuple(s) for p, s in (scenarios or {}).items()}
        self.quotes_per_principle = quotes_per_principle
        self.min_evidence = min_evidence
        self.weakest_count = weakest_count
        self.overall = GroupStats("all")
        self.agents: dict[str, GroupStats] = {}
        self.teams: dict[str, GroupStats] = {}
        self.weeks: dict[str, GroupStats] = {}
        #: the team each agent was last seen in
        self.agent_team: dict[str, str] = {}
        self.first_started: datetime | None = None
        self.last_started: datetime | None = None
        self.sources: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._quotes: dict[tuple[str, bool], _Reservoir] = {}

    @staticmethod
    def _group(groups: dict[str, GroupStats], key: str) -> GroupStats:
        stats = groups.get(key)
        if stats is None:
            stats = groups[key] = GroupStats(key)
        return stats

    def add(self, score: ConversationScore) -> None:
        agent = score.agent or UNKNOWN
        team = score.team or UNKNOWN
        self.overall.add(score)
        self._group(self.agents, agent).add(score)
        self._group(self.teams, team).add(score)
        self._group(self.weeks, score.week or UNKNOWN).add(score)
        self.agent_team[agent] = team
        self.sources[score.source] += 1
        if score.started_at is not None:
            if self.first_started is None or score.started_at < self.first_started:
                self.first_started = score.started_at
            if self.last_started is None or score.started_at > self.last_started:
                self.last_started = score.started_at
        if self.quotes_per_principle > 0 and score.hits:
            names = customer_names(score)
            for hit in score.hits:
                self._sample(score, hit, names)

    def add_all(self, scores: Iterable[ConversationScore]) -> Aggregator:
        for score in scores:
            self.add(score)
        return self

    def _sample(self, score: ConversationScore, hit: PrincipleHit, names: tuple[str, ...]) -> None:
        if not hit.quote.strip():
            return
        slot = (hit.principle, hit.followed)
        reservoir = self._quotes.get(slot)
        if reservoir is None:
            reservoir = self._quotes[slot] = _Reservoir(self.quotes_per_principle, self._rng)
        reservoir.offer(
            lambda: Quote(
                principle=hit.principle,
                followed=hit.followed,
                text=redact_quote(hit.quote, names),
                source=hit.source,
                conversation_id=score.conversation_id,
                agent=score.agent,
            )
        )

    # ----- reading the roll-ups ---------------------------------------------------------------

    def groups(self, level: Level) -> dict[str, GroupStats]:
        """The groups of one level, sorted by key (weeks in calendar order)."""
        found = {"agent": self.agents, "team": self.teams, "week": self.weeks}[level]
        return dict(sorted(found.items()))

    def principles(self) -> list[str]:
        """Every principle id seen, sorted."""
        return sorted(self.overall.principles)

    def quotes(self, principle: str, *, followed: bool) -> list[Quote]:
        reservoir = self._quotes.get((principle, followed))
        return list(reservoir.items) if reservoir else []

    def weakest(self, agent: str) -> list[Weakness]:
        """The agent's principles with the lowest follow rate, among those with at least
        ``min_evidence`` hits and at least one broken; lowest first, then most broken."""
        stats = self.agents.get(agent)
        if stats is None:
            return []
        candidates = [
            (tally.follow_rate, -tally.violated, pid, tally)
            for pid, tally in stats.principles.items()
            if tally.evidence >= self.min_evidence and tally.violated > 0
        ]
        candidates.sort(key=lambda c: (c[0], c[1], c[2]))
        return [
            Weakness(
                principle=pid,
                followed=tally.followed,
                violated=tally.violated,
                follow_rate=rate if rate is not None else 0.0,
                scenarios=self.scenarios.get(pid, ()),
            )
            for rate, _, pid, tally in candidates[: self.weakest_count]
        ]

    def recommendations(self) -> dict[str, list[Weakness]]:
        """Every agent with at least one weak principle, with its weakest principles."""
        found = {agent: self.weakest(agent) for agent in sorted(self.agents)}
        return {agent: weak for agent, weak in found.items() if weak}
