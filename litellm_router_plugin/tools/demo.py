"""The offline demo: varied prompts through a real ``litellm.Router`` with mock responses."""

from __future__ import annotations

from dataclasses import dataclass

from litellm_router_plugin.integrations.router import build_router
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.routing.decision import METADATA_KEY
from litellm_router_plugin.routing.planner import Planner

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
