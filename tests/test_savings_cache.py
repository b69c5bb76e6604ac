"""LiteLLM's savings figure of a routed request reads the Router's cached deployment info
(``integrations.savings``): the same figure, without pricing both deployments afresh every request."""

from __future__ import annotations

from typing import Any

import pytest
from litellm import Router

savings = pytest.importorskip("litellm.proxy.spend_tracking.savings")

from litellm_router_plugin.integrations.savings import use_cached_deployment_info  # noqa: E402

DEPLOYMENTS = [
    ("cheap", "openai/gpt-4o-mini", 1.5e-7, 6.0e-7),
    ("strong", "openai/gpt-4o", 2.5e-6, 1.0e-5),
]
DECISION = {
    "router_model_name": "auto",
    "savings_baseline_model": "openai/gpt-4o",
    "savings_baseline_deployment_id": "test-savings-strong",
}
USAGE = {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160}


def _figure(router: Router) -> Any:
    return savings.autorouter_savings_for_request(
        "gpt-4o-mini", "openai", DECISION, USAGE, "test-savings-cheap", lambda: router, None
    )


def test_the_savings_figure_is_the_same_and_each_deployment_priced_once(monkeypatch: pytest.MonkeyPatch) -> None:
    if hasattr(Router, "registry"):
        pytest.skip("this LiteLLM reads the Router's cached deployment info itself")
    monkeypatch.setattr(savings, "_effective_model_info", savings._effective_model_info)  # undone after the test
    priced: list[str] = []
    uncached = Router.get_deployment_model_info

    def counting(self: Router, model_id: str, model_name: str) -> Any:
        priced.append(model_id)
        return uncached(self, model_id, model_name)

    monkeypatch.setattr(Router, "get_deployment_model_info", counting)
    # LiteLLM's own step, whatever an earlier test in this process (a proxy plugin built) did to it
    current = savings._effective_model_info
    monkeypatch.setattr(savings, "_effective_model_info", getattr(current, "__wrapped__", current))
    router = Router(
        model_list=[
            {
                "model_name": name,
                "litellm_params": {
                    "model": model,
                    "api_key": "x",
                    "input_cost_per_token": price_in,
                    "output_cost_per_token": price_out,
                },
                "model_info": {"id": f"test-savings-{name}"},
            }
            for name, model, price_in, price_out in DEPLOYMENTS
        ]
    )
    expected = _figure(router)
    assert expected is not None
    assert expected > 0
    assert len(priced) == 2  # LiteLLM's own: both deployments priced, every request

    assert use_cached_deployment_info() is True
    assert use_cached_deployment_info() is False  # once per process
    priced.clear()
    assert [_figure(router) for _ in range(3)] == [expected] * 3
    assert sorted(priced) == ["test-savings-cheap", "test-savings-strong"]  # once each, then cached
