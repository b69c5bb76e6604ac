"""The routing policy file reloaded at run time: in one process, in two (Redis version key), and
an invalid file ignored with one clear error."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from litellm_router_plugin import Pipeline
from litellm_router_plugin.pipeline.policy import body_version
from litellm_router_plugin.state import RedisStore
from tests import workers
from tests.conftest import user
from tests.stores import REDIS_URL

SPAWN = mp.get_context("spawn")


def policy(cheap_model: str, *, store: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "tiers": [
            {"name": "cheap", "deployments": [{"model": cheap_model}]},
            {"name": "strong", "deployments": [{"model": "gpt-4o"}]},
        ],
        "policy": {"watch": True, "poll_seconds": 0},
        "store": store or {"kind": "memory"},
        **extra,
    }


def write(path: Path, data: dict[str, Any] | str) -> str:
    text = data if isinstance(data, str) else yaml.safe_dump(data)
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a distinct mtime even on coarse clocks
    return body_version(text)


async def test_a_changed_policy_applies_to_the_next_request(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    first = write(path, policy("gpt-4o-mini"))
    pipeline = Pipeline(path)
    routed = await pipeline.route(pipeline.request({}, messages=user("Hi there!")))
    assert (routed.decision.model, routed.decision.policy_version) == ("gpt-4o-mini", first)

    second = write(path, policy("gemini/gemini-2.5-flash-lite", cascade={"max_cost_usd": 0.01}))
    routed = await pipeline.route(pipeline.request({}, messages=user("Hi there!")))
    assert (routed.decision.model, routed.decision.policy_version) == ("gemini/gemini-2.5-flash-lite", second)
    assert pipeline.config.cascade.max_cost_usd == 0.01
    assert routed.decision.log_record("x")["policy_version"] == second


async def test_an_invalid_policy_is_ignored_with_one_error_naming_the_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.yaml"
    good = write(path, policy("gpt-4o-mini"))
    pipeline = Pipeline(path)
    bad = policy("gpt-4o-mini", cascade={"consistency_threshold": 2})
    with caplog.at_level(logging.ERROR, logger="litellm_router_plugin.pipeline.policy"):
        write(path, bad)
        for _ in range(3):
            routed = await pipeline.route(pipeline.request({}, messages=user("Hi there!")))
            assert (routed.decision.model, routed.decision.policy_version) == ("gpt-4o-mini", good)
        write(path, "tiers: [unclosed")
        await pipeline.route(pipeline.request({}, messages=user("Hi there!")))
        write(path, policy("no-such-model-anywhere"))  # valid shape, but no price: still refused
        await pipeline.route(pipeline.request({}, messages=user("Hi there!")))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3, errors
    assert "cascade.consistency_threshold" in errors[0]
    assert f"keeping version {good}" in errors[0]
    assert "Not valid YAML" in errors[1]
    assert "tiers[0].deployments[0].model" in errors[2]
    assert pipeline.policy_version == good


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"policy-{uuid.uuid4().hex[:12]}"
    yield prefix

    async def clear() -> None:
        store = RedisStore(REDIS_URL, prefix=prefix)
        await store.clear()
        await store.aclose()

    asyncio.run(clear())


def test_a_policy_change_reaches_the_next_request_of_two_processes(tmp_path: Path, redis_prefix: str) -> None:
    """Each process watches its own copy of the file (two machines): A's copy changes, A's next
    request uses it and publishes the version; B's next request adopts it through Redis."""
    store = {"kind": "redis", "url": REDIS_URL, "prefix": redis_prefix}
    paths = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    first, same = (write(p, policy("gpt-4o-mini", store=store)) for p in paths)
    assert first == same
    pipes, procs = [], []
    try:
        for p in paths:
            parent, child = SPAWN.Pipe()
            proc = SPAWN.Process(target=workers.policy_worker, args=(str(p), child), daemon=True)
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        for conn in pipes:
            assert conn.poll(120), "worker did not start"
            assert conn.recv() == "ready"

        def ask(i: int) -> tuple[str, str]:
            pipes[i].send("Hi there!")
            assert pipes[i].poll(60)
            answer: tuple[str, str] = pipes[i].recv()
            return answer

        assert [ask(0), ask(1)] == [("gpt-4o-mini", first)] * 2
        second = write(paths[0], policy("gemini/gemini-2.5-flash-lite", store=store))
        assert ask(0) == ("gemini/gemini-2.5-flash-lite", second)
        assert ask(1) == ("gemini/gemini-2.5-flash-lite", second)  # B's file is unchanged
        assert [ask(1), ask(0)] == [("gemini/gemini-2.5-flash-lite", second)] * 2
    finally:
        for conn in pipes:
            conn.send(None)
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
