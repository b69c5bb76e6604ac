from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from litellm_router_plugin import ConfigError, CostTracker, Pipeline, Planner, PluginConfig, build_router
from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.cli import app
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.guards.costs import summarise_ledger
from litellm_router_plugin.state import RedisStore
from tests.conftest import TWO_TIERS, user
from tests.stores import REDIS_URL


def litellm_usd(model: str, tokens_in: int, tokens_out: int) -> float:
    prompt, completion = litellm.cost_per_token(model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out)
    return float(prompt + completion)


def test_nested_scopes_and_summary() -> None:
    tracker = CostTracker()
    with tracker.scope("pipeline:42"):
        with tracker.scope("step:classify"):
            first = tracker.record("gpt-4o-mini", 1200, 40)
        with tracker.scope("step:answer"):
            tracker.record("gpt-4o", 800, 400)
    tracker.record("gpt-4o-mini", 10, 10)
    assert first.cost_usd == pytest.approx(litellm_usd("gpt-4o-mini", 1200, 40))
    assert first.scopes == ("pipeline:42", "step:classify")
    pipeline = litellm_usd("gpt-4o-mini", 1200, 40) + litellm_usd("gpt-4o", 800, 400)
    assert tracker.scope_cost("pipeline:42") == pytest.approx(pipeline)
    assert tracker.scope_cost("step:answer") == pytest.approx(litellm_usd("gpt-4o", 800, 400))
    summary = tracker.summary()
    assert summary.total_usd == pytest.approx(pipeline + litellm_usd("gpt-4o-mini", 10, 10))
    assert summary.by_scope["pipeline:42"] == pytest.approx(pipeline)
    assert summary.by_model["gpt-4o"] == pytest.approx(litellm_usd("gpt-4o", 800, 400))
    assert summary.calls == 3


async def test_scopes_are_task_local() -> None:
    tracker = CostTracker()

    async def job(name: str) -> None:
        with tracker.scope(name):
            await asyncio.sleep(0.01)
            tracker.record("gpt-4o-mini", 100, 10)

    await asyncio.gather(job("a"), job("b"))
    assert sorted(r.scopes for r in tracker.records) == [("a",), ("b",)]


def test_bad_tracker_input() -> None:
    tracker = CostTracker()
    with pytest.raises(ConfigError, match="input_tokens"):
        tracker.record("gpt-4o", -1, 0)
    with pytest.raises(ConfigError, match="scope"), tracker.scope(""):
        pass


def test_ledger_summary_by_hand() -> None:
    rows = [
        {"tier": "cheap", "model": "m1", "user": "a", "day": "2026-11-25", "cost_micros": 10, "strongest_micros": 100},
        {"tier": "strong", "model": "m2", "user": "b", "day": "2026-11-25", "cost_micros": 90, "strongest_micros": 90},
        {
            "tier": "cheap",
            "model": "m1",
            "day": "2026-11-26",
            "cost_micros": 0,
            "strongest_micros": 0,
            "status": "error:X",
        },
    ]
    summary = summarise_ledger(rows)
    assert (summary.calls, summary.failed) == (3, 1)
    assert summary.total_usd == pytest.approx(100e-6)
    assert summary.savings_usd == pytest.approx(90e-6)
    assert summary.savings_ratio == pytest.approx(90 / 190)
    assert summary.by_tier == pytest.approx({"cheap": 10e-6, "strong": 90e-6})
    assert summary.by_user == pytest.approx({"a": 10e-6, "b": 90e-6, "-": 0.0})
    assert summary.by_day == pytest.approx({"2026-11-25": 100e-6, "2026-11-26": 0.0})


def test_stats_command_reads_the_shared_ledger(tmp_path: Path) -> None:
    prefix = f"stats-{uuid.uuid4().hex[:8]}"
    config = {**TWO_TIERS, "store": {"kind": "redis", "url": REDIS_URL, "prefix": prefix}}

    async def seed() -> None:
        planner = Planner(PluginConfig.load(config))
        admission = Admission(planner.config)
        router = build_router(pipeline=Pipeline(planner=planner, admission=admission))
        for text in ("Hi!", "Prove that there are infinitely many primes, rigorously.", "Thanks"):
            meta = {"router": {"user": "u1"}}
            await router.acompletion(model="auto", messages=user(text), mock_response="x", metadata=meta)
        await admission.store.aclose()

    async def cleanup() -> None:
        store = RedisStore(REDIS_URL, prefix=prefix)
        await store.clear()
        await store.aclose()

    asyncio.run(seed())
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    try:
        result = CliRunner().invoke(app, ["stats", "--config", str(path), "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["calls"] == 3
        assert set(data["by_tier"]) == {"cheap", "strong"}
        assert data["by_user"] == pytest.approx({"u1": data["total_usd"]})
        assert data["strongest_usd"] > data["total_usd"] > 0
        table = CliRunner().invoke(app, ["stats", "--config", str(path)])
        assert "3 calls (0 failed) from redis store" in table.output
    finally:
        asyncio.run(cleanup())
