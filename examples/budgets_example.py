"""Per-user and per-team daily budgets from Python, with a litellm.Router. Runs offline (mock responses).

python examples/budgets_example.py

Who a call is charged to comes from `metadata={"router": {"user": ..., "team": ...}}` (behind the
proxy: from the authenticated key instead, and a client cannot set it). A call that would take a
scope past its limit is refused before any model is called, with `litellm.BudgetExceededError`.
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's bundled prices: no network at import
import litellm

from litellm_router_plugin import build_router

# Made-up prices so a few offline calls reach the limits: $0.002 per call of 20 completion tokens
# (LiteLLM's mock answers count 20). Without them, LiteLLM's own price table applies.
PRICED = {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-4}
CONFIG = {
    "tiers": [
        {"name": "cheap", "deployments": [{"model": "gpt-4o-mini", "litellm_params": PRICED}]},
        {"name": "strong", "deployments": [{"model": "gpt-4o", "litellm_params": PRICED}]},
    ],
    "budgets": {
        "per_user": {"daily": 0.005},  # USD per user per day (the estimate is held until the call settles)
        "per_team": {"daily": 0.005},  # USD per team per day, all its users together
        "timezone": "UTC",  # daily windows roll over at this zone's midnight
    },
}
PROMPT = [{"role": "user", "content": "Name three causes of the French Revolution."}]


async def ask(router: litellm.Router, user: str, team: str) -> str:
    try:
        response = await router.acompletion(
            model="auto",
            messages=PROMPT,
            max_tokens=20,  # the estimate assumes max_tokens completion tokens
            metadata={"router": {"user": user, "team": team}},
            mock_response="(offline mock answer)",  # remove to call the real providers
        )
    except litellm.BudgetExceededError as exc:
        return f"refused: {str(exc).split(';')[0]}"
    decision = response._hidden_params["router_decision"]
    return f"{decision['model']}, estimated ${decision['estimated_cost_usd']:.6f}"


async def main() -> None:
    router = build_router(CONFIG)
    for user, team in [("alice", "ml"), ("alice", "ml"), ("alice", "ml"), ("bob", "ml"), ("carol", "web")]:
        print(f"{user:>5} ({team}): {await ask(router, user, team)}")


if __name__ == "__main__":
    asyncio.run(main())
