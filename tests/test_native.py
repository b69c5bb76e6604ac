"""LiteLLM-native accounting and observability: the call is charged LiteLLM's ``response_cost``
(prompt-cache prices included) and the decision reaches LiteLLM's logging in its own shape."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litellm.integrations.custom_logger import CustomLogger

from litellm_router_plugin import BudgetExceededError, MemoryStore, Pipeline, PluginConfig, Store, build_router, metrics
from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.guards.admission import Admission, Offer
from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.guards.litellm_budgets import LiteLLMBudget
from litellm_router_plugin.state import RedisStore
from litellm_router_plugin.tools.fake_upstream import FakeUpstream
from tests.conftest import user
from tests.stores import REDIS_URL, START


def _in_proxy() -> bool:
    return "litellm.proxy.proxy_server" in sys.modules


class Payloads(CustomLogger):  # type: ignore[misc]
    """A test logger: keeps the standard logging payload of every successful call."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.seen.append(kwargs["standard_logging_object"])


_LOGGER = Payloads()


@pytest.fixture
def logged() -> Iterator[Payloads]:
    """The test logger, registered once per process (LiteLLM keeps its own copies of the callback
    lists, so a logger removed from ``litellm.callbacks`` may still be called)."""
    if _LOGGER not in litellm.callbacks:
        litellm.callbacks.append(_LOGGER)
    _LOGGER.seen.clear()
    yield _LOGGER
    _LOGGER.seen.clear()


async def _payload_of(logger: Payloads, response: Any) -> dict[str, Any]:
    """The payload LiteLLM logged for ``response`` (its ``id`` is the response's). LiteLLM logs success
    in a background task: a call of an earlier test may still be logged while this one runs."""
    import asyncio

    for _ in range(200):
        for payload in logger.seen:
            if payload.get("id") == response.id:
                return payload
        await asyncio.sleep(0.01)
    raise AssertionError(f"no payload logged for {response.id} ({len(logger.seen)} others)")


def _config(fake: FakeUpstream, prefix: str) -> dict[str, Any]:
    return {
        "tiers": [
            {"name": "cheap", "deployments": [fake.deployment("gpt-4o-mini")]},
            {"name": "strong", "deployments": [fake.deployment("gpt-4o")]},
        ],
        "budgets": {"all_requests": {"daily": 100}, "per_user": {"daily": 10}},
        "store": {"kind": "redis", "url": REDIS_URL, "prefix": prefix},
    }


async def test_cached_prompt_tokens_settle_at_litellms_response_cost(fake: FakeUpstream, logged: Payloads) -> None:
    fake.control(**{"gpt-4o-mini": {"prompt_tokens": 4000, "cached_tokens": 3000, "completion_tokens": 50}})
    prefix = f"native-{uuid.uuid4().hex[:8]}"
    config = PluginConfig.load(_config(fake, prefix))
    admission = Admission(config)
    router = build_router(pipeline=Pipeline(config, admission=admission))
    try:
        response = await router.acompletion(model="auto", messages=user("Hi!"), metadata={"router": {"user": "ann"}})
        litellm_cost = (await _payload_of(logged, response))["response_cost"]
        price = litellm.model_cost["gpt-4o-mini"]
        full = 4000 * price["input_cost_per_token"] + 50 * price["output_cost_per_token"]
        cached = full - 3000 * (price["input_cost_per_token"] - price["cache_read_input_token_cost"])
        assert litellm_cost == pytest.approx(cached), "LiteLLM prices the 3000 cached tokens at its cache-read price"
        assert litellm_cost < full
        rows = await admission.store.ledger()
        spent, held = await admission.guard.spent("user", "ann")
        assert rows[0]["cost_micros"] == round(litellm_cost * 1_000_000)
        assert spent == pytest.approx(litellm_cost, abs=1e-6)
        assert held == 0
    finally:
        store = RedisStore(REDIS_URL, prefix=prefix)
        await store.clear()
        await store.aclose()
        await admission.store.aclose()


async def test_a_deployment_priced_call_is_priced_once(
    fake: FakeUpstream, logged: Payloads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settle prices the call (``litellm.completion_cost`` at the deployment's price) and leaves
    the figure on the response, which LiteLLM's logging then reuses: one calculation, not two."""
    priced: list[str] = []

    def counting(name: str) -> Any:
        original = getattr(litellm, name)

        def count(*args: Any, **kwargs: Any) -> Any:
            priced.append(name)
            return original(*args, **kwargs)

        return count

    # ours (pricing.response_cost), and the one LiteLLM's logging object runs when a response has no cost
    for name in ("completion_cost", "response_cost_calculator"):
        monkeypatch.setattr(litellm, name, counting(name))
    config = PluginConfig.load(
        {
            "tiers": [
                {"name": "cheap", "deployments": [fake.deployment("gpt-4o-mini", 3e-7, 9e-7)]},
                {"name": "strong", "deployments": [fake.deployment("gpt-4o", 5e-6, 2e-5)]},
            ],
            "budgets": {"per_user": {"daily": 10}},
        }
    )
    admission = Admission(config)
    router = build_router(pipeline=Pipeline(config, admission=admission))
    response = await router.acompletion(model="auto", messages=user("Hi!"), metadata={"router": {"user": "ann"}})
    payload = await _payload_of(logged, response)
    usage = response.usage
    expected = usage.prompt_tokens * 3e-7 + usage.completion_tokens * 9e-7  # the deployment's own price
    assert priced == ["completion_cost"], "the call is priced once"
    assert response._hidden_params["response_cost"] == pytest.approx(expected)
    assert payload["response_cost"] == pytest.approx(expected)
    spent, held = await admission.guard.spent("user", "ann")
    assert (spent, held) == (pytest.approx(expected, abs=1e-6), 0)


async def test_litellm_callbacks_see_routing_decision_and_tier_tag(fake: FakeUpstream, logged: Payloads) -> None:
    router = build_router(
        {
            "tiers": [
                {"name": "cheap", "deployments": [fake.deployment("gpt-4o-mini")]},
                {"name": "strong", "deployments": [fake.deployment("gpt-4o")]},
            ]
        }
    )
    response = await router.acompletion(model="auto", messages=user("Hi!"), metadata={"tags": ["team-a"]})
    payload = await _payload_of(logged, response)
    decision = payload["metadata"]["routing_decision"]
    assert decision["router_type"] == "complexity"
    assert decision["router_model_name"] == "auto"
    assert decision["tier"] == "cheap"
    assert decision["routed_model"] == "openai/gpt-4o-mini"
    # The savings baseline is named inside the proxy only (LiteLLM's savings code imports the proxy).
    assert decision.get("savings_baseline_model") == ("openai/gpt-4o" if _in_proxy() else None)
    assert isinstance(decision["score"], float)
    assert payload["request_tags"] == ["team-a", "router-tier:cheap"]


@pytest.fixture(params=["memory", "redis"])
async def manual_store(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Store, ManualClock]]:
    clock = ManualClock(START)  # midnight UTC: a "1h" budget's periods end on the hour
    if request.param == "memory":
        yield MemoryStore(clock), clock
        return
    store = RedisStore(REDIS_URL, prefix=f"native-{uuid.uuid4().hex[:8]}", clock=clock)
    try:
        yield store, clock
    finally:
        await store.clear()
        await store.aclose()


async def test_a_litellm_budget_refuses_past_max_resets_each_period_and_alerts_once(
    manual_store: tuple[Store, ManualClock], caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = manual_store
    admission = Admission(PluginConfig.load({}), store=store)  # no budget in the plugin's config
    budget = LiteLLMBudget("key", "sk-hashed", max_budget=0.001, duration="1h", soft_budget=0.0005)
    who = Identity(key="sk-hashed", budgets=(budget,))
    alerts = metrics.SOFT_BUDGET_ALERTS.labels("litellm-key")
    before = alerts._value.get()

    async def call(cost: float) -> None:
        hold = await admission.admit([Offer(cost)], who)
        await admission.settle(hold.request_id, cost, soft=hold.soft, spent_ttl_s=hold.spent_ttl_s)

    with caplog.at_level(logging.WARNING, "litellm_router_plugin.alerts"):
        await call(0.0004)
        assert alerts._value.get() == before
        await call(0.0004)  # $0.0008 >= the $0.0005 soft budget: one alert
        await call(0.0001)  # still over it: no second alert
        with pytest.raises(BudgetExceededError) as refused:
            await admission.admit([Offer(0.0004)], who)  # $0.0009 + $0.0004 > $0.001
        assert refused.value.retry_after == pytest.approx(3600)  # the period ends on the hour
        clock.advance(3600)  # LiteLLM's next period: spent from zero again
        await call(0.0004)
    assert alerts._value.get() == before + 1
    alerted = [r.message for r in caplog.records if r.name == "litellm_router_plugin.alerts"]
    assert len(alerted) == 1
    assert "soft_budget_crossed" in alerted[0]
    spent, _ = await store.spent(budget.scope(), f"until{int(START) + 7200}")
    assert spent == 400


async def test_a_routed_call_is_priced_once_and_litellm_logs_that_figure(
    fake: FakeUpstream, logged: Payloads, monkeypatch: pytest.MonkeyPatch
) -> None:
    import litellm.cost_calculator

    calls: list[str] = []
    original = litellm.cost_calculator.completion_cost

    def counted(*args: Any, **kwargs: Any) -> float:
        calls.append(str(kwargs.get("model")))
        return float(original(*args, **kwargs))

    monkeypatch.setattr(litellm.cost_calculator, "completion_cost", counted)
    monkeypatch.setattr(litellm, "completion_cost", counted)
    prefix = f"native-{uuid.uuid4().hex[:8]}"
    config = PluginConfig.load(_config(fake, prefix))
    admission = Admission(config)
    router = build_router(pipeline=Pipeline(config, admission=admission))
    try:
        response = await router.acompletion(model="auto", messages=user("Hi!"), metadata={"router": {"user": "bo"}})
        payload = await _payload_of(logged, response)
        assert len(calls) == 1, calls  # ours; LiteLLM's logging reuses it
        spent, _ = await admission.guard.spent("user", "bo")
        assert payload["response_cost"] == response._hidden_params["response_cost"]
        assert spent == pytest.approx(payload["response_cost"], abs=1e-6)
    finally:
        store = RedisStore(REDIS_URL, prefix=prefix)
        await store.clear()
        await store.aclose()
        await admission.store.aclose()
