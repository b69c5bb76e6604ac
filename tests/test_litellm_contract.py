"""Fails loudly when a LiteLLM hook we rely on moves: we use internals, pinned below 1.109."""

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
    assert Version("1.108.7") <= Version(version("litellm")) < Version("1.109")


def test_custom_strategy_hook_signature() -> None:
    assert params(CustomRoutingStrategyBase.async_get_available_deployment) == STRATEGY_PARAMS
    assert params(CustomRoutingStrategyBase.get_available_deployment) == STRATEGY_PARAMS
    assert "set_custom_routing_strategy" in vars(Router)


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
    assert params(get_cooldown_deployments) == ["litellm_router_instance", "parent_otel_span"]
    assert params(async_get_cooldown_deployments) == ["litellm_router_instance", "parent_otel_span"]


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
