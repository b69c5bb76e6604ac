"""The custom strategy inside a real litellm.Router, with mock responses."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import litellm
import pytest
from litellm import Router

from litellm_router_plugin import (
    ConfigError,
    CostAwareRoutingStrategy,
    NoDeploymentAvailable,
    Pipeline,
    Planner,
    PluginConfig,
    build_router,
)
from tests.conftest import TWO_TIERS, user

EASY = user("Hi there!")
HARD = user("Prove that there are infinitely many primes, rigorously.")


def two_tier_router(**router_kwargs: Any) -> Router:
    return build_router(TWO_TIERS, **router_kwargs)


def decision_of(response: Any) -> dict[str, Any]:
    decision: dict[str, Any] = response._hidden_params["router_decision"]
    return decision


async def test_easy_prompt_goes_to_the_cheapest_deployment_of_the_cheap_tier() -> None:
    router = two_tier_router()
    response = await router.acompletion(model="auto", messages=EASY, mock_response="hello")
    decision = decision_of(response)
    # gpt-oss-20b (7.5e-8 / 3e-7) is cheaper than gpt-4o-mini (1.5e-7 / 6e-7)
    assert decision["tier"] == "cheap"
    assert decision["model"] == "groq/openai/gpt-oss-20b"
    assert response._hidden_params["litellm_model_name"] == "groq/openai/gpt-oss-20b"
    cheap = [c for c in decision["candidates"] if c["tier"] == "cheap"]
    assert [c["model"] for c in cheap] == ["groq/openai/gpt-oss-20b", "gpt-4o-mini"]  # cheapest first
    assert all(c["healthy"] for c in decision["candidates"])


async def test_hard_prompt_goes_to_the_strong_tier_and_cost_is_priced_for_it() -> None:
    router = two_tier_router()
    response = await router.acompletion(model="auto", messages=HARD, mock_response="proof")
    decision = decision_of(response)
    assert decision["analysis"]["category"] == "reasoning"
    assert (decision["tier"], decision["model"]) == ("strong", "gpt-4o")
    # the response cost LiteLLM computed is for the chosen deployment (mock usage: 10 in, 20 out)
    assert response._hidden_params["response_cost"] == pytest.approx(10 * 2.5e-6 + 20 * 1e-5)


async def test_estimated_cost_uses_prompt_tokens_and_max_tokens() -> None:
    router = two_tier_router()
    response = await router.acompletion(model="auto", messages=HARD, mock_response="x", max_tokens=50)
    decision = decision_of(response)
    tokens = litellm.token_counter(model="gpt-4o", messages=HARD)
    assert (decision["prompt_tokens"], decision["max_tokens"]) == (tokens, 50)
    assert decision["estimated_cost_usd"] == pytest.approx(tokens * 2.5e-6 + 50 * 1e-5)


async def test_decision_is_in_the_callers_metadata_too() -> None:
    router = two_tier_router()
    metadata: dict[str, Any] = {"trace": "abc"}
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x", metadata=metadata)
    assert metadata["router_decision"] == decision_of(response)
    assert metadata["trace"] == "abc"


async def test_cooled_down_deployment_is_skipped_then_tier_escalates() -> None:
    router = two_tier_router(num_retries=0, allowed_fails=0, cooldown_time=60)
    boom = litellm.InternalServerError("upstream down", "groq", "gpt-oss-20b")
    with pytest.raises(litellm.InternalServerError):
        await router.acompletion(model="auto", messages=EASY, mock_response=boom)

    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    decision = decision_of(response)
    assert decision["model"] == "gpt-4o-mini"
    assert [c["healthy"] for c in decision["candidates"] if c["tier"] == "cheap"] == [False, True]

    with pytest.raises(litellm.InternalServerError):
        await router.acompletion(model="auto", messages=EASY, mock_response=boom)
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    decision = decision_of(response)
    assert (decision["tier"], decision["model"]) == ("strong", "gpt-4o")
    assert "escalated to strong (no capable, healthy or admissible deployment in cheap)" in decision["reason"]


async def test_every_tier_cooling_down_raises_no_deployment() -> None:
    # LiteLLM never cools down the last deployment of a group, so the tier needs two.
    config = {"tiers": [{"name": "only", "deployments": ["gpt-4o-mini", "gpt-4.1-mini"]}]}
    router = build_router(config, num_retries=0, allowed_fails=0, cooldown_time=60)
    for _ in range(2):
        with pytest.raises(litellm.InternalServerError):
            await router.acompletion(
                model="auto", messages=EASY, mock_response=litellm.InternalServerError("x", "openai", "m")
            )
    with pytest.raises(NoDeploymentAvailable, match="no healthy deployment in tiers only"):
        await router.acompletion(model="auto", messages=EASY, mock_response="x")


async def test_other_models_are_called_as_named_and_still_governed() -> None:
    mine = {"model_name": "my-gpt", "litellm_params": {"model": "gpt-4o", "api_key": "k"}}
    router = build_router(TWO_TIERS, model_list=[mine])
    response = await router.acompletion(model="my-gpt", messages=HARD, mock_response="x")
    assert response._hidden_params["litellm_model_name"] == "gpt-4o"
    named = decision_of(response)
    assert (named["tier"], named["model"], named["requested_model"]) == ("none", "gpt-4o", "my-gpt")
    assert named["analysis"] is None  # not routed, so not classified
    # a tier name forces that tier (a hard prompt stays on the cheap tier), still planned and admitted
    response = await router.acompletion(model="cheap", messages=HARD, mock_response="x")
    forced = decision_of(response)
    assert (forced["tier"], forced["model"], forced["requested_model"]) == ("cheap", "groq/openai/gpt-oss-20b", "cheap")
    with pytest.raises(litellm.BadRequestError):
        await router.acompletion(model="unknown-group", messages=EASY, mock_response="x")


@pytest.mark.parametrize(
    ("metadata", "messages", "tier"),
    [
        ({"router": {"tier": "strong"}}, EASY, "strong"),
        ({"router": {"min_tier": "strong"}}, EASY, "strong"),
        ({"router": {"max_tier": "cheap"}}, HARD, "cheap"),
        ({"router": {}}, HARD, "strong"),
    ],
)
async def test_metadata_overrides(metadata: dict[str, Any], messages: list[dict[str, Any]], tier: str) -> None:
    router = two_tier_router()
    response = await router.acompletion(model="auto", messages=messages, mock_response="x", metadata=metadata)
    assert decision_of(response)["tier"] == tier


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tier": "platinum"}, "metadata.router.tier"),
        ({"min_tier": "strong", "max_tier": "cheap"}, "metadata.router.min_tier"),
        ("strong", "metadata.router"),
    ],
)
async def test_bad_overrides_are_clear_errors(overrides: Any, field: str) -> None:
    router = two_tier_router(num_retries=0)
    with pytest.raises(ConfigError) as info:
        await router.acompletion(model="auto", messages=EASY, mock_response="x", metadata={"router": overrides})
    assert info.value.field == field


@pytest.mark.parametrize("breakers", [True, False])
def test_sync_completion_routes_too(breakers: bool) -> None:
    router = build_router({**TWO_TIERS, "breaker": {"enabled": breakers}})
    metadata: dict[str, Any] = {}
    response = router.completion(model="auto", messages=HARD, mock_response="x", metadata=metadata)
    assert response._hidden_params["litellm_model_name"] == "gpt-4o"
    assert metadata["router_decision"]["tier"] == "strong"
    assert ("router_ticket" in metadata) is breakers


def test_install_requires_the_tier_deployments() -> None:
    planner = Planner(PluginConfig.load(TWO_TIERS))
    bare = Router(model_list=[{"model_name": "x", "litellm_params": {"model": "gpt-4o"}}])
    with pytest.raises(ConfigError, match="build_router"):
        CostAwareRoutingStrategy.install(bare, planner)
    ok = Router(model_list=planner.tier_map.model_list())
    assert CostAwareRoutingStrategy.install(ok, planner).router is ok


async def test_concurrent_requests_each_get_their_own_decision() -> None:
    router = two_tier_router()
    prompts = [EASY, HARD] * 10
    responses = await asyncio.gather(
        *(router.acompletion(model="auto", messages=m, mock_response="x") for m in prompts)
    )
    tiers = [decision_of(r)["tier"] for r in responses]
    assert tiers == ["cheap", "strong"] * 10


async def test_one_json_log_line_per_request_without_the_prompt(caplog: pytest.LogCaptureFixture) -> None:
    router = two_tier_router()
    secret = "My password is hunter2, what is the capital of France?"
    with caplog.at_level(logging.INFO, logger="litellm_router_plugin.decisions"):
        await router.acompletion(model="auto", messages=user(secret), mock_response="x")
    lines = [r.getMessage() for r in caplog.records if r.name == "litellm_router_plugin.decisions"]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["tier"] == "cheap"
    assert len(record["prompt_sha256"]) == 16
    assert "hunter2" not in lines[0]


async def test_log_prompts_opt_in(caplog: pytest.LogCaptureFixture) -> None:
    router = build_router({**TWO_TIERS, "log_prompts": True})
    with caplog.at_level(logging.INFO, logger="litellm_router_plugin.decisions"):
        await router.acompletion(model="auto", messages=user("hello world"), mock_response="x")
    assert json.loads(caplog.records[-1].getMessage())["prompt"] == "hello world"


async def test_litellm_retries_and_the_retry_avoids_the_failed_deployment() -> None:
    config = {
        "tiers": [
            {
                "name": "cheap",
                "deployments": [
                    {
                        "model": "groq/openai/gpt-oss-20b",
                        "litellm_params": {"mock_response": "litellm.InternalServerError"},
                    },
                    {"model": "gpt-4o-mini", "litellm_params": {"mock_response": "fine"}},
                ],
            },
            {"name": "strong", "deployments": [{"model": "gpt-4o", "litellm_params": {"mock_response": "fine"}}]},
        ]
    }
    router = build_router(config, num_retries=2, retry_after=0)
    response = await router.acompletion(model="auto", messages=EASY)
    decision = decision_of(response)
    assert decision["model"] == "gpt-4o-mini"  # the cheaper one failed once; the retry went elsewhere
    assert response.choices[0].message.content == "fine"


async def test_a_litellm_fallback_to_another_group_does_not_carry_the_stale_decision() -> None:
    config = {
        "tiers": [
            {
                "name": "only",
                "deployments": [
                    {"model": "gpt-4o-mini", "litellm_params": {"mock_response": "litellm.InternalServerError"}}
                ],
            }
        ]
    }
    backup = {"model_name": "backup", "litellm_params": {"model": "gpt-4o", "mock_response": "from backup"}}
    router = build_router(config, model_list=[backup], num_retries=0, fallbacks=[{"auto": ["backup"]}])
    response = await router.acompletion(model="auto", messages=EASY)
    assert response.choices[0].message.content == "from backup"
    fallback = decision_of(response)  # the backup's own decision (admitted as named), not the routed one
    assert (fallback["tier"], fallback["model"], fallback["requested_model"]) == ("none", "gpt-4o", "backup")


async def test_agent_classifier_in_the_router_path_is_cached() -> None:
    from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from litellm_router_plugin.classify import CachedClassifier, HeuristicClassifier
    from litellm_router_plugin.classify.agent import AgentClassifier

    calls = 0

    def verdict(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal calls
        calls += 1
        tool = info.output_tools[0].name
        return ModelResponse(parts=[ToolCallPart(tool, {"score": 9, "category": "reasoning", "reasoning": "r"})])

    agent = CachedClassifier(AgentClassifier(FunctionModel(verdict), fallback=HeuristicClassifier()))
    planner = Planner(PluginConfig.load(TWO_TIERS), classifier=agent)
    router = build_router(pipeline=Pipeline(planner=planner))
    for _ in range(2):  # "Hi there!" is easy for the heuristic; the agent says otherwise
        response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
        decision = decision_of(response)
        assert decision["tier"] == "strong"
        assert decision["analysis"]["classifier"] == "agent:function:verdict:"
    assert decision["analysis"]["cached"] is True
    assert calls == 1
