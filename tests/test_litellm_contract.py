"""Fails loudly when a LiteLLM hook we rely on moves: we use internals (1.108.7, 1.109.x and 1.110.x tested;
what differs between them lives in ``integrations.litellm_compat``)."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import litellm
import pytest
from litellm.integrations.custom_logger import CustomLogger
from litellm.router import CustomRoutingStrategyBase, Router
from litellm.router_utils.cooldown_handlers import async_get_cooldown_deployments, get_cooldown_deployments
from packaging.version import Version

from litellm_router_plugin.integrations.litellm_compat import RUST_CORE

STRATEGY_PARAMS = ["self", "model", "messages", "input", "specific_deployment", "request_kwargs"]


def params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


def test_litellm_version_is_within_the_tested_range() -> None:
    assert Version("1.108.7") <= Version(version("litellm")) < Version("1.111")  # make test and make test-newest
    assert (Version(version("litellm")) >= Version("1.110")) == RUST_CORE


def test_custom_strategy_hook_signature() -> None:
    assert params(CustomRoutingStrategyBase.async_get_available_deployment) == STRATEGY_PARAMS
    assert params(CustomRoutingStrategyBase.get_available_deployment) == STRATEGY_PARAMS
    # 1.109 keeps it among DeprecatedRouterMembers (its replacement: register_plugin)
    assert callable(getattr(Router, "set_custom_routing_strategy", None))


def test_router_methods_we_call() -> None:
    assert params(Router.async_get_healthy_deployments)[:5] == [
        "self",
        "model",
        "request_kwargs",
        "messages",
        "input",
    ]
    if not RUST_CORE:  # the stock picks we call on the class (litellm_compat.stock_pick)
        assert set(STRATEGY_PARAMS) <= set(params(Router.async_get_available_deployment))
        assert set(STRATEGY_PARAMS) <= set(params(Router.get_available_deployment))
    # 1.109 renamed the first parameter to ctx (a RoutingContext) and still accepts the old keyword
    cooldown = (["litellm_router_instance", "parent_otel_span"], ["ctx", "parent_otel_span"])
    assert params(get_cooldown_deployments) in cooldown
    assert params(async_get_cooldown_deployments) in cooldown


def test_deployment_hook_signatures() -> None:
    assert params(CustomLogger.async_post_call_success_deployment_hook) == [
        "self",
        "request_data",
        "response",
        "call_type",
    ]
    assert params(CustomLogger.async_post_call_failure_deployment_hook)[:4] == [
        "self",
        "request_data",
        "exception",
        "call_type",
    ]
    assert params(CustomLogger.async_log_success_event) == ["self", "kwargs", "response_obj", "start_time", "end_time"]
    assert isinstance(litellm.callbacks, list)


def test_custom_provider_hooks_we_implement() -> None:
    from litellm.llms.custom_llm import CustomLLM
    from litellm.utils import custom_llm_setup

    for name in ("acompletion", "completion", "astreaming", "streaming"):
        assert params(getattr(CustomLLM, name))[:3] == ["self", "model", "messages"]
        assert "optional_params" in params(getattr(CustomLLM, name))
        assert "litellm_params" in params(getattr(CustomLLM, name))
    assert params(custom_llm_setup) == []
    assert isinstance(litellm.custom_provider_map, list)
    assert isinstance(litellm.LITELLM_EXCEPTION_TYPES, list)


def test_what_we_read_from_litellms_retries_and_proxy() -> None:
    from litellm.constants import RETURN_RAW_MODEL_NAME_METADATA_KEY

    # the proxy keeps the answering model's name in `model` when this metadata flag is set
    assert RETURN_RAW_MODEL_NAME_METADATA_KEY == "_complexity_router_return_raw_model_name"
    # retries record each failed attempt in metadata["previous_models"] with these keys
    source = inspect.getsource(Router.log_retry)
    if "_core_log_retry" in source:  # 1.109: the Router delegates to its Python core
        import litellm.router_python_core as core

        source = inspect.getsource(core)
    elif RUST_CORE:  # 1.110: RoutingContext.log_retry, written by the Rust core's walk
        from litellm.router_rust.invoke import walk

        source = inspect.getsource(walk)
    for key in ('"deployment_id"', '"exception_type"', '"exception_string"', '"previous_models"'):
        assert key in source
    # a budget refusal carries LiteLLM's own budget status, which its Router does not retry
    assert not litellm.should_retry(litellm.budget_exceeded_status_code)
    assert params(litellm.BudgetExceededError.__init__)[:4] == ["self", "current_cost", "max_budget", "message"]


def test_token_counting_internals_we_prepare_once() -> None:
    """``pricing.count_prompt_tokens`` builds LiteLLM's per-model counting parameters once and calls
    its message counting functions (it falls back to ``token_counter`` if they move)."""
    from litellm.litellm_core_utils import token_counter as counting

    assert params(counting._MessageCountParams.__init__) == ["self", "model", "custom_tokenizer"]
    assert params(counting._count_messages) == [
        "params",
        "messages",
        "use_default_image_token_count",
        "default_token_count",
    ]
    extra = ["count_function", "tools", "tool_choice", "includes_system_message"]
    # 1.109 adds tool_section: pricing then counts with litellm.token_counter (exact, slower)
    assert params(counting._count_extra) in (extra, [*extra, "tool_section"])


@pytest.mark.skipif(not RUST_CORE, reason="1.110 and later: the Router's selection in a Rust core")
def test_the_stock_pick_on_the_rust_core() -> None:
    """1.110: ``litellm_compat.stock_pick`` = ``Router.select(kind="healthy")`` + the strategy's choice."""
    from litellm.router_rust.steps.selection import StrategySelectors, pick_async
    from litellm.router_strategy.simple_shuffle import simple_shuffle

    select = inspect.signature(Router.select).parameters
    assert list(select)[:3] == ["self", "model", "request_kwargs"]
    assert {"kind", "messages", "input", "specific_deployment"} <= set(select)
    assert params(simple_shuffle) == ["resolve_model_alias", "healthy_deployments", "model", "request_kwargs"]
    assert params(StrategySelectors.selector_for) == ["self", "strategy", "scope", "group", "request"]
    assert params(pick_async)[:7] == [
        "strategy",
        "selector",
        "model",
        "deployments",
        "messages",
        "input",
        "request_kwargs",
    ]
    # register_plugin is the strategy's entry point; set_custom_routing_strategy its deprecated alias
    assert callable(getattr(Router, "register_plugin", None))
