"""Cascades and resilience against the fake upstream on loopback: every call admitted and settled."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from typing import Any

import litellm
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_ai import Agent
from pydantic_ai.models.test import TestModel

from litellm_router_plugin import BudgetExceededError, ConfigError, Pipeline, PluginConfig, build_router
from litellm_router_plugin.config import RequestOverrides
from litellm_router_plugin.pipeline.cascade import CASCADE_KEY, Settings, cascade_requested
from litellm_router_plugin.pipeline.confidence import Verdict, load_verifier, similarity
from litellm_router_plugin.pricing import count_prompt_tokens
from litellm_router_plugin.state import RedisStore
from litellm_router_plugin.tools.cascade_eval import compare
from tests.stores import REDIS_URL
from tests.upstream import Upstream

QUESTION = [{"role": "user", "content": "What is 2 + 2?"}]
FAST = {"backoff_seconds": 0.01, "backoff_max_seconds": 0.02}


def config(up: Upstream, cascade: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "tiers": [
            {
                "name": "cheap",
                "deployments": [up.deployment("cheap-a", 1e-7, 4e-7), up.deployment("cheap-b", 2e-7, 8e-7)],
            },
            {"name": "mid", "deployments": [up.deployment("mid-a", 1e-6, 4e-6)]},
            {"name": "strong", "deployments": [up.deployment("strong-a", 3e-6, 1.2e-5)]},
        ],
        "cascade": {"start": "cheapest", **(cascade or {})},
        "resilience": {**FAST, **extra.pop("resilience", {})},
        **extra,
    }


async def ask(pipeline: Pipeline, **router: Any) -> tuple[Any, dict[str, Any]]:
    response = await pipeline.acompletion(QUESTION, metadata={"router": {"cascade": True, **router}})
    return response, response._hidden_params[CASCADE_KEY]


def statuses(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["model"].removeprefix("openai/"), c["status"]) for c in result["calls"]]


async def test_retry_then_success(fake: Upstream) -> None:
    fake.control(**{"cheap-a": {"fail_first": 2, "error_status": 500}})
    pipeline = Pipeline(config(fake, {"checks": []}, resilience={"retries": 2}))
    response, result = await ask(pipeline)
    assert response.choices[0].message.content == "answer from cheap-a"
    assert statuses(result) == [("cheap-a", "error:InternalServerError")] * 2 + [("cheap-a", "ok")]
    assert (result["final_tier"], result["stopped"]) == ("cheap", "no_checks")
    assert fake.hits() == {"cheap-a": 3}
    ledger = await pipeline.admission.store.ledger()  # type: ignore[union-attr]
    assert sorted(row["status"] for row in ledger) == ["error:InternalServerError"] * 2 + ["ok"]


async def test_retries_exhausted_then_fallback_to_next_deployment_then_tier(fake: Upstream) -> None:
    fake.control(**{"cheap-a": {"error_rate": 1.0, "error_status": 429}})
    pipeline = Pipeline(config(fake, {"checks": []}, resilience={"retries": 1}))
    _, result = await ask(pipeline)
    assert statuses(result) == [("cheap-a", "error:RateLimitError")] * 2 + [("cheap-b", "ok")]
    assert result["final_model"] == "openai/cheap-b"

    fake.control(**{"cheap-b": {"error_rate": 1.0, "error_status": 503}})
    _, result = await ask(pipeline)
    assert [s for s in statuses(result) if s[1] != "ok"] == [("cheap-a", "error:RateLimitError")] * 2 + [
        ("cheap-b", "error:ServiceUnavailableError")
    ] * 2
    assert (result["final_tier"], result["tiers_tried"]) == ("mid", ["cheap", "mid"])
    assert [(e["from_tier"], e["to_tier"], e["check"]) for e in result["escalations"]] == [("cheap", "mid", "fallback")]


async def test_a_tier_timeout_moves_on(fake: Upstream) -> None:
    fake.control(**{"cheap-a": {"hang": True}, "cheap-b": {"hang": True}})
    pipeline = Pipeline(config(fake, {"checks": []}, resilience={"retries": 0, "tier_timeouts": {"cheap": 0.3}}))
    response, result = await ask(pipeline)
    assert [s[1] for s in statuses(result)] == ["error:Timeout", "error:Timeout", "ok"]
    assert response.choices[0].message.content == "answer from mid-a"
    assert result["escalations"][0]["check"] == "fallback"
    # the timeouts count as failures for each deployment's breaker
    failures = await pipeline.admission.store.ledger()  # type: ignore[union-attr]
    assert sum(row["status"] == "error:Timeout" for row in failures) == 2


async def test_escalates_on_disagreement_and_stops_on_agreement(fake: Upstream) -> None:
    pipeline = Pipeline(config(fake, {"checks": ["consistency"], "consistency_threshold": 0.8}))
    fake.control(**{"cheap-a": {"answers": ["4", "5"]}, "mid-a": {"answers": ["4"]}})
    response, result = await ask(pipeline)
    assert response.choices[0].message.content == "4"
    assert result["tiers_tried"] == ["cheap", "mid"]
    assert result["stopped"] == "confident"
    (escalation,) = result["escalations"]
    assert (escalation["check"], escalation["value"], escalation["threshold"]) == ("consistency", 0.0, 0.8)
    assert [c["tier"] for c in result["calls"]] == ["cheap", "cheap", "mid", "mid"]
    assert result["total_cost_usd"] == pytest.approx(sum(c["cost_usd"] for c in result["calls"]))

    fake.control(**{"cheap-a": {"answers": ["The answer is 4.", "the answer is 4"]}})
    _, result = await ask(pipeline)
    assert (result["final_tier"], result["stopped"], result["escalations"]) == ("cheap", "confident", [])
    assert result["checks"][0]["value"] == 1.0


def test_similarity_is_symmetric_and_normalised() -> None:
    assert similarity("Paris.", "  paris ") == 1.0
    assert similarity("4", "5") == 0.0
    assert 0 < similarity("the answer is 42", "the answer is 43") < 1


async def test_logprob_based_escalation(fake: Upstream) -> None:
    pipeline = Pipeline(config(fake, {"checks": ["logprobs"], "logprob_threshold": 0.5}))
    fake.control(**{"cheap-a": {"logprob": -1.5}, "mid-a": {"logprob": -0.1}})
    _, result = await ask(pipeline)
    assert result["tiers_tried"] == ["cheap", "mid"]
    escalation = result["escalations"][0]
    assert escalation["check"] == "logprobs"
    assert escalation["value"] == pytest.approx(math.exp(-1.5), abs=1e-4)
    assert len(result["calls"]) == 2  # one call per step: logprobs need no second sample

    fake.control(**{"cheap-a": {"logprob": None}})  # a provider without logprobs: the check is skipped
    _, result = await ask(pipeline)
    assert result["final_tier"] == "cheap"
    assert result["checks"][0]["detail"] == "no logprobs returned"


async def test_verifier_based_escalation_with_a_callable_and_an_agent(fake: Upstream) -> None:
    fake.control(**{"cheap-a": {"answers": ["5"]}, "mid-a": {"answers": ["4"]}})
    seen: list[str] = []

    async def verifier(messages: Any, answer: str) -> Verdict:
        seen.append(answer)
        return Verdict(ok=answer == "4", confidence=0.9 if answer == "4" else 0.2, reason=f"checked {answer}")

    pipeline = Pipeline(config(fake, {"checks": ["verifier"]}))
    response = await pipeline.acompletion(QUESTION, metadata={"router": {"cascade": True}}, cascade_verifier=verifier)
    result = response._hidden_params[CASCADE_KEY]
    assert seen == ["5", "4"]
    assert result["escalations"][0] | {"detail": ""} == {
        "from_tier": "cheap",
        "to_tier": "mid",
        "check": "verifier",
        "value": 0.2,
        "threshold": 0.5,
        "detail": "",
    }
    assert result["final_tier"] == "mid"

    verdict = {"ok": False, "confidence": 0.1, "reason": "wrong sum"}
    agent = Agent(TestModel(custom_output_args=verdict), output_type=Verdict)
    response = await pipeline.acompletion(QUESTION, metadata={"router": {"cascade": True}}, cascade_verifier=agent)
    result = response._hidden_params[CASCADE_KEY]
    assert [e["check"] for e in result["escalations"]] == ["verifier", "verifier"]
    assert result["escalations"][0]["detail"] == "wrong sum"
    assert (result["final_tier"], result["stopped"]) == ("strong", "strongest")


async def test_the_cap_stops_escalation_and_keeps_the_weaker_answer(fake: Upstream) -> None:
    fake.control(**{"cheap-a": {"answers": ["4", "5"]}})
    pipeline = Pipeline(config(fake, {"max_cost_usd": 0.002}))
    response, result = await ask(pipeline)
    # cheap samples fit; mid's worst case (prompt + 1024 tokens x $4e-6) does not
    assert response.choices[0].message.content == "4"
    assert result["stopped"] == "cost_cap"
    assert result["escalations"][-1]["to_tier"] is None
    assert result["total_cost_usd"] <= 0.002

    with pytest.raises(BudgetExceededError, match="max_cost_usd"):
        await ask(pipeline, max_cost_usd=1e-7)  # a request may lower the cap: not even one cheap call fits


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prices=st.lists(st.floats(1e-8, 2e-5), min_size=3, max_size=3),
    words=st.integers(1, 200),
    completion=st.integers(1, 400),
    max_tokens=st.integers(1, 300),
    cap=st.floats(1e-6, 0.02),
    agree=st.booleans(),
    failures=st.integers(0, 2),
    slack=st.integers(0, 30),
)
def test_max_cost_usd_is_never_exceeded(
    upstream: Upstream,
    prices: list[float],
    words: int,
    completion: int,
    max_tokens: int,
    cap: float,
    agree: bool,
    failures: int,
    slack: int,
) -> None:
    """The provider bills at most the prompt tokens LiteLLM counts (``slack`` fewer) and at most
    ``max_tokens``; whatever the prices, answers and failures, the charged total stays within the cap."""
    messages = [{"role": "user", "content": "What is 2 + 2? " + "please " * words}]
    counted = count_prompt_tokens(messages, "gpt-4o")
    upstream.reset()
    upstream.control(
        **{
            "cheap-a": {
                "answers": ["4"] if agree else ["4", "5"],
                "completion_tokens": completion,
                "truncate": True,
                "fail_first": failures,
                "prompt_tokens": max(1, counted - slack),
            },
            **{
                name: {
                    "answers": ["4", "6"] if name == "mid-a" else [],
                    "completion_tokens": completion,
                    "truncate": True,
                    "prompt_tokens": max(1, counted - slack),
                }
                for name in ("cheap-b", "mid-a", "strong-a")
            },
        }
    )
    tiers = sorted(prices)
    cfg = config(upstream, {"max_cost_usd": cap}, resilience={"retries": 1})
    for tier, price in zip(cfg["tiers"], tiers, strict=True):
        for dep in tier["deployments"]:
            dep["litellm_params"].update(input_cost_per_token=price, output_cost_per_token=price * 4)
    pipeline = Pipeline(cfg)

    async def run() -> float | None:
        try:
            response = await pipeline.acompletion(
                messages, max_tokens=max_tokens, metadata={"router": {"cascade": True}}
            )
        except BudgetExceededError:
            return None
        return float(response._hidden_params[CASCADE_KEY]["total_cost_usd"])

    total = asyncio.run(run())
    ledger = asyncio.run(pipeline.admission.store.ledger())  # type: ignore[union-attr]
    charged = sum(row["cost_micros"] for row in ledger) / 1e6
    assert charged <= cap + 1e-6  # micro-dollar rounding of the ledger
    if total is None:
        assert charged == 0
    else:
        assert total <= cap + 1e-12
        assert charged == pytest.approx(total, abs=1e-5)


async def test_later_steps_are_estimated_with_the_providers_prompt_count(fake: Upstream) -> None:
    """A provider that bills far more prompt tokens than LiteLLM counts: the first step cannot know
    it, but the next step is estimated with the billed count, and does not fit the cap."""
    fake.control(**{"cheap-a": {"answers": ["4", "5"], "prompt_tokens": 1000}})
    pipeline = Pipeline(config(fake, {"max_cost_usd": 0.001}))
    response = await pipeline.acompletion(QUESTION, max_tokens=10, metadata={"router": {"cascade": True}})
    result = response._hidden_params[CASCADE_KEY]
    assert [c["prompt_tokens"] for c in result["calls"]] == [1000, 1000]
    assert result["stopped"] == "cost_cap"  # mid would fit with LiteLLM's count (~14 tokens), not with 1000
    assert result["total_cost_usd"] <= 0.001


@pytest.fixture(params=["memory", "redis"])
def store_section(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        yield {"kind": "memory"}
        return
    prefix = f"test-cascade-{uuid.uuid4().hex[:10]}"
    yield {"kind": "redis", "url": REDIS_URL, "prefix": prefix}

    async def clear() -> None:
        store = RedisStore(REDIS_URL, prefix=prefix)
        await store.clear()
        await store.aclose()

    asyncio.run(clear())


async def test_budget_counter_equals_ledger_after_cascades_with_failures(fake: Upstream, store_section: Any) -> None:
    fake.control(
        **{
            "cheap-a": {"answers": ["4", "5", "4", "4"], "error_rate": 0.3, "error_status": 500},
            "mid-a": {"fail_first": 1, "error_status": 429},
            "strong-a": {"hang": True},
        }
    )
    cfg = config(
        fake,
        {"max_cost_usd": 0.05},
        resilience={"retries": 1, "tier_timeouts": {"strong": 0.3}},
        budgets={"per_user": {"daily": 5.0}, "trust_client_user": True},
        store=store_section,
    )
    pipeline = Pipeline(PluginConfig.load(cfg))
    calls = 0
    for i in range(6):
        try:
            response = await pipeline.acompletion(QUESTION, user=f"u{i % 2}", metadata={"router": {"cascade": True}})
            calls += len(response._hidden_params[CASCADE_KEY]["calls"])
        except litellm.Timeout:  # the hanging strong tier may end a cascade with its timeout
            pass
    admission = pipeline.admission
    assert admission is not None
    store, guard = admission.store, admission.guard
    ledger = await store.ledger()
    assert len(ledger) >= calls > 0
    assert any(row["status"] != "ok" for row in ledger)
    for user in ("u0", "u1"):
        spent, held = await store.spent(f"user:{user}", guard.window())
        assert held == 0
        assert spent == sum(row["cost_micros"] for row in ledger if row["user"] == user)
    spent, held = await store.spent("global", guard.window())
    assert (spent, held) == (sum(row["cost_micros"] for row in ledger), 0)
    await store.aclose()


async def test_the_cascade_is_logged_as_one_json_line(fake: Upstream, caplog: pytest.LogCaptureFixture) -> None:
    fake.control(**{"cheap-a": {"answers": ["4", "5"]}})
    pipeline = Pipeline(config(fake))
    with caplog.at_level(logging.INFO, logger="litellm_router_plugin.decisions"):
        await ask(pipeline)
    import json

    lines = [json.loads(r.message) for r in caplog.records if '"event": "cascade"' in r.message]
    assert len(lines) == 1
    assert lines[0]["escalations"][0]["check"] == "consistency"
    assert "What is" not in caplog.text  # no prompt text in the log by default


async def test_cascade_is_nearly_as_accurate_as_always_strong_for_a_fraction_of_its_cost(
    upstream: Upstream,
) -> None:
    upstream.reset()
    rows = {r.strategy: r for r in await compare(upstream, n=40)}
    routed, strong, cascade = rows["routed"], rows["always-strong"], rows["cascade"]
    assert routed.final_tiers == {"cheap": 40}
    assert strong.final_tiers == {"strong": 40}
    assert cascade.accuracy > routed.accuracy + 0.1
    assert cascade.accuracy >= strong.accuracy - 0.1
    assert cascade.cost_usd < 0.5 * strong.cost_usd
    assert cascade.calls > 80  # two samples per cheap step, more on escalation


def test_request_settings_are_validated_and_may_only_lower_the_cap() -> None:
    config = PluginConfig.load({"cascade": {"max_cost_usd": 0.05}}).cascade
    assert Settings.of(config, RequestOverrides.parse({"max_cost_usd": 0.01})).max_cost_usd == 0.01
    assert Settings.of(config, RequestOverrides.parse({"max_cost_usd": 1.0})).max_cost_usd == 0.05
    with pytest.raises(ConfigError, match=r"metadata\.router\.checks"):
        Settings.of(config, RequestOverrides.parse({"checks": ["vibes"]}))
    with pytest.raises(ConfigError, match=r"metadata\.router\.max_cost_usd"):
        Settings.of(config, RequestOverrides.parse({"max_cost_usd": -1}))
    with pytest.raises(ConfigError, match=r"metadata\.router\.consistency_threshold"):
        Settings.of(config, RequestOverrides.parse({"consistency_threshold": 1.5}))
    cascade = {"metadata": {"router": {"cascade": True}}}
    assert cascade_requested(config, RequestOverrides.of(cascade), False)
    assert not cascade_requested(config.model_copy(update={"enabled": True}), RequestOverrides.of({}), True)
    with pytest.raises(ConfigError, match="stream"):
        cascade_requested(config, RequestOverrides.of(cascade), True)
    with pytest.raises(ConfigError, match=r"metadata\.router\.cascade"):
        cascade_requested(config, RequestOverrides.of({"metadata": {"router": {"cascade": "yes"}}}), False)


def test_a_verifier_path_that_does_not_import_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"cascade\.verifier"):
        load_verifier("no_such_module_here:check")
    assert load_verifier("tests.test_cascade:similarity") is similarity


async def test_the_verifier_check_without_a_verifier_is_refused(fake: Upstream) -> None:
    pipeline = Pipeline(config(fake, {"checks": ["verifier"]}))
    with pytest.raises(ConfigError, match=r"cascade\.verifier"):
        await ask(pipeline)
    assert fake.hits() == {}


async def test_a_router_built_by_build_router_cascades_the_alias(fake: Upstream) -> None:
    fake.control(**{"cheap-a": {"answers": ["4", "5"]}, "mid-a": {"answers": ["4"]}})
    pipeline = Pipeline(config(fake))
    router = build_router(pipeline=pipeline)
    response = await router.acompletion(model="auto", messages=QUESTION, metadata={"router": {"cascade": True}})
    result = response._hidden_params[CASCADE_KEY]
    assert response.choices[0].message.content == "4"
    assert (result["tiers_tried"], result["stopped"]) == (["cheap", "mid"], "confident")
    plain = await router.acompletion(model="auto", messages=QUESTION)
    assert CASCADE_KEY not in plain._hidden_params
    ledger = await pipeline.admission.store.ledger()  # type: ignore[union-attr]
    assert len(ledger) == len(result["calls"]) + 1  # every step, and the plain call, settled once


async def test_when_every_stronger_tier_fails_the_earlier_answer_is_kept(fake: Upstream) -> None:
    fake.control(
        **{
            "cheap-a": {"answers": ["4", "5"]},
            "mid-a": {"error_rate": 1.0, "error_status": 502},
            "strong-a": {"error_rate": 1.0, "error_status": 503},
        }
    )
    pipeline = Pipeline(config(fake, resilience={"retries": 0}))
    response, result = await ask(pipeline)
    assert response.choices[0].message.content == "4"
    assert (result["final_tier"], result["stopped"]) == ("cheap", "failed")
    assert [(e["from_tier"], e["to_tier"], e["check"]) for e in result["escalations"]] == [
        ("cheap", "mid", "consistency"),
        ("mid", "strong", "fallback"),
        ("strong", None, "fallback"),
    ]
