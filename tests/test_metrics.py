"""Metrics in one process: bounded reason labels, latency histograms, remaining budgets, and the
plugin's metrics in prometheus-client's default registry (what LiteLLM's /metrics serves)."""

from __future__ import annotations

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import generate_latest

from litellm_router_plugin import Planner, PluginConfig, metrics
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.guards.budget_use import budget_use, recent_scopes
from litellm_router_plugin.integrations.router import build_router
from litellm_router_plugin.pipeline.pipeline import Pipeline
from tests.conftest import TWO_TIERS, user


def test_reason_labels_are_bounded() -> None:
    assert metrics.reason_label("simple (score 2) -> cheap; gpt-4o-mini is the cheapest healthy of 2") == "simple"
    assert metrics.reason_label("reasoning (score 9) -> strong; tier forced to strong by metadata") == "forced"
    assert metrics.reason_label("complex (score 6) -> strong; downgraded to cheap (budget)") == "downgraded"
    assert metrics.reason_label("gpt-4o named by the caller; admitted without routing") == "named"
    assert metrics.reason_label("anything else at all") == "other"


def test_recent_scopes_are_capped_per_kind() -> None:
    rows = [{"user": f"u{i}", "key": f"key:{i:016x}", "team": "ml"} for i in range(50)]
    found = recent_scopes(rows, 3)
    assert found == {
        "user": ["user:u0", "user:u1", "user:u2"],
        "key": [f"key:{i:016x}" for i in range(3)],
        "team": ["team:ml"],
    }


async def test_routed_calls_fill_the_histograms_the_reasons_and_the_budget_gauges() -> None:
    config = PluginConfig.load({**TWO_TIERS, "budgets": {"per_user": {"daily": 1.0}}})
    admission = Admission(config)
    router = build_router(pipeline=Pipeline(planner=Planner(config), admission=admission))
    before = {
        name: metrics.REGISTRY.get_sample_value(name) or 0.0
        for name in ("lrp_admit_latency_seconds_count", "lrp_settle_latency_seconds_count")
    }
    simple = metrics.REGISTRY.get_sample_value("lrp_routing_decisions_total", {"tier": "cheap", "reason": "simple"})
    for _ in range(3):
        meta = {"router": {"user": "metrics-ann"}}
        await router.acompletion(model="auto", messages=user("Hi!"), mock_response="Hello.", metadata=meta)
    for name, value in before.items():
        assert metrics.REGISTRY.get_sample_value(name) == value + 3
    after = metrics.REGISTRY.get_sample_value("lrp_routing_decisions_total", {"tier": "cheap", "reason": "simple"})
    assert after == (simple or 0) + 3
    use = {b["scope"]: b for b in await budget_use(admission)}
    remaining = metrics.REGISTRY.get_sample_value("lrp_remaining_user_budget_usd", {"user": "metrics-ann"})
    assert remaining == use["user:metrics-ann"]["remaining_usd"]
    assert remaining is not None
    assert 0.99 < remaining < 1.0


def test_the_plugins_metrics_are_in_the_default_registry_once() -> None:
    metrics.expose_in_default()
    metrics.expose_in_default()  # idempotent: a second plugin does not register twice
    assert b"lrp_decisions_total" in generate_latest(DEFAULT_REGISTRY)


async def test_the_dashboard_data_carries_the_learning_status_when_a_learner_is_attached() -> None:
    from collections import Counter
    from types import SimpleNamespace

    import httpx

    from litellm_router_plugin.integrations.server import create_app

    pipeline = Pipeline(PluginConfig.load(TWO_TIERS))
    app = create_app(pipeline)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.get("/router/dashboard/data")).json()["learning"] is None

        async def listing() -> list[dict[str, object]]:
            return [{"version": "v1", "current": True}]

        pipeline.learner = SimpleNamespace(  # type: ignore[assignment]  # what the dashboard reads of a Learner
            config=SimpleNamespace(enabled=True, shadow=SimpleNamespace(share=0.25)),
            adopted="v1",
            stats=Counter(routed=7, shadowed=2),
            last=None,
            registry=SimpleNamespace(listing=listing),
            refresh=None,
        )
        learning = (await http.get("/router/dashboard/data")).json()["learning"]
    assert learning == {
        "enabled": True,
        "shadow_share": 0.25,
        "adopted": "v1",
        "counts": {"routed": 7, "shadowed": 2},
        "last_comparison": None,
        "versions": [{"version": "v1", "current": True}],
    }
