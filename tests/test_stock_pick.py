"""A model the caller names is picked by LiteLLM's own selection (``litellm_compat.stock_pick``) and
admitted: on 1.108/1.109 through the Router's stock pick, on 1.110 through ``Router.select`` and the
strategy's choice, with the strategy installed (which 1.110 would otherwise ask again, recursing)."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest

from litellm_router_plugin import build_router
from litellm_router_plugin.errors import CircuitBreakerOpen
from litellm_router_plugin.integrations.litellm_compat import stock_pick
from tests.conftest import TWO_TIERS, user

HARD = user("Prove that there are infinitely many primes, rigorously.")


def picked(router: Any) -> Any:
    return stock_pick(router, "pair", messages=HARD, input=None, specific_deployment=False, request_kwargs={})


def pair(weights: tuple[float, float]) -> list[dict[str, Any]]:
    """Two deployments of one group, weighted as LiteLLM's simple-shuffle reads ``weight``."""
    return [
        {
            "model_name": "pair",
            "litellm_params": {"model": model, "api_key": "k", "weight": weight},
            "model_info": {"id": f"pair-{model}"},
        }
        for model, weight in zip(("gpt-4o", "gpt-4o-mini"), weights, strict=True)
    ]


@pytest.mark.parametrize(
    "strategy", ["simple-shuffle", "least-busy", "usage-based-routing-v2", "latency-based-routing"]
)
async def test_a_named_group_is_picked_by_litellms_strategy_and_admitted(strategy: str) -> None:
    router = build_router(TWO_TIERS, model_list=pair((1, 1)), routing_strategy=strategy)
    seen = set()
    for _ in range(6):
        response = await router.acompletion(model="pair", messages=HARD, mock_response="x")
        decision = response._hidden_params["router_decision"]
        assert (decision["tier"], decision["requested_model"]) == ("none", "pair")
        seen.add(decision["model"])
    assert seen <= {"gpt-4o", "gpt-4o-mini"}
    assert seen


async def test_litellms_weights_decide_among_a_named_groups_deployments() -> None:
    router = build_router(TWO_TIERS, model_list=pair((1, 0)))
    models = set()
    for _ in range(12):
        response = await router.acompletion(model="pair", messages=HARD, mock_response="x")
        models.add(response._hidden_params["router_decision"]["model"])
    assert models == {"gpt-4o"}  # weight 0: LiteLLM's simple-shuffle never picks it
    entry = await picked(router)
    assert entry["model_info"]["id"] == "pair-gpt-4o"


async def test_a_deployment_litellm_cooled_down_is_not_the_stock_pick(monkeypatch: pytest.MonkeyPatch) -> None:
    # LiteLLM records cooldowns in a failure callback each Router registers, and registers none past
    # 30 (MAX_CALLBACKS): in a process that made many Routers already (this suite), start clean.
    monkeypatch.setattr(litellm, "_async_failure_callback", [])
    monkeypatch.setattr(litellm, "failure_callback", [])
    deployments = pair((1, 0))  # LiteLLM prefers gpt-4o while it is healthy
    deployments[0]["litellm_params"]["mock_response"] = "litellm.RateLimitError"  # it answers 429
    deployments[1]["litellm_params"]["mock_response"] = "ok"
    router = build_router(TWO_TIERS, model_list=deployments, num_retries=3, cooldown_time=60, retry_after=0)
    for _ in range(4):  # the first tries gpt-4o, which cools down; then gpt-4o-mini answers
        try:
            response = await router.acompletion(model="pair", messages=HARD)
        except (litellm.RateLimitError, CircuitBreakerOpen):
            # LiteLLM records a cooldown in its failure callback, which can lag the retries (more so
            # the more Routers a process has made); meanwhile our breaker may open on gpt-4o.
            continue
        assert response._hidden_params["router_decision"]["model"] == "gpt-4o-mini"
    for _ in range(400):  # up to 20 s, until LiteLLM has recorded the cooldown
        if (await picked(router))["model_info"]["id"] == "pair-gpt-4o-mini":
            break
        await asyncio.sleep(0.05)
    picks = set()
    for _ in range(8):
        entry = await picked(router)
        picks.add(entry["model_info"]["id"])
    assert picks == {"pair-gpt-4o-mini"}  # the 429 cooled gpt-4o down: LiteLLM's health decides
    response = await router.acompletion(model="pair", messages=HARD)
    assert response._hidden_params["router_decision"]["model"] == "gpt-4o-mini"
