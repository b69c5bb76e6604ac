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


def _usages() -> list[tuple[Any, Any]]:
    """(usage, baseline usage) shapes the figure prices differently: plain, past a tiered-price
    threshold, with reasoning tokens, with cached prompt tokens (priced only with a baseline usage)."""
    from litellm.types.utils import CompletionTokensDetailsWrapper, PromptTokensDetailsWrapper, Usage

    plain = Usage(prompt_tokens=1200, completion_tokens=300, total_tokens=1500)
    long = Usage(prompt_tokens=300_000, completion_tokens=2000, total_tokens=302_000)
    reasoning = Usage(
        prompt_tokens=500,
        completion_tokens=900,
        total_tokens=1400,
        completion_tokens_details=CompletionTokensDetailsWrapper(reasoning_tokens=600),
    )
    cached = Usage(
        prompt_tokens=4000,
        completion_tokens=50,
        total_tokens=4050,
        prompt_tokens_details=PromptTokensDetailsWrapper(cached_tokens=3000),
    )
    return [(plain, None), (long, None), (reasoning, None), (cached, cached)]


def test_the_priced_view_gives_every_chat_models_figure_unchanged() -> None:
    """``priced_view`` (the deployment info without its unset fields) prices like the full info, as
    the baseline and as the served model, for chat models LiteLLM prices per token."""
    import litellm

    from litellm_router_plugin.integrations.savings import priced_view

    served = litellm.get_model_info(model="gpt-4o-mini")
    chat = [
        (name, entry)
        for name, entry in sorted(litellm.model_cost.items())
        if isinstance(entry, dict)
        and entry.get("mode") == "chat"
        and "input_cost_per_token" in entry
        # resolving a GitHub Copilot model logs in to GitHub (a network call): not priced here
        and entry.get("litellm_provider") != "github_copilot"
    ]
    # Every model with tiered or long-context prices, and every 8th of the others.
    special = [(n, e) for n, e in chat if "tiered_pricing" in e or any("_above_" in k for k in e)]
    compared = 0
    for name, _ in special + [c for c in chat[::8] if c not in special]:
        try:
            full = litellm.get_model_info(model=name)
        except Exception:  # an entry LiteLLM cannot resolve by name: no deployment would be priced by it
            continue
        view = priced_view(full)
        assert len(view) < len(full)
        for usage, baseline_usage in _usages():
            figures = [
                savings.compute_autorouter_savings(
                    baseline_model=name,
                    selected_model="gpt-4o-mini",
                    selected_provider="openai",
                    usage=usage,
                    selected_info=selected,
                    baseline_info=baseline,
                    baseline_usage=baseline_usage,
                )
                for baseline, selected in ((full, served), (view, priced_view(served)))
            ]
            assert figures[0] == figures[1], (name, usage)
            cache = [
                savings._prompt_caching_savings(info, None, usage.model_dump(), None, None) for info in (full, view)
            ]
            assert cache[0] == cache[1], (name, usage)
        compared += 1
    assert compared > 300
