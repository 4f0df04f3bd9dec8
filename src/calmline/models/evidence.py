"""The shipped model as a source of evidence for the engine's signals and tone checks.

For a customer message it reads three heads at once:

- ``offensive`` adds to ``insult`` when the message is aimed at someone ("you", "your", ...)
  and the probability reaches the playbook's ``models.insult_threshold``; a message aimed at
  no one adds to ``venting`` from ``models.venting_threshold`` (swearing at someone is not
  venting, so an aimed message below the insult threshold adds nothing). A signal the
  rules found keeps its span and gains the model as evidence; where the rules found none,
  the signal covers the message.
- ``anger`` and ``irritation`` give an anger intensity (anger counts fully, irritation
  half), which joins the message's anger score with the weight ``models.anger_weight``.

For an agent's draft, ``politeness`` is the probability that it reads as polite; rule B3
flags a draft whose impoliteness reaches its ``impolite_threshold``.
"""

from __future__ import annotations

from collections.abc import Iterator

from calmline.core.detector import ANGER_EVIDENCE, Evidence
from calmline.core.settings import ModelSettings
from calmline.core.text import TextView
from calmline.models import features as feats
from calmline.models.linear import LinearModels

#: words that aim a message at the person reading it
SECOND_PERSON = frozenset(
    {"you", "your", "yours", "yourself", "yourselves", "you're", "youre", "ur", "u"}
    | {"ya", "yall", "y'all", "thou"}
)


_ANGER_WHY = "the model's reading of anger and irritation"


class ModelEvidence:
    """Evidence from the shipped model, thresholded by the playbook's ``models`` settings."""

    name = "model"

    def __init__(self, models: LinearModels, settings: ModelSettings) -> None:
        self.models = models
        self.settings = settings
        heads = models.names
        self._offensive = models.head("offensive")
        self._anger = models.head("anger")
        self._irritation = models.head("irritation")
        self._politeness = models.head("politeness")
        #: the columns of the three heads a customer message needs
        self._columns = (
            heads.index("offensive"),
            heads.index("anger"),
            heads.index("irritation"),
        )

    def evidence(self, view: TextView) -> Iterator[Evidence]:
        cfg = self.settings
        words = feats.words(view.text)
        raw = self.models.raw_words(words)
        i_off, i_anger, i_irr = self._columns
        offensive = self._offensive.probability(raw[i_off])
        if offensive >= cfg.venting_threshold:
            if not SECOND_PERSON.isdisjoint(words):
                # aimed at someone: an insult or nothing (aimed swearing is not venting)
                if offensive >= cfg.insult_threshold:
                    yield Evidence(
                        "insult",
                        offensive,
                        f"the model reads it as offensive and aimed at you ({offensive:.2f})",
                    )
            else:
                yield Evidence(
                    "venting", offensive, f"the model reads it as offensive ({offensive:.2f})"
                )
        anger = self._anger.probability(raw[i_anger])
        intensity = max(anger, 0.5 * self._irritation.probability(raw[i_irr]))
        if intensity >= 0.05:
            # joins the anger score, which carries no explanation of its own
            yield Evidence(ANGER_EVIDENCE, cfg.anger_weight * intensity, _ANGER_WHY)

    def politeness(self, text: str) -> float:
        """The probability that ``text`` reads as polite (0-1)."""
        return self.models.predict_words(feats.words(text), only=self._politeness)["politeness"]
