"""Properties of any session: whatever the trainee types and however fast, the hidden state
stays in 0-1, the session ends by the turn limit, and a seed replays it exactly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmline.engine import default_engine
from calmline.trainer import load_scenarios
from calmline.trainer.scoring import score
from calmline.trainer.simulator import Session

SCENARIOS = load_scenarios()
PIECES = [
    "I'm so sorry.",
    "You're wrong.",
    "Calm down.",
    "We will never do that.",
    "Do you realise you are shouting at me?",
    "Please stop shouting.",
    "If this continues I will have no option but to end this conversation.",
    "I will personally sort this out today.",
    "I can offer you £480.",
    "What is your order number?",
    "OK.",
    "That sounds frustrating.",
]
replies = st.lists(
    st.tuples(
        st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).map(" ".join),
        st.floats(min_value=0, max_value=400, allow_nan=False),
    ),
    min_size=1,
    max_size=70,
)


def _play(name: str, seed: int, script: list[tuple[str, float]]) -> Session:
    session = Session(SCENARIOS[name], default_engine(), seed=seed)
    session.opening()
    for n in range(200):
        if session.done:
            break
        text, seconds = script[n % len(script)]
        session.reply(text, seconds=seconds)
    return session


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(SCENARIOS)),
    seed=st.integers(min_value=0, max_value=2**32),
    script=replies,
)
def test_any_session_ends_in_bounds_and_replays(
    name: str, seed: int, script: list[tuple[str, float]]
) -> None:
    session = _play(name, seed, script)
    assert session.done
    customer_lines = [e for e in session.transcript if e.role == "customer"]
    assert len(customer_lines) <= SCENARIOS[name].turn_limit + 1
    for exchange in session.transcript:
        state = exchange.state
        assert state is not None
        assert all(0.0 <= v <= 1.0 for v in (state.anger, state.patience, state.trust))
    debrief = score(session)
    assert all(s is None or 0 <= s <= 100 for s in debrief.scores.values())
    assert len(debrief.to_change) <= 3
    assert score(_play(name, seed, script)).to_dict() == debrief.to_dict()
