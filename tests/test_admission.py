"""Budgets, breakers and the ledger in the request path: Router strategy and acompletion."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import litellm
import pytest

from litellm_router_plugin import (
    BudgetExceededError,
    CircuitBreakerOpen,
    MemoryStore,
    Pipeline,
    Planner,
    PluginConfig,
    RouterPluginError,
    acompletion,
    build_router,
)
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.guards.identity import Identity
from tests.conftest import TWO_TIERS, user

EASY = user("Hi there!")
HARD = user("Prove that there are infinitely many primes, rigorously.")


def setup(extra: dict[str, Any], **router_kwargs: Any) -> tuple[Any, Admission]:
    config = PluginConfig.load({**TWO_TIERS, **extra})
    admission = Admission(config, MemoryStore())
    router = build_router(pipeline=Pipeline(config, admission=admission), **router_kwargs)
    return router, admission


async def test_settled_calls_land_in_the_ledger_and_the_counters() -> None:
    router, admission = setup({})
    for messages in (EASY, HARD, EASY):
        await router.acompletion(
            model="auto", messages=messages, mock_response="x", metadata={"router": {"user": "ann"}}
        )
    rows = await admission.store.ledger()
    assert [r["tier"] for r in rows] == ["cheap", "strong", "cheap"]
    assert all(r["user"] == "ann" and r["status"] == "ok" for r in rows)
    # usage of mock responses: 10 prompt + 20 completion tokens, priced at the chosen deployment
    assert rows[1]["cost_micros"] == round((10 * 2.5e-6 + 20 * 1e-5) * 1e6)
    spent, held = await admission.guard.spent()
    assert spent == pytest.approx(sum(r["cost_micros"] for r in rows) / 1e6)
    assert held == 0
    assert (await admission.guard.spent("user", "ann"))[0] == pytest.approx(spent)


async def test_budget_refusal_calls_nothing_and_says_why() -> None:
    router, admission = setup({"budgets": {"global": {"daily": 0.0012}}}, num_retries=0)
    # holds ~$0.00104 (prompt + 100 tokens on gpt-4o), then settles the mock usage: $0.000225
    await router.acompletion(model="auto", messages=HARD, mock_response="x", max_tokens=100)
    with pytest.raises(BudgetExceededError) as info:
        await router.acompletion(model="auto", messages=HARD, mock_response="x", max_tokens=100)
    assert info.value.scope == "global"
    assert info.value.spent_usd == 0.000225
    assert "> daily limit $0.001200" in str(info.value)
    assert len(await admission.store.ledger()) == 1  # the refused request reached no deployment


async def test_downgrade_plans_again_on_a_cheaper_tier() -> None:
    per_request = {"budgets": {"global": {"per_request": 0.002}, "downgrade": True}}
    router, _ = setup(per_request, num_retries=0)
    response = await router.acompletion(model="auto", messages=HARD, mock_response="x", max_tokens=1000)
    decision = response._hidden_params["router_decision"]
    assert decision["analysis"]["category"] == "reasoning"
    assert decision["tier"] == "cheap"
    assert "downgraded to cheap (budget)" in decision["reason"]

    strict, _ = setup({"budgets": {"global": {"per_request": 0.002}}}, num_retries=0)
    with pytest.raises(BudgetExceededError, match="per-request limit"):
        await strict.acompletion(model="auto", messages=HARD, mock_response="x", max_tokens=1000)


async def test_open_breaker_skips_to_the_next_cheapest_then_the_next_tier() -> None:
    breaker = {"breaker": {"failure_threshold": 2, "recovery_timeout": 60}}
    router, admission = setup(breaker, num_retries=0, disable_cooldowns=True)
    boom = litellm.InternalServerError("down", "groq", "gpt-oss-20b")
    for _ in range(2):
        with pytest.raises(litellm.InternalServerError):
            await router.acompletion(model="auto", messages=EASY, mock_response=boom)
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    decision = response._hidden_params["router_decision"]
    assert decision["model"] == "gpt-4o-mini"
    assert "gpt-4o-mini admitted (1 cheaper refused by breaker or budget)" in decision["reason"]
    rows = await admission.store.ledger()
    assert [r["status"] for r in rows][-2:] == ["error:InternalServerError"] * 2
    assert rows[-1]["model"] == "groq/openai/gpt-oss-20b"

    for _ in range(2):
        with pytest.raises(litellm.InternalServerError):
            await router.acompletion(model="auto", messages=EASY, mock_response=boom)
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    assert response._hidden_params["router_decision"]["tier"] == "strong"


async def test_every_breaker_open_raises_without_a_call() -> None:
    config = {"tiers": [{"name": "only", "deployments": ["gpt-4o-mini"]}], "breaker": {"failure_threshold": 1}}
    planner = Planner(PluginConfig.load(config))
    router = build_router(pipeline=Pipeline(planner=planner), num_retries=0, disable_cooldowns=True)
    with pytest.raises(litellm.ServiceUnavailableError):
        await router.acompletion(
            model="auto", messages=EASY, mock_response=litellm.ServiceUnavailableError("x", "openai", "gpt-4o-mini")
        )
    # the recovery timeout (30 s) less the time since the failure: a busy machine may take 0.1 s
    with pytest.raises(CircuitBreakerOpen, match=r"retry after (29\.\d|30\.0)s"):
        await router.acompletion(model="auto", messages=EASY, mock_response="x")


async def test_client_errors_do_not_open_the_breaker() -> None:
    router, _ = setup({"breaker": {"failure_threshold": 1}}, num_retries=0, disable_cooldowns=True)
    for _ in range(3):
        with pytest.raises(litellm.BadRequestError):
            await router.acompletion(
                model="auto", messages=EASY, mock_response=litellm.BadRequestError("bad", "gpt-oss-20b", "groq")
            )
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    assert response._hidden_params["router_decision"]["model"] == "groq/openai/gpt-oss-20b"


async def test_per_user_budget_applies_to_the_identity_in_metadata() -> None:
    router, _ = setup({"budgets": {"per_user": {"daily": 0.0001}}}, num_retries=0)
    meta = {"router": {"user": "carol"}}
    await router.acompletion(model="auto", messages=EASY, mock_response="x", max_tokens=10, metadata=dict(meta))
    with pytest.raises(BudgetExceededError, match="user:carol"):
        await router.acompletion(model="auto", messages=EASY, mock_response="x", max_tokens=330, metadata=dict(meta))
    await router.acompletion(
        model="auto", messages=EASY, mock_response="x", max_tokens=300, metadata={"router": {"user": "dan"}}
    )


async def test_client_user_field_counts_only_when_trusted() -> None:
    limits = {"budgets": {"per_user": {"daily": 0.0001}}}
    untrusted, _ = setup(limits, num_retries=0)
    for _ in range(3):
        await untrusted.acompletion(model="auto", messages=EASY, mock_response="x", max_tokens=330, user="eve")
    trusted, _ = setup({"budgets": {**limits["budgets"], "trust_client_user": True}}, num_retries=0)
    await trusted.acompletion(model="auto", messages=EASY, mock_response="x", max_tokens=330, user="eve")
    with pytest.raises(BudgetExceededError, match="user:eve"):
        await trusted.acompletion(model="auto", messages=EASY, mock_response="x", max_tokens=330, user="eve")


async def test_streamed_call_is_settled_when_the_stream_completes() -> None:
    router, admission = setup({})
    stream = await router.acompletion(model="auto", messages=EASY, mock_response="a streamed answer", stream=True)
    async for _ in stream:
        pass
    for _ in range(50):
        if await admission.store.ledger():
            break
        await asyncio.sleep(0.02)
    rows = await admission.store.ledger()
    assert len(rows) == 1
    assert rows[0]["status"] == "ok"
    assert (await admission.guard.spent())[1] == 0  # the hold was released


async def test_acompletion_is_admitted_and_settled() -> None:
    pipeline = Pipeline({**TWO_TIERS, "budgets": {"global": {"daily": 0.0003}}})
    await acompletion(model="auto", messages=EASY, mock_response="x", max_tokens=50, pipeline=pipeline)
    with pytest.raises(BudgetExceededError, match="global"):  # gpt-4o: ~$0.0006 > $0.0003
        await acompletion(model="auto", messages=HARD, mock_response="x", max_tokens=50, pipeline=pipeline)


def test_sync_completion_admits_and_settles_through_the_memory_store_and_refuses_redis_clearly() -> None:
    router, admission = setup({}, num_retries=0)
    router.completion(model="auto", messages=HARD, mock_response="x")
    with pytest.raises(litellm.InternalServerError):
        router.completion(model="auto", messages=HARD, mock_response=litellm.InternalServerError("x", "openai", "m"))
    for _ in range(100):  # LiteLLM logs synchronous successes from a background thread
        rows = asyncio.run(admission.store.ledger())
        if len(rows) == 2:
            break
        time.sleep(0.02)
    assert sorted(r["status"] for r in rows) == ["error:InternalServerError", "ok"]
    assert asyncio.run(admission.guard.spent()) == (pytest.approx(10 * 2.5e-6 + 20 * 1e-5), 0.0)
    redis_router = build_router({**TWO_TIERS, "store": {"kind": "redis"}}, num_retries=0)
    with pytest.raises(RouterPluginError, match=r"use Router\.acompletion"):
        redis_router.completion(model="auto", messages=HARD, mock_response="x")


async def test_which_statuses_count_is_configurable() -> None:
    only_503 = {"breaker": {"failure_threshold": 1, "failure_status_codes": [503]}}
    router, _ = setup(only_503, num_retries=0, disable_cooldowns=True)
    with pytest.raises(litellm.InternalServerError):  # a 500: not counted here
        await router.acompletion(
            model="auto", messages=EASY, mock_response=litellm.InternalServerError("x", "groq", "gpt-oss-20b")
        )
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    assert response._hidden_params["router_decision"]["model"] == "groq/openai/gpt-oss-20b"
    with pytest.raises(litellm.ServiceUnavailableError):
        await router.acompletion(
            model="auto", messages=EASY, mock_response=litellm.ServiceUnavailableError("x", "groq", "gpt-oss-20b")
        )
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    assert response._hidden_params["router_decision"]["model"] == "gpt-4o-mini"  # the 503 opened it


def test_identity_from_the_proxy_hook_ignores_the_request_body() -> None:
    spoofed = {
        "user": "mallory",
        "metadata": {
            "user_api_key_user_id": "victim",
            "router": {"user": None, "key": "hash-of-real-key", "team": None, "authenticated": True},
        },
    }
    identity = Identity.of(spoofed)
    assert (identity.user, identity.key, identity.team) == (None, "hash-of-real-key", None)
    python_caller = {"metadata": {"router": {"user": "ann", "team": "ml"}}}
    assert Identity.of(python_caller).user == "ann"


async def test_refusals_are_not_retried_by_litellm() -> None:
    from litellm_router_plugin.metrics import REGISTRY

    def refused() -> float:
        return REGISTRY.get_sample_value("lrp_admissions_total", {"result": "refused", "scope": "global"}) or 0.0

    router, admission = setup({"budgets": {"global": {"daily": 0.0000001}}}, num_retries=3)
    before = refused()
    with pytest.raises(BudgetExceededError) as info:
        await router.acompletion(model="auto", messages=HARD, mock_response="x")
    assert info.value.status_code == litellm.budget_exceeded_status_code  # LiteLLM: not retried (422)
    assert refused() - before == 1  # one admission attempt: LiteLLM did not retry the refusal
    assert (await admission.guard.spent()) == (0.0, 0.0)
