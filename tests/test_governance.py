"""Every call through the Router is governed, and a plan respects what the request needs."""

from __future__ import annotations

import json
import logging
from typing import Any

import litellm
import pytest
from litellm.router_utils.cooldown_handlers import async_get_cooldown_deployments

from litellm_router_plugin import (
    BudgetExceededError,
    MemoryStore,
    ModelNotAllowed,
    Pipeline,
    PluginConfig,
    UnsupportedRequest,
    build_router,
)
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.metrics import REGISTRY
from tests.conftest import TWO_TIERS, user

HARD = user("Prove rigorously that there are infinitely many primes, then derive a bound on the n-th prime.")
IMAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    }
]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


def governed(
    extra: dict[str, Any], *, model_list: list[dict[str, Any]] | None = None, **kw: Any
) -> tuple[Any, Admission]:
    config = PluginConfig.load({**TWO_TIERS, **extra})
    admission = Admission(config, MemoryStore())
    router = build_router(pipeline=Pipeline(config, admission=admission), model_list=model_list, **kw)
    return router, admission


def refused(scope: str) -> float:
    return REGISTRY.get_sample_value("lrp_admissions_total", {"result": "refused", "scope": scope}) or 0.0


@pytest.mark.parametrize("model", ["auto", "strong", "gpt-4o", "my-gpt"])
async def test_an_over_budget_request_is_refused_whatever_model_it_names(model: str) -> None:
    mine = {"model_name": "my-gpt", "litellm_params": {"model": "gpt-4o"}, "model_info": {"id": "my-gpt-1"}}
    router, admission = governed({"budgets": {"global": {"per_request": 0.02}}}, model_list=[mine], num_retries=0)
    with pytest.raises(BudgetExceededError, match="per-request limit"):
        await router.acompletion(model=model, messages=HARD, mock_response="x", max_tokens=4000)
    ok = await router.acompletion(model=model, messages=HARD, mock_response="x", max_tokens=100)
    decision = ok._hidden_params["router_decision"]
    assert decision["requested_model"] == model
    rows = await admission.store.ledger()
    assert [r["model"] for r in rows] == [decision["model"]]  # the admitted call is in the ledger
    assert rows[0]["tier"] == decision["tier"]


async def test_a_refusal_is_catchable_as_litellms_own_exception_and_says_how_the_estimate_was_made() -> None:
    router, _ = governed({"budgets": {"global": {"per_request": 0.001}}}, num_retries=0)
    with pytest.raises(litellm.BudgetExceededError) as info:
        await router.acompletion(model="auto", messages=HARD, mock_response="x")
    assert "assumed 1024 completion tokens (default_max_tokens)" in str(info.value)
    assert info.value.should_retry is False  # per request: the same request can never pass


async def test_a_refusal_never_cools_a_deployment_down_nor_is_retried() -> None:
    router, _ = governed({"budgets": {"global": {"daily": 0.0000001}}}, allowed_fails=0, cooldown_time=60)
    before = refused("global")
    with pytest.raises(BudgetExceededError):
        await router.acompletion(model="auto", messages=HARD, mock_response="x", num_retries=3)
    assert refused("global") - before == 1  # admitted once: LiteLLM did not retry the refusal
    assert await async_get_cooldown_deployments(litellm_router_instance=router, parent_otel_span=None) == []


async def test_tier_names_can_be_refused_and_keys_restricted_to_the_alias() -> None:
    router, _ = governed({"allow_tier_models": False}, num_retries=0)
    with pytest.raises(ModelNotAllowed, match="allow_tier_models"):
        await router.acompletion(model="strong", messages=HARD, mock_response="x")
    router, _ = governed({"alias_only": ["team:interns"]}, num_retries=0)
    intern = {"router": {"user": "ann", "team": "interns"}}
    with pytest.raises(litellm.PermissionDeniedError, match="alias_only"):
        await router.acompletion(model="gpt-4o", messages=HARD, mock_response="x", metadata=intern)
    assert await router.acompletion(model="auto", messages=HARD, mock_response="x", metadata=dict(intern))
    staff = {"router": {"user": "bob", "team": "staff"}}
    assert await router.acompletion(model="gpt-4o", messages=HARD, mock_response="x", metadata=staff)


async def test_an_image_goes_to_a_vision_capable_deployment_of_its_tier() -> None:
    router, _ = governed({})
    plain = await router.acompletion(model="auto", messages=user("Hi!"), mock_response="x")
    assert plain._hidden_params["router_decision"]["model"] == "groq/openai/gpt-oss-20b"  # the cheapest
    response = await router.acompletion(model="auto", messages=IMAGE, mock_response="x")
    decision = response._hidden_params["router_decision"]
    assert (decision["tier"], decision["model"]) == ("cheap", "gpt-4o-mini")  # LiteLLM: gpt-oss has no vision
    skipped = {c["model"]: c["skipped"] for c in decision["candidates"]}
    assert skipped["groq/openai/gpt-oss-20b"] == "lacks vision (image input)"


async def test_tools_and_context_needs_pick_a_deployment_that_can_or_fail_clearly() -> None:
    tiers = {
        "tiers": [
            {
                "name": "cheap",
                "deployments": [
                    {"model": "gpt-4o-mini", "model_info": {"supports_function_calling": False}},
                    {"model": "gpt-4.1-mini", "model_info": {"max_input_tokens": 50}},
                ],
            },
            {
                "name": "strong",
                "deployments": [{"model": "gpt-4o", "model_info": {"supports_function_calling": False}}],
            },
        ]
    }
    pipeline = Pipeline(tiers)
    with_tools = await pipeline.route(pipeline.request({"tools": TOOLS}, messages=user("Hi!")))
    assert with_tools.decision.model == "gpt-4.1-mini"
    long_prompt = user("Hi! " + "word " * 200)
    plain = await pipeline.route(pipeline.request({}, messages=long_prompt))
    assert plain.decision.model == "gpt-4o-mini"  # gpt-4.1-mini's window (50 tokens) is too small here
    with pytest.raises(UnsupportedRequest, match="function calling") as info:
        await pipeline.route(pipeline.request({"tools": TOOLS}, messages=long_prompt))
    assert info.value.status_code == 400


async def test_tool_definitions_and_images_count_in_the_estimate() -> None:
    pipeline = Pipeline(TWO_TIERS)
    plain = await pipeline.route(pipeline.request({"max_tokens": 10}, messages=user("What is in this picture?")))
    with_tools = await pipeline.route(
        pipeline.request({"max_tokens": 10, "tools": TOOLS}, messages=user("What is in this picture?"))
    )
    with_image = await pipeline.route(pipeline.request({"max_tokens": 10}, messages=IMAGE))
    assert with_tools.decision.prompt_tokens > plain.decision.prompt_tokens
    assert with_image.decision.prompt_tokens > plain.decision.prompt_tokens + 50  # LiteLLM's default image tokens


async def test_n_completions_are_estimated_n_times() -> None:
    pipeline = Pipeline(TWO_TIERS)
    one = await pipeline.route(pipeline.request({"max_tokens": 100}, messages=user("Hi!")))
    three = await pipeline.route(pipeline.request({"max_tokens": 100, "n": 3}, messages=user("Hi!")))
    price = one.deployment.price
    extra_output = three.decision.estimated_cost_usd - one.decision.estimated_cost_usd
    assert extra_output == pytest.approx(200 * price.output_per_token)


class NoCredentials(litellm.InternalServerError):  # type: ignore[misc]
    """What LiteLLM raises for a deployment without an API key: a 500 (so its Router retries it).
    Copyable: LiteLLM deep-copies a deployment's litellm_params."""

    def __init__(self, *_: Any) -> None:
        super().__init__("OpenAIException - Missing credentials. Please pass an `api_key`", "openai", "m")


async def test_a_credentials_error_on_the_cheap_tier_is_not_retried_on_a_dearer_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    denied = NoCredentials()
    config = {
        "tiers": [
            {
                "name": "cheap",
                "deployments": [
                    {"model": "gpt-4o-mini", "litellm_params": {"mock_response": denied}},
                    {"model": "groq/openai/gpt-oss-20b", "litellm_params": {"mock_response": denied}},
                ],
            },
            {"name": "strong", "deployments": [{"model": "gpt-4o", "litellm_params": {"mock_response": "strong"}}]},
        ]
    }
    config_ = PluginConfig.load(config)
    admission = Admission(config_, MemoryStore())
    router = build_router(pipeline=Pipeline(config_, admission=admission), num_retries=3, retry_after=0)
    caplog.set_level(logging.INFO, logger="litellm_router_plugin.decisions")
    with pytest.raises(litellm.AuthenticationError):
        await router.acompletion(model="auto", messages=user("Hi!"))
    routed = [json.loads(r.message) for r in caplog.records if '"event": "route"' in r.message]
    faults = [json.loads(r.message) for r in caplog.records if '"event": "config_fault"' in r.message]
    # both cheap deployments were tried (LiteLLM retried within the tier), the strong tier never
    assert [d["model"] for d in routed] == ["groq/openai/gpt-oss-20b", "gpt-4o-mini"]
    assert [f["error"] for f in faults] == ["NoCredentials", "NoCredentials"]
    strong = await router.acompletion(model="auto", messages=HARD)  # the strong tier itself still works
    assert strong.choices[0].message.content == "strong"
