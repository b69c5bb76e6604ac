from __future__ import annotations

import logging
import os

import pytest

from litellm_router_plugin import ConfigError, Pipeline, PluginConfig, UnknownModelError
from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.pricing import (
    _WARNED_FREE,
    _message_counter,
    cost,
    count_prompt_tokens,
    price_for,
    register_custom_prices,
)
from litellm_router_plugin.routing.tiers import TierMap


def test_offline_price_map_is_the_default() -> None:
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "gemini/gemini-2.5-flash", "o3"])
def test_estimate_agrees_with_litellm_cost_per_token(model: str) -> None:
    price = price_for(model)
    assert price.source == "litellm.model_cost"
    prompt_usd, completion_usd = litellm.cost_per_token(model=model, prompt_tokens=1234, completion_tokens=567)
    assert price.estimate(1234, 567) == pytest.approx(prompt_usd + completion_usd, rel=1e-12)
    assert cost(model, 1234, 567) == pytest.approx(prompt_usd + completion_usd, rel=1e-12)


def test_unknown_model_names_the_nearest_pricing_keys() -> None:
    with pytest.raises(UnknownModelError) as info:
        price_for("gpt-4oo-mini", field="tiers[0].deployments[0].model")
    assert "gpt-4o-mini" in info.value.nearest
    message = str(info.value)
    assert message.startswith("tiers[0].deployments[0].model: invalid value 'gpt-4oo-mini'")
    assert "gpt-4o-mini" in message
    assert "input_cost_per_token" in message


def test_unknown_model_fails_when_the_tier_map_is_built() -> None:
    config = PluginConfig.load({"tiers": [{"name": "a", "deployments": ["claude-sonet-4-5"]}]})
    with pytest.raises(UnknownModelError, match="claude-sonnet-4-5"):
        TierMap.from_config(config)


def test_deployment_level_price_for_a_local_model() -> None:
    price = price_for(
        "openai/my-local-llm",
        {"api_base": "http://127.0.0.1:1/v1", "input_cost_per_token": 0, "output_cost_per_token": 0},
    )
    assert (price.input_per_token, price.output_per_token, price.source) == (0.0, 0.0, "deployment")


@pytest.mark.parametrize("bad", [-1e-6, float("nan"), float("inf"), "cheap"])
def test_bad_deployment_price_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="input_cost_per_token"):
        price_for("x", {"input_cost_per_token": bad, "output_cost_per_token": 0})


def test_custom_price_is_used_and_registered_with_litellm() -> None:
    config = PluginConfig.load(
        {
            "tiers": [{"name": "house", "deployments": ["openai/acme-house-v1"]}],
            "custom_prices": {"openai/acme-house-v1": {"input_cost_per_token": 2e-7, "output_cost_per_token": 8e-7}},
        }
    )
    tier_map = TierMap.from_config(config)
    price = tier_map["house"].deployments[0].price
    assert (price.input_per_token, price.output_per_token, price.source) == (2e-7, 8e-7, "custom_prices")
    register_custom_prices({m: p.model_dump() for m, p in config.custom_prices.items()})
    assert cost("openai/acme-house-v1", 1000, 100) == pytest.approx(1000 * 2e-7 + 100 * 8e-7)


def test_a_tier_deployment_priced_zero_only_by_the_table_is_refused_at_load_naming_the_fix() -> None:
    tiers = [{"name": "local", "deployments": ["ollama/llama3.1"]}, {"name": "strong", "deployments": ["gpt-4o"]}]
    with pytest.raises(ConfigError, match=r"tiers\[0\]\.deployments\[0\]\.model.*at \$0 per token") as info:
        Pipeline({"tiers": tiers})
    assert "tiers[0].deployments[0].litellm_params.input_cost_per_token: 0 and output_cost_per_token: 0" in str(
        info.value
    )
    free = {"model": "ollama/llama3.1", "litellm_params": {"input_cost_per_token": 0, "output_cost_per_token": 0}}
    pipeline = Pipeline({"tiers": [{"name": "local", "deployments": [free]}, tiers[1]]})  # said free: accepted
    assert pipeline.tier_map["local"].deployments[0].price.estimate(10_000, 10_000) == 0.0


def test_one_price_alone_is_refused_naming_the_missing_one() -> None:
    with pytest.raises(ConfigError, match=r"litellm_params\.output_cost_per_token.*give both"):
        price_for("openai/local", {"input_cost_per_token": 1e-7}, field="tiers[0].deployments[0].model")
    with pytest.raises(ConfigError, match=r"custom_prices\.m\.input_cost_per_token"):
        price_for("m", custom_prices={"m": {"output_cost_per_token": 1e-7}})


def test_zero_price_from_the_table_where_allowed_is_logged_once_explicit_zero_is_silent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    free = next(
        m
        for m, info in litellm.model_cost.items()
        if info.get("input_cost_per_token") == 0 and info.get("output_cost_per_token") == 0 and m not in _WARNED_FREE
    )
    with caplog.at_level(logging.WARNING, logger="litellm_router_plugin.pricing"):
        price_for("openai/mine", {"input_cost_per_token": 0, "output_cost_per_token": 0})
        assert caplog.records == []
        price_for(free, free_ok=True)
        price_for(free, free_ok=True)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert free in warnings[0]
    assert "at $0" in warnings[0]


_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a word up",
            "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
        },
    }
]
_CONVERSATIONS = [
    [{"role": "user", "content": "Hi there! What is the capital of France?"}],
    [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello", "name": "bob"},
        {"role": "user", "content": None},
    ],
    [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png"}},
            ],
        }
    ],
    [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "1", "type": "function", "function": {"name": "lookup", "arguments": '{"w": 1}'}}],
        },
        {"role": "tool", "tool_call_id": "1", "content": "42"},
    ],
    [{"role": "user", "content": "word " * 20000}],  # beyond LiteLLM's exact-count length: extrapolated
]


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-3.5-turbo", "gpt-3.5-turbo-0301", "claude-sonnet-4-5"])
@pytest.mark.parametrize("tools", [None, _TOOLS])
def test_prompt_tokens_are_litellm_token_counter(model: str, tools: object) -> None:
    """The per-model prepared counter gives exactly ``litellm.token_counter``'s count."""
    for messages in _CONVERSATIONS:
        expected = litellm.token_counter(
            model=model, messages=messages, tools=tools, use_default_image_token_count=True
        )
        assert count_prompt_tokens(messages, model, tools) == expected
        assert _message_counter(model) is not None  # the fast path was the one measured


def test_prompt_tokens_of_message_objects_go_through_token_counter() -> None:
    messages = [litellm.Message(role="user", content="Hi there! What is the capital of France?")]
    assert count_prompt_tokens(messages, "gpt-4o") == litellm.token_counter(model="gpt-4o", messages=messages)
