"""A configuration fault (wrong key, no permission, unknown model, bad request) is not escalated to
a dearer tier while LiteLLM cools the deployment down: the fault is remembered in the shared store
for the cooldown's length, and a request that would have used the deployment gets the same error.
Transient failures (5xx, 429) still escalate."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from litellm_router_plugin import build_router
from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.state import MemoryStore, RedisStore
from litellm_router_plugin.tools.fake_upstream import FakeUpstream
from tests.conftest import user
from tests.stores import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    if request.param == "memory":
        yield {"kind": "memory"}
        return
    prefix = f"fault-{uuid.uuid4().hex[:12]}"
    yield {"kind": "redis", "url": REDIS_URL, "prefix": prefix}
    redis = RedisStore(REDIS_URL, prefix=prefix)
    await redis.clear()
    await redis.aclose()


def config(fake: FakeUpstream, store: dict[str, Any], cheap_key: str = "fake") -> dict[str, Any]:
    cheap = fake.deployment("cheap-m", 1e-7, 4e-7)
    cheap["litellm_params"]["api_key"] = cheap_key
    return {
        "tiers": [
            {"name": "cheap", "deployments": [cheap]},
            {"name": "strong", "deployments": [fake.deployment("strong-m", 5e-6, 2e-5)]},
        ],
        "classifier": {"kind": "heuristic"},
        "store": store,
    }


async def greetings(router: Any, n: int = 5) -> list[str]:
    """What each of ``n`` greetings got: the model that answered, or the error's type."""
    got = []
    for _ in range(n):
        try:
            response = await router.acompletion(model="auto", messages=user("Hi there!"), max_tokens=5)
            got.append(str(response.model).rsplit("/", 1)[-1])
        except Exception as exc:
            got.append(type(exc).__name__)
    return got


async def test_a_wrong_key_on_the_cheap_tier_is_never_answered_by_the_strong_tier(
    fake: FakeUpstream, store: dict[str, Any]
) -> None:
    fake.control(**{"cheap-m": {"denied_keys": ["sk-wrong"]}})
    router = build_router(config(fake, store, cheap_key="sk-wrong"), cooldown_time=30)
    got = await greetings(router)
    assert fake.hits().get("strong-m", 0) == 0, got
    assert got == ["AuthenticationError"] * 5
    assert fake.hits()["cheap-m"] == 1  # the later ones are refused while LiteLLM cools it down


async def test_transient_failures_of_the_cheap_tier_still_escalate(fake: FakeUpstream, store: dict[str, Any]) -> None:
    fake.control(**{"cheap-m": {"error_rate": 1.0, "error_status": 503}})
    router = build_router(config(fake, store), cooldown_time=30, num_retries=1, retry_after=0)
    got = await greetings(router, 3)
    assert got == ["strong-m"] * 3


async def test_the_replayed_error_names_the_deployment_and_the_fault(fake: FakeUpstream) -> None:
    fake.control(**{"cheap-m": {"denied_keys": ["sk-wrong"]}})
    router = build_router(config(fake, {"kind": "memory"}, cheap_key="sk-wrong"), cooldown_time=30)
    with pytest.raises(litellm.AuthenticationError):
        await router.acompletion(model="auto", messages=user("Hi there!"), max_tokens=5)
    with pytest.raises(litellm.AuthenticationError) as info:
        await router.acompletion(model="auto", messages=user("Hi there!"), max_tokens=5)
    assert info.value.status_code == 401
    assert "openai/cheap-m" in str(info.value)
    assert "configuration fault (AuthenticationError)" in str(info.value)
    assert "no escalation while it cools down (30 s)" in str(info.value)


async def test_a_remembered_fault_is_shared_by_every_worker_and_lasts_the_cooldown() -> None:
    clock = ManualClock(1_700_000_000.0)
    memory = MemoryStore(clock)
    prefix = f"fault-{uuid.uuid4().hex[:12]}"
    redis, other = RedisStore(REDIS_URL, prefix=prefix), RedisStore(REDIS_URL, prefix=prefix)
    fault = {"kind": "AuthenticationError", "model": "m", "message": "bad key", "seconds": "30"}
    try:
        for store, reader in ((memory, memory), (redis, other)):
            await store.remember_fault("dep-1", fault, 30)
            assert await reader.faults(["dep-1", "dep-2"]) == {"dep-1": fault}
            await store.forget_fault("dep-1")
            assert await reader.faults(["dep-1"]) == {}
            await store.remember_fault("dep-1", fault, 30)
        clock.advance(30.001)
        assert await memory.faults(["dep-1"]) == {}
        assert 0 < await redis.client.pttl(f"{{{prefix}}}:fault:dep-1") <= 30_000
    finally:
        await redis.clear()
        await redis.aclose()
        await other.aclose()
