"""Cascade vs always-strong vs routed on a labelled arithmetic set, against the fake upstream.

Three tiers priced by LiteLLM's table (``openai/gpt-4o-mini``, ``openai/gpt-4.1-mini``,
``openai/gpt-4o``) are served by the fake upstream in arithmetic mode: each model answers
"What is A + B?" correctly except on a known share of the questions (a stable hash picks them),
where every sample is a random wrong number. Each strategy runs through its own pipeline; its
cost is what that pipeline's ledger charged (so it includes every sample and escalation).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litellm_router_plugin.integrations.hooks import ensure_decision_hook
from litellm_router_plugin.pipeline.cascade import CASCADE_KEY
from litellm_router_plugin.pipeline.confidence import answer_text
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.state.base import MICROS_PER_USD
from litellm_router_plugin.tools.fake_upstream import FakeUpstream

WRONG_RATES: dict[str, float] = {"gpt-4o-mini": 0.30, "gpt-4.1-mini": 0.10, "gpt-4o": 0.02}
"""Share of questions each model answers wrongly (cheapest to strongest)."""
TIER_NAMES = ("cheap", "mid", "strong")


def arithmetic_set(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` labelled questions ``("What is A + B?", "A+B")``."""
    rng = random.Random(seed)
    pairs = [(rng.randint(10, 999), rng.randint(10, 999)) for _ in range(n)]
    return [(f"What is {a} + {b}?", str(a + b)) for a, b in pairs]


def eval_config(upstream: FakeUpstream, wrong_rates: Mapping[str, float] = WRONG_RATES) -> dict[str, Any]:
    """Three one-deployment tiers on ``upstream`` (LiteLLM's prices), cascade from the cheapest."""
    return {
        "tiers": [
            {"name": name, "deployments": [upstream.deployment(model)]}
            for name, model in zip(TIER_NAMES, wrong_rates, strict=True)
        ],
        "cascade": {"start": "cheapest", "checks": ["consistency"], "consistency_threshold": 0.9},
        "resilience": {"retries": 1, "backoff_seconds": 0.01, "backoff_max_seconds": 0.05},
    }


@dataclass(frozen=True, slots=True)
class StrategyRow:
    """One strategy over the set: accuracy, what it cost, where answers came from."""

    strategy: str
    questions: int
    correct: int
    cost_usd: float
    calls: int
    final_tiers: dict[str, int]

    @property
    def accuracy(self) -> float:
        """Share of questions answered correctly."""
        return self.correct / self.questions if self.questions else 0.0


async def _run(
    pipeline: Pipeline, strategy: str, questions: Sequence[tuple[str, str]], router: Mapping[str, Any]
) -> StrategyRow:
    correct = 0
    tiers: dict[str, int] = {}
    for question, answer in questions:
        response = await pipeline.acompletion(
            [{"role": "user", "content": question}], max_tokens=16, metadata={"router": dict(router)}
        )
        correct += answer_text(response).strip() == answer
        hidden = response._hidden_params
        tier = hidden[CASCADE_KEY]["final_tier"] if CASCADE_KEY in hidden else hidden["router_decision"]["tier"]
        tiers[tier] = tiers.get(tier, 0) + 1
    assert pipeline.admission is not None
    ledger = await pipeline.admission.store.ledger()
    cost = sum(int(row["cost_micros"]) for row in ledger) / MICROS_PER_USD
    return StrategyRow(strategy, len(questions), correct, cost, len(ledger), tiers)


async def compare(
    upstream: FakeUpstream, n: int = 100, seed: int = 7, wrong_rates: Mapping[str, float] = WRONG_RATES
) -> list[StrategyRow]:
    """Routed, always-strong and cascade over the same ``n`` questions (fresh pipelines and ledgers)."""
    ensure_decision_hook()  # settles the single calls of routed and always-strong
    upstream.control(
        **{model: {"arithmetic_wrong_rate": rate, "completion_tokens": 4} for model, rate in wrong_rates.items()}
    )
    questions = arithmetic_set(n, seed)
    config = eval_config(upstream, wrong_rates)
    return [
        await _run(Pipeline(config), "routed", questions, {}),
        await _run(Pipeline(config), "always-strong", questions, {"tier": TIER_NAMES[-1]}),
        await _run(Pipeline(config), "cascade", questions, {"cascade": True}),
    ]
