"""The one HTTP error mapper: each refusal's status, type and retry header, as the proxy and serve send them."""

from __future__ import annotations

import pytest

from litellm_router_plugin.errors import (
    BudgetExceededError,
    CircuitBreakerOpen,
    ConfigError,
    ModelNotAllowed,
    NoDeploymentAvailable,
    RouterPluginError,
    StoreResetError,
    StoreUnavailableError,
    UnknownModelError,
    UnsupportedRequest,
)
from litellm_router_plugin.integrations.http_errors import to_http_error

NO_RETRY = {"x-should-retry": "false"}


@pytest.mark.parametrize(
    ("error", "status", "kind", "headers"),
    [
        (
            BudgetExceededError("key:k", "daily", 1.0, 1.0, 0.0, 0.1, retry_after=3600.2),
            429,
            "budget_exceeded",
            {"Retry-After": "3601"},
        ),
        (BudgetExceededError("key:k", "per_request", 0.01, 0.0, 0.0, 0.1), 429, "budget_exceeded", NO_RETRY),
        (UnsupportedRequest("vision", "no tier has it"), 400, "invalid_request_error", NO_RETRY),
        (ModelNotAllowed("gpt-x", "alias only"), 403, "model_not_allowed", NO_RETRY),
        (CircuitBreakerOpen(["a"], 0.2), 503, "circuit_breaker_open", {"Retry-After": "1"}),
        (CircuitBreakerOpen(["a"], 29.9), 503, "circuit_breaker_open", {"Retry-After": "30"}),
        (StoreUnavailableError("redis://:secret@db:6379", OSError("refused")), 503, "store_unavailable", None),
        (StoreResetError("redis", "no ledger is configured"), 503, "store_reset", {"Retry-After": "5"}),
        (NoDeploymentAvailable(["cheap"], "all cooling down"), 503, "no_deployment_available", {"Retry-After": "5"}),
        (ConfigError("metadata.router.tier", "huge", "Use a tier name."), 400, "invalid_request_error", NO_RETRY),
        (UnknownModelError("tiers.cheap", "gpt-nope", ["gpt-4o"]), 400, "invalid_request_error", NO_RETRY),
    ],
)
def test_each_refusal_maps_to_its_answer(
    error: RouterPluginError, status: int, kind: str, headers: dict[str, str] | None
) -> None:
    answer = to_http_error(error)
    assert answer is not None
    assert (answer.status_code, answer.type, answer.headers) == (status, kind, headers)
    body = answer.body()["error"]
    assert body["type"] == kind
    assert body["code"] == str(status)
    if isinstance(error, StoreUnavailableError):
        assert "secret" not in body["message"]
        assert "unavailable" in body["message"]
    else:
        assert body["message"] == str(error)


def test_a_config_error_names_its_field() -> None:
    answer = to_http_error(ConfigError("metadata.router.max_cost_usd", -1, "Write a non-negative number."))
    assert answer is not None
    assert answer.body()["error"]["param"] == "metadata.router.max_cost_usd"


@pytest.mark.parametrize("error", [RouterPluginError("internal"), ValueError("not ours"), KeyboardInterrupt()])
def test_anything_else_is_not_mapped(error: BaseException) -> None:
    assert to_http_error(error) is None
