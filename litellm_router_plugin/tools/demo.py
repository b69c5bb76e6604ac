"""The offline demo: varied prompts through a real ``litellm.Router`` with mock responses."""

from __future__ import annotations

from dataclasses import dataclass

from litellm_router_plugin.integrations.router import build_router
from litellm_router_plugin.pipeline.cascade import CASCADE_KEY
from litellm_router_plugin.pipeline.confidence import answer_text
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.routing.decision import METADATA_KEY
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.tools.cascade_eval import WRONG_RATES, arithmetic_set, eval_config
from litellm_router_plugin.tools.fake_upstream import FakeUpstream, hard_for

DEMO_PROMPTS: tuple[str, ...] = (
    "Hi there!",
    "Thanks, that's all.",
    "What is the capital of Australia?",
    "Translate 'good morning' into Spanish.",
    "Who wrote Pride and Prejudice?",
    "Define photosynthesis in one sentence.",
    "Summarise the plot of Hamlet in three sentences for a high-school student.",
    "Write a short, friendly email asking my landlord when the heating will be repaired.",
    "Explain the difference between a list and a tuple in Python.",
    "Write a Python function that parses an ISO-8601 date string and returns a datetime, with unit tests.",
    "Write a SQL query that joins orders and customers and returns the top 10 customers by revenue in 2024, "
    "using a window function to rank them per country.",
    "Debug this code: it raises KeyError on the second call.\n```python\ndef get(d, k):\n    return d[k]\n```",
    "Refactor this JavaScript class to use async/await instead of callbacks and explain the trade-offs.",
    "Compare PostgreSQL and MySQL for a write-heavy analytics workload: indexes, locking and replication.",
    "Prove that there are infinitely many prime numbers.",
    "Prove rigorously that the square root of 2 is irrational, then derive a general criterion for "
    "when the square root of an integer is irrational.",
    "Design a step-by-step migration plan from a monolith to microservices for a payments company: "
    "data consistency, rollback strategy, team structure, and how to evaluate success at each phase.",
    "Why does a distributed system need consensus? Explain the trade-offs between Raft and Paxos, "
    "the edge cases around network partitions, and what happens if a leader fails mid-commit?",
    "Plan a 3-day trip to Kyoto: first list the must-see temples, then group them by area, then "
    "propose a schedule that avoids crowds.",
    "Solve for x: 3x + 7 = 22, and explain each step.",
)


@dataclass(frozen=True, slots=True)
class DemoRow:
    """One prompt's outcome in the demo."""

    prompt: str
    category: str
    score: int
    tier: str
    model: str
    estimated_cost_usd: float
    strongest_cost_usd: float
    response_cost_usd: float | None


async def run_demo(planner: Planner, prompts: tuple[str, ...] = DEMO_PROMPTS) -> list[DemoRow]:
    """Send ``prompts`` through ``build_router`` with ``mock_response``; no keys, no network."""
    router = build_router(pipeline=Pipeline(planner=planner))
    rows = []
    for prompt in prompts:
        response = await router.acompletion(
            model=planner.alias,
            messages=[{"role": "user", "content": prompt}],
            mock_response="(mock answer)",
        )
        decision = response._hidden_params[METADATA_KEY]
        rows.append(
            DemoRow(
                prompt=prompt,
                category=decision["analysis"]["category"],
                score=decision["analysis"]["score"],
                tier=decision["tier"],
                model=decision["model"],
                estimated_cost_usd=decision["estimated_cost_usd"],
                strongest_cost_usd=planner.strongest_estimate(decision["prompt_tokens"], decision["max_tokens"]),
                response_cost_usd=response._hidden_params.get("response_cost"),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class CascadeDemoRow:
    """One cascaded question: where it ended, why it escalated, what each step cost."""

    question: str
    expected: str
    answer: str
    tiers: list[str]
    reasons: list[str]
    step_costs: list[tuple[str, float]]
    """(tier, USD) per step, samples summed."""
    total_cost_usd: float
    strongest_cost_usd: float
    """The same question answered once by the strongest tier (LiteLLM's prices, the same usage)."""


async def run_cascade_demo() -> list[CascadeDemoRow]:
    """Two arithmetic questions cascaded over a fake upstream on loopback (no keys, no network
    beyond 127.0.0.1): one the cheap model gets right (kept), one it gets wrong (its two samples
    disagree, so it escalates)."""
    cheap, mid = list(WRONG_RATES)[:2]
    questions = arithmetic_set(60)
    kept = next(q for q in questions if not hard_for(cheap, q[0], WRONG_RATES[cheap]))
    weak = next(q for q in questions if hard_for(cheap, q[0], WRONG_RATES[cheap]) and not hard_for(mid, q[0], 0.1))
    rows = []
    with FakeUpstream() as upstream:
        upstream.control(**{m: {"arithmetic_wrong_rate": r, "completion_tokens": 4} for m, r in WRONG_RATES.items()})
        pipeline = Pipeline(eval_config(upstream))
        strongest = pipeline.tier_map.strongest.deployments[0].price
        for question, expected in (kept, weak):
            response = await pipeline.acompletion(
                [{"role": "user", "content": question}], max_tokens=16, metadata={"router": {"cascade": True}}
            )
            result = response._hidden_params[CASCADE_KEY]
            steps: dict[str, float] = {}
            for call in result["calls"]:
                steps[call["tier"]] = steps.get(call["tier"], 0.0) + call["cost_usd"]
            last = result["calls"][-1]
            rows.append(
                CascadeDemoRow(
                    question=question,
                    expected=expected,
                    answer=answer_text(response),
                    tiers=result["tiers_tried"],
                    reasons=[
                        f"{e['check']} {e['value']:.2f} < {e['threshold']:g}"
                        for e in result["escalations"]
                        if e["value"] is not None
                    ],
                    step_costs=list(steps.items()),
                    total_cost_usd=result["total_cost_usd"],
                    strongest_cost_usd=strongest.estimate(last["prompt_tokens"], last["completion_tokens"]),
                )
            )
    return rows
