"""The engine: analyse a customer message, check an agent's draft before it is sent.

``Engine`` is built once from validated settings plus the detector and rule objects (the
playbook layer does that) and is then safe to share: it keeps no per-message state, only a
bounded cache of the immutable analyses of conversation messages it has read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property, lru_cache

from calmline.core.detector import ANGER_EVIDENCE, Detector, Evidence, EvidenceSource, Scan
from calmline.core.matcher import PhraseMatcher
from calmline.core.rule import (
    Draft,
    ReplyContext,
    ReplyRule,
    TurnAnalyses,
    apply_rewrites,
    narrow_rewrite,
    rewrites_clash,
    say_once,
)
from calmline.core.settings import EngineSettings
from calmline.core.types import (
    AbuseLevel,
    Credit,
    Finding,
    MessageAnalysis,
    ReplyCheck,
    Role,
    Signal,
    Turn,
    new_message_analysis,
)
from calmline.errors import InputError, MessageTooLong

_ANGER = "anger"
_CREDIT = "credit:"
#: passes of rewriting a draft when rewrites of the same sentence clashed
_FIX_ROUNDS = 3
#: customer messages of conversations (given as turns) whose analyses are kept for reuse
_CONTEXT_MESSAGES = 256
_NO_OWNERS: frozenset[str] = frozenset()


class Engine:
    """Message analysis and draft checks over one playbook."""

    def __init__(
        self,
        settings: EngineSettings,
        detectors: Sequence[Detector],
        rules: Sequence[ReplyRule],
        evidence: Sequence[EvidenceSource] = (),
    ) -> None:
        self.settings = settings
        self.detectors = [d for d in detectors if d.settings.enabled]
        # Which detectors to ask about a message: those without triggers always, the others
        # when one of their triggers has a hit (by position, to keep the playbook's order).
        self._always_asked: list[int] = []
        self._asked_for: dict[str, list[int]] = {}
        for i, detector in enumerate(self.detectors):
            triggers = detector.triggers()
            if triggers is None:
                self._always_asked.append(i)
            for owner in triggers or ():
                self._asked_for.setdefault(owner, []).append(i)
        #: the detectors to ask, in order, by the set of owners with hits (see _asked)
        self._asked_by_owners: dict[frozenset[str], tuple[Detector, ...]] = {}
        self._venting_signals = frozenset(settings.abuse.venting_signals)
        self.rules = [r for r in rules if r.settings.enabled]
        self.evidence_sources = list(evidence)
        self.max_chars = settings.limits.max_message_chars

        message_lexicons = [lex for d in self.detectors for lex in d.lexicons()]
        message_lexicons.append((_ANGER, "words", settings.anger.lexicon))
        self.message_matcher = PhraseMatcher(message_lexicons)

        reply_lexicons = [lex for r in self.rules for lex in r.lexicons()]
        for behaviour, credit in settings.credits.items():
            reply_lexicons.append((_CREDIT + behaviour, "phrases", credit.lexicon))
            reply_lexicons.append((_CREDIT + behaviour, "exceptions", credit.exceptions))
        # Rules that look for the agent swearing read the same words as the message detectors.
        self.reply_matcher = PhraseMatcher(reply_lexicons)
        #: whether check_reply applies the findings' rewrites (see for_review)
        self.fixes = True

    def for_review(self) -> Engine:
        """This engine for reviewing messages already sent: the same playbook, detectors,
        rules and caches, but :meth:`check_reply` leaves ``fixed`` as the draft. Quality review
        reads findings and credits only, and rewriting costs time on every flagged message."""
        twin = copy.copy(self)
        twin.fixes = False
        return twin

    def review_reply(
        self,
        draft: str,
        context: ReplyContext | Iterable[Turn] | None = None,
        *,
        customer_name: str | None = None,
    ) -> tuple[tuple[Finding, ...], tuple[Credit, ...]]:
        """The findings and credits of a message already sent, as :meth:`check_reply` finds
        them, without making the rewrite."""
        draft = self._check_text(draft, "draft")
        findings, credits, _ = self._check_rules(draft, self._as_context(context, customer_name))
        return tuple(findings), credits

    # ----- customer messages -------------------------------------------------------------

    def _check_text(self, text: object, where: str) -> str:
        if not isinstance(text, str):
            raise InputError(f"{where} must be text, got {type(text).__name__}")
        if len(text) > self.max_chars:
            raise MessageTooLong(len(text), self.max_chars, where)
        return text

    def analyze_message(self, text: str, *, names: Sequence[str] = ()) -> MessageAnalysis:
        """Every signal in a customer message, with a message-level anger score and abuse level.

        ``names`` are names known to belong to people in the conversation, so that a name such
        as "Dick" is not read as a swear word.
        """
        if not isinstance(text, str) or len(text) > self.max_chars:
            self._check_text(text, "message")  # raises; the check is inlined for speed
        return self._read_message(text, names)

    def _read_message(self, text: str, names: Sequence[str]) -> MessageAnalysis:
        """:meth:`analyze_message` without the size limit, which guards what callers send: a
        draft's fix can be longer than the draft, and it is read as a message too (rule A8)."""
        matcher = self.message_matcher
        view = matcher.read(text)
        hits = matcher.scan(view)
        scan = Scan(view, hits, names)
        # Most messages have no word that most detectors read: only the always-asked then.
        with_hits = hits.owners()
        owners = frozenset(with_hits) if with_hits else _NO_OWNERS
        asked = self._asked_by_owners.get(owners)
        if asked is None:
            asked = self._asked(owners)
        signals = scan.signals
        for detector in asked:
            if detector.wants(scan):
                signals.extend(detector.detect(scan))
        model_anger = self._merge_evidence(scan) if self.evidence_sources else 0.0
        found = tuple(sorted(signals, key=_text_order)) if signals else ()
        abuse = self._abuse(found) if found else AbuseLevel.NONE  # most messages: no signal
        return new_message_analysis(text, found, self._anger(scan, found, model_anger), abuse)

    def _asked(self, owners: frozenset[str]) -> tuple[Detector, ...]:
        """The detectors to ask about a message whose hits belong to ``owners``: those always
        asked and those one of whose triggers is among the owners, in the playbook's order.

        Remembered in ``_asked_by_owners`` (which :meth:`_read_message` looks in first):
        messages share a few such sets and the answer depends on nothing else; there are at
        most 2**n of them for the playbook's n owners, in practice a few dozen.
        """
        triggered = {i for owner in owners for i in self._asked_for.get(owner, ())}
        chosen = sorted(triggered.union(self._always_asked))
        asked = self._asked_by_owners[owners] = tuple(self.detectors[i] for i in chosen)
        return asked

    def _merge_evidence(self, scan: Scan) -> float:
        """Add the sources' evidence to the scan's signals; return their evidence of anger
        (0-1, combined as a noisy-OR) for :meth:`_anger`."""
        keep = 1.0
        for source in self.evidence_sources:
            for ev in source.evidence(scan.view):
                if ev.signal_type == ANGER_EVIDENCE:
                    keep *= 1.0 - ev.score
                else:
                    self._add_evidence(scan, ev, source.name)
        return 1.0 - keep

    def _add_evidence(self, scan: Scan, ev: Evidence, source: str) -> None:
        """A model's evidence raises the score of a matching signal or adds a new one."""
        for i, sig in enumerate(scan.signals):
            if sig.type == ev.signal_type and (ev.span is None or _overlap(sig.span, ev.span)):
                combined = 1.0 - (1.0 - sig.score) * (1.0 - ev.score)
                scan.signals[i] = Signal(
                    sig.type,
                    sig.principle,
                    sig.span,
                    combined,
                    f"{sig.explanation}; {ev.explanation}",
                    sig.text,
                    (*sig.evidence, source),
                    sig.detail,
                )
                return
        detector = next((d for d in self.detectors if ev.signal_type in d.signal_types), None)
        if detector is None or ev.score < detector.threshold:
            return
        span = ev.span or (0, len(scan.view.text))
        scan.signals.append(
            detector.signal(
                ev.signal_type, span, ev.score, ev.explanation, scan.view, evidence=(source,)
            )
        )

    def _anger(self, scan: Scan, signals: Sequence[Signal], model: float = 0.0) -> float:
        """Noisy-OR of anger words, punctuation, signals and a model's reading (``model``),
        discounted by forgiveness."""
        cfg = self.settings.anger
        view = scan.view
        keep = 1.0 - model
        for hit in scan.hits.get(_ANGER, "words"):
            span = view.span_of(hit.first, hit.last)
            if view.negated(hit.first) or view.quoted(span):
                continue
            keep *= 1.0 - hit.weight
        bangs = view.text.count("!")
        if bangs:
            keep *= (1.0 - cfg.exclamation_weight) ** min(bangs, 4)
        text = view.text
        if "?" in text and ("??" in text or "?!" in text or "!?" in text):
            keep *= 1.0 - cfg.question_burst_weight
        forgiving = False
        for sig in signals:
            if sig.type == "forgiveness":
                forgiving = True
                continue
            weight = cfg.signal_weights.get(sig.type, 0.0)
            if weight:
                keep *= 1.0 - weight * sig.score
        if keep == 1.0:
            return 0.0  # a calm message, most of them
        anger = 1.0 - keep
        if forgiving:
            anger *= 1.0 - cfg.forgiveness_discount
        return round(min(1.0, max(0.0, anger)), 4)

    def _abuse(self, signals: Sequence[Signal]) -> AbuseLevel:
        if not signals:
            return AbuseLevel.NONE
        cfg = self.settings.abuse
        types = {s.type for s in signals}
        if any(s.type == "threat.safety" and s.score >= cfg.safety_threshold for s in signals):
            return AbuseLevel.SAFETY
        if any(s.type == "insult" and s.score >= cfg.insult_threshold for s in signals):
            return AbuseLevel.ABUSIVE
        if cfg.profanity_at_agent_is_abusive and any(
            s.type == "profanity" and s.detail.get("aimed") for s in signals
        ):
            return AbuseLevel.ABUSIVE
        if cfg.shouting_with_profanity_is_abusive and {"shouting", "profanity"} <= types:
            return AbuseLevel.ABUSIVE
        if not types.isdisjoint(self._venting_signals):
            return AbuseLevel.VENTING
        return AbuseLevel.NONE

    # ----- agent drafts --------------------------------------------------------------------

    def context(
        self,
        turns: Iterable[Turn] = (),
        *,
        customer_name: str | None = None,
        agent_name: str | None = None,
        analyses: Sequence[MessageAnalysis | None] | None = None,
    ) -> ReplyContext:
        """Read a conversation so far for :meth:`check_reply`.

        Customer turns are checked now (text, size) and analysed when a rule first needs
        them, which is only the messages the draft answers. ``analyses``, when given, are
        analyses already made of these turns (one per turn, None where missing): they are
        reused instead of reading those messages again.
        """
        turns = list(turns)
        known = list(analyses or ())
        names = tuple(n for n in (customer_name, agent_name) if n)
        for i, turn in enumerate(turns):
            if turn.role is Role.CUSTOMER and (i >= len(known) or known[i] is None):
                self._check_text(turn.text, "context message")

        def read(turn: Turn) -> MessageAnalysis:
            return self._read_context_message(turn.text, names)

        # A customer message is read when a rule first asks for it (checked above already).
        ctx = ReplyContext(
            turns=turns,
            customer_name=customer_name,
            agent_name=agent_name,
            analyses=TurnAnalyses(turns, known, read),
        )
        ctx.upset = self._upset(ctx)
        return ctx

    @cached_property
    def _read_context_message(self) -> Callable[[str, tuple[str, ...]], MessageAnalysis]:
        """:meth:`_read_message` remembering the last messages it read: a live session sends
        the same conversation with every draft, and its messages are read once, not each time.
        Analyses are immutable and depend only on the text, the names and the playbook."""
        return lru_cache(maxsize=_CONTEXT_MESSAGES)(self._read_message)

    def _upset(self, ctx: ReplyContext) -> bool:
        cfg = self.settings.upset
        for analysis in ctx.answering():
            if analysis.anger >= cfg.anger_threshold or analysis.abuse is not AbuseLevel.NONE:
                return True
            if analysis.types & set(cfg.signals):
                return True
        return False

    def check_reply(
        self,
        draft: str,
        context: ReplyContext | Iterable[Turn] | None = None,
        *,
        customer_name: str | None = None,
    ) -> ReplyCheck:
        """Findings for an agent's draft before it is sent, plus the good behaviours in it."""
        draft = self._check_text(draft, "draft")
        ctx = self._as_context(context, customer_name)
        findings, credits, reply = self._check_rules(draft, ctx)
        fixed = self._fix(draft, findings, ctx) if self.fixes else draft
        return ReplyCheck(
            draft=draft,
            findings=tuple(findings),
            credits=credits,
            fixed=fixed,
            politeness=reply.politeness,
        )

    def _as_context(
        self, context: ReplyContext | Iterable[Turn] | None, customer_name: str | None
    ) -> ReplyContext:
        if context is None:
            return self.context((), customer_name=customer_name)
        if isinstance(context, ReplyContext):
            return context
        return self.context(context, customer_name=customer_name)

    def _politeness(self, text: str) -> float | None:
        for source in self.evidence_sources:
            found = source.politeness(text)
            if found is not None:
                return found
        return None

    def _check_rules(
        self, draft: str, ctx: ReplyContext
    ) -> tuple[list[Finding], tuple[Credit, ...], Draft]:
        """The rules' findings and the credits of a draft, and the draft as the rules read it
        (whose politeness is read from the model only when asked for)."""
        view = self.reply_matcher.read(draft)
        hits = self.reply_matcher.scan(view)
        names = tuple(n for n in (ctx.customer_name, ctx.agent_name) if n)
        reply = Draft(
            view=view,
            hits=hits,
            _as_message=lambda: self._read_message(draft, names),
            _politeness=lambda: self._politeness(draft),
        )
        reply.credits = self._credits(reply, ctx)
        findings: list[Finding] = []
        for rule in self.rules:
            if rule.uses_context and ctx.empty:
                continue
            findings.extend(rule.check(reply, ctx))
        findings.sort(key=lambda f: (f.span[0], -f.severity.rank, f.rule))
        return findings, tuple(reply.credits), reply

    def _fix(self, draft: str, findings: Sequence[Finding], ctx: ReplyContext) -> str:
        """The draft with the findings' rewrites applied.

        Each rewrite is cut down to the characters it changes, so changes to different words
        of one sentence all apply. Where two still overlap, the most severe finding's rewrite
        wins and the others get their turn on the result, a bounded number of times, and not
        once the result has grown past the size limit (replacement sentences can be longer
        than what they replace): each round reads the whole text again. A replacement that
        ends up repeated back to back (neighbouring sentences get the same one) is said once.
        """
        fixed = draft
        said: set[str] = set()
        for _ in range(_FIX_ROUNDS):
            ranked = sorted(findings, key=lambda f: -f.severity.rank)
            whole = [f.rewrite for f in ranked if f.rewrite is not None]
            said.update(rw.text for rw in whole)
            rewrites = [narrow_rewrite(fixed, rw) for rw in whole]
            fixed = say_once(apply_rewrites(fixed, rewrites), said)
            # Two different changes can narrow to the same characters ("No, no, ..." loses
            # one "no" either way), and then only one of them has happened.
            merged = len(set(rewrites)) < len(set(whole))
            if not merged and not rewrites_clash(rewrites):
                break
            if len(fixed) > self.max_chars:
                break
            findings, _, _ = self._check_rules(fixed, ctx)
        return fixed

    def _credits(self, reply: Draft, ctx: ReplyContext) -> list[Credit]:
        view = reply.view
        out: list[Credit] = []
        for behaviour, credit in self.settings.credits.items():
            hits = reply.hits.get(_CREDIT + behaviour, "phrases")
            if not hits:
                continue
            exceptions = reply.hits.get(_CREDIT + behaviour, "exceptions")
            for hit in hits:
                span = view.span_of(hit.first, hit.last)
                if view.quoted(span) or (credit.negation_cancels and view.negated(hit.first)):
                    continue
                if any(e.first <= hit.last and hit.first <= e.last for e in exceptions):
                    continue
                out.append(Credit(behaviour, credit.principle, span, view.slice(span)))
                break
        name = ctx.customer_name
        if name and "name" in self.settings.credits:
            low = view.text.lower()
            at = low.find(name.lower())
            if at >= 0:
                out.append(
                    Credit(
                        "name",
                        self.settings.credits["name"].principle,
                        (at, at + len(name)),
                        view.text[at : at + len(name)],
                    )
                )
        return out


def _text_order(signal: Signal) -> tuple[int, int, str]:
    return (signal.span[0], signal.span[1], signal.type)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
