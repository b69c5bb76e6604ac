"""Fails loudly when a LiteLLM hook we rely on moves: we use internals (1.108.7 and 1.109.x tested)."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.router import CustomRoutingStrategyBase, Router
from litellm.router_utils.cooldown_handlers import async_get_cooldown_deployments, get_cooldown_deployments
from packaging.version import Version

STRATEGY_PARAMS = ["self", "model", "messages", "input", "specific_deployment", "request_kwargs"]


def params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


def test_litellm_version_is_within_the_tested_range() -> None:
    assert Version("1.108.7") <= Version(version("litellm")) < Version("1.110")  # make test and make test-newest


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
