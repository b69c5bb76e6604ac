"""The policy snapshot, published through the Store; the null admission; the one admit-result reading;
the typed ledger line; the write-behind queue both background writers share."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
import yaml

from litellm_router_plugin import Pipeline, PluginConfig
from litellm_router_plugin.classify import ComplexityAnalysis
from litellm_router_plugin.errors import BudgetExceededError, CircuitBreakerOpen, ConfigError
from litellm_router_plugin.guards.admission import NULL_ADMISSION, Admission
from litellm_router_plugin.guards.holds import hold_of
from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.pipeline.policy import body_version, build_policy
from litellm_router_plugin.pipeline.ticket import Ticket
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.state import (
    AdmitCandidate,
    AdmitRequest,
    Admitted,
    AllOpen,
    BreakerSpec,
    BudgetRefused,
    DuplicateRequest,
    MemoryStore,
    RedisStore,
)
from litellm_router_plugin.state.write_behind import WriteBehind
from tests.conftest import user
from tests.stores import REDIS_URL

TIERS = [
    {"name": "cheap", "deployments": [{"model": "gpt-4o-mini"}]},
    {"name": "strong", "deployments": [{"model": "gpt-4o"}]},
]


async def test_a_reload_swaps_one_snapshot_and_leaves_the_old_one_whole(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    data = {"tiers": TIERS, "policy": {"watch": True, "poll_seconds": 0}, "breaker": {"enabled": False}}
    data["budgets"] = {"global": {"daily": 5}}
    path.write_text(yaml.safe_dump(data))
    pipeline = Pipeline(path)
    old = pipeline.policy
    assert old.budgets_set
    assert old.admission.enabled
    assert old.version == body_version(path.read_text())

    data["tiers"][0]["deployments"] = [{"model": "gemini/gemini-2.5-flash-lite"}]  # type: ignore[index]
    data["budgets"] = {"global": None}  # removed explicitly (a missing one reads as a cut write)
    path.write_text(yaml.safe_dump(data))
    routed = await pipeline.route(pipeline.request({}, messages=user("Hi there!")))

    new = pipeline.policy
    assert new is not old
    assert routed.decision.model == "gemini/gemini-2.5-flash-lite"
    assert (new.budgets_set, new.admission, pipeline.admission) == (False, NULL_ADMISSION, None)
    assert routed.ticket is None  # nothing held, nothing to settle
    assert old.tier_map.tiers[0].deployments[0].model == "gpt-4o-mini"  # the old snapshot is untouched
    assert (pipeline.config, pipeline.planner, pipeline.tier_map) == (new.config, new.planner, new.tier_map)


class _GatedClassifier:
    """Rates every prompt simple, once released: a reload can come while a request awaits it."""

    name = "gated"

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        self.entered.set()
        await self.release.wait()
        return ComplexityAnalysis(score=2, category="simple", reasoning="gated", classifier=self.name)


async def test_a_reload_while_the_classifier_is_awaited_leaves_the_request_on_one_policy() -> None:
    gate = _GatedClassifier()
    pipeline = Pipeline(planner=Planner(PluginConfig.load({"tiers": TIERS, "breaker": {"enabled": False}}), gate))
    old = pipeline.policy
    assert not old.admission.enabled
    routing = asyncio.create_task(pipeline.route(pipeline.request({}, messages=user("Hi there!"))))
    await gate.entered.wait()
    renamed = [
        {"name": "small", "deployments": [{"model": "gpt-4o-mini"}]},
        {"name": "large", "deployments": [{"model": "gpt-4o"}]},
    ]
    reloaded = PluginConfig.load({"tiers": renamed, "budgets": {"global": {"daily": 5}}})
    pipeline.policy = build_policy(reloaded, "v2", previous=old)  # what a reload by another request does
    gate.release.set()
    routed = await routing

    assert routed.decision.policy_version == old.version != "v2"
    assert routed.decision.tier in old.tier_map
    assert routed.decision.tier not in pipeline.tier_map
    assert routed.deployment is old.tier_map.deployment(routed.decision.deployment_id)
    assert routed.ticket is None  # admitted by the old policy, which holds nothing (the new one would)
    again = await pipeline.route(pipeline.request({}, messages=user("Hi there!")))
    assert (again.decision.policy_version, again.decision.tier) == ("v2", "small")
    assert again.ticket is not None


def test_admitting_every_request_keeps_the_planner_and_carries_over_reloads() -> None:
    pipeline = Pipeline({"tiers": TIERS, "budgets": {"litellm_budgets": True}, "breaker": {"enabled": False}})
    planner = pipeline.planner
    assert pipeline.admission is None
    pipeline.admit_every_request()
    assert isinstance(pipeline.admission, Admission)
    assert pipeline.planner is planner
    reloaded = build_policy(pipeline.config, "v2", previous=pipeline.policy)
    assert reloaded.admit_always
    assert reloaded.admission.store is pipeline.admission.store  # same store settings: same store


async def test_a_store_of_one_process_publishes_nothing() -> None:
    store = MemoryStore()
    await store.publish_policy("abc", "tiers: []", 1.0)
    assert (await store.policy(), await store.policy_version()) == (None, None)


async def test_redis_publishes_one_policy_for_every_worker() -> None:
    store = RedisStore(REDIS_URL, prefix=f"lrp-snap-{id(object())}")
    try:
        assert await store.policy() is None
        await store.publish_policy("abc", "tiers: []", 12.5)
        shared = await store.policy()
        assert shared is not None
        assert (shared.version, shared.body, shared.mtime) == ("abc", "tiers: []", 12.5)
        assert shared.origin == f"redis:{store.prefix}"
        assert await store.policy_version() == "abc"
    finally:
        await store.clear()
        await store.aclose()


def _request(*breakers: str | None) -> AdmitRequest:
    specs = [BreakerSpec(b, 3, 1000, 1000, 1000) if b else None for b in breakers]
    return AdmitRequest("r1", (), tuple(AdmitCandidate(1, breaker=s) for s in specs), 1000)


def test_each_admit_result_means_one_thing() -> None:
    request = _request("a", None, "b")
    estimates = [0.1, 0.2, 0.3]

    def refusal(r: BudgetRefused) -> BudgetExceededError:
        return BudgetExceededError(r.scope, "daily", 1.0, 0.5, 0.0, 0.6)

    assert hold_of(None, request, estimates, refusal).unaccounted
    hold = hold_of(Admitted(2, True, "day:x"), request, estimates, refusal)
    assert (hold.index, hold.estimated_cost, hold.probe, hold.window) == (2, 0.3, True, "day:x")
    assert not hold.unaccounted
    with pytest.raises(BudgetExceededError):
        hold_of(BudgetRefused(0, "user:u", 1, 1, 0, 1), request, estimates, refusal)
    with pytest.raises(CircuitBreakerOpen) as opened:
        hold_of(AllOpen(2500), request, estimates, refusal)
    assert opened.value.retry_after == 2.5
    assert "a, b" in str(opened.value)  # the breakers of the candidates that have one
    with pytest.raises(ConfigError, match="already holds a reservation"):
        hold_of(DuplicateRequest(), request, estimates, refusal)


def test_the_ledger_line_is_typed_and_serialises_as_before() -> None:
    identity = Identity(user="u", key="sk-1", team=None)
    ticket = Ticket("p", "r1", "d1", "gpt-4o", "strong", 1e-6, 2e-6, identity, reason="why")
    row = ticket.ledger_row(1.23456, "2026-12-07", (10, 20), 99, "ok")
    expected = {
        "ts": 1.235, "day": "2026-12-07", "user": "u", "key": row.key, "team": None, "tier": "strong",
        "model": "gpt-4o", "prompt_tokens": 10, "completion_tokens": 20, "strongest_micros": 99,
        "status": "ok", "reason": "why",
    }  # fmt: skip
    assert row.key is not None
    assert "sk-1" not in row.key  # the key's hash, never the key
    assert json.dumps(row.as_dict()) == json.dumps(expected)  # the same JSON, key order included


class _Sink(WriteBehind[int]):
    """A write-behind queue over a list; fails ``failures`` times first."""

    retry_on = (ConnectionError,)
    batch_size, flush_seconds, initial_wait, max_wait = 3, 0.01, 0.001, 0.002

    def __init__(self, failures: int = 0, max_queued: int = 10) -> None:
        from litellm_router_plugin import metrics

        self.gauge, self.dropped = metrics.LEDGER_QUEUE, metrics.LEDGER_DROPPED
        super().__init__(max_queued)
        self.failures, self.batches = failures, []  # type: list[list[int]]

    async def _write(self, batch: list[tuple[str, int]]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("down")
        self.batches.append([item for _, item in batch])

    def _micros(self, item: int) -> int:
        return item

    def _refused(self, key: str, item: int) -> None:
        logging.getLogger(__name__).error("refused %s", key)

    def _lost_message(self) -> str:
        return "items never reached the sink"


async def test_write_behind_batches_retries_and_keeps_an_id_once() -> None:
    sink = _Sink(failures=2)
    for i in range(7):
        assert sink._put(f"k{i}", i * 1_000_000)
    assert sink._put("k0", 0)
    assert len(sink) == 7  # the same id twice: queued once
    assert await sink.flush(5)
    assert [item for batch in sink.batches for item in batch] == [i * 1_000_000 for i in range(7)]
    assert max(map(len, sink.batches)) <= 3


async def test_write_behind_refuses_when_full_and_logs_what_never_landed(caplog: pytest.LogCaptureFixture) -> None:
    sink = _Sink(failures=10**6, max_queued=2)
    with caplog.at_level(logging.ERROR):
        assert sink._put("a", 1_000_000)
        assert sink._put("b", 500_000)
        assert not sink._put("c", 1)
        await sink.close(0.05)
    assert "refused c" in caplog.text
    assert "2 items never reached the sink (total $1.500000): a=$1.000000, b=$0.500000" in caplog.text
