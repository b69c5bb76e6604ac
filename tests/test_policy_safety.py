"""A policy reload never loosens protection by accident: an empty file, a file cut before one of
its sections, a deleted file, or a budget-less version published by another worker keep the
running policy; removing a section takes an explicit ``null``; an accepted change says what changed."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from litellm_router_plugin import BudgetExceededError, Pipeline
from litellm_router_plugin.pipeline.policy import body_version
from litellm_router_plugin.state import RedisStore
from tests import workers
from tests.conftest import user
from tests.stores import REDIS_URL
from tests.test_policy import write

SPAWN = mp.get_context("spawn")
LOGGER = "litellm_router_plugin.pipeline.policy"


def policy_text(store: str = "{kind: memory}", daily: float = 0.01) -> str:
    # Sections in this order on purpose: a write cut before `budgets:` leaves a valid, budget-less file.
    return (
        "tiers:\n"
        "  - {name: cheap, deployments: [{model: gpt-4o-mini}]}\n"
        "  - {name: strong, deployments: [{model: gpt-4o}]}\n"
        f"store: {store}\n"
        "policy: {watch: true, poll_seconds: 0}\n"
        "budgets:\n"
        f"  global: {{daily: {daily}}}\n"
    )


def cut_before(text: str, section: str) -> str:
    return text[: text.index(f"{section}:")]


async def admitted(pipeline: Pipeline, n: int = 3) -> int:
    count = 0
    for _ in range(n):
        try:
            routed = await pipeline.route(pipeline.request({}, messages=user("Hi there!")))
        except BudgetExceededError:
            continue
        count += 1
        assert routed.ticket is not None
        await pipeline.settle(routed.ticket)
    return count


async def spend_all(pipeline: Pipeline) -> None:
    assert pipeline.admission is not None
    await pipeline.admission.guard.reserve("spent", 0.01)
    await pipeline.admission.guard.settle("spent", 0.01, ledger={"model": "test"})


async def test_an_empty_cut_or_deleted_file_keeps_the_budgets_with_one_error_naming_what_vanished(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.yaml"
    good = write(path, policy_text())
    pipeline = Pipeline(path)
    await spend_all(pipeline)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        write(path, "")
        assert await admitted(pipeline) == 0
        write(path, cut_before(policy_text(), "budgets"))
        assert await admitted(pipeline) == 0
        path.unlink()
        assert await admitted(pipeline) == 0
    assert pipeline.policy_version == good
    assert pipeline.config.budgets.all_requests is not None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2, errors
    assert "empty" in errors[0]
    assert "budgets: null" in errors[1], errors[1]
    assert f"keeping version {good}" in errors[1]
    assert any("deleted" in r.getMessage() for r in caplog.records), caplog.records


async def test_a_section_cut_to_an_empty_value_is_not_an_explicit_removal(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    good = write(path, policy_text())
    pipeline = Pipeline(path)
    await spend_all(pipeline)
    write(path, cut_before(policy_text(), "global"))  # ends with "budgets:\n": an empty value
    assert await admitted(pipeline) == 0
    assert pipeline.policy_version == good


async def test_an_explicit_null_removes_a_section_and_changes_are_logged_before_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.yaml"
    write(path, policy_text())
    pipeline = Pipeline(path)
    await spend_all(pipeline)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        write(path, policy_text(daily=0.02))
        assert await admitted(pipeline, 1) == 1  # $0.02 now, $0.01 spent
        write(path, cut_before(policy_text(), "budgets") + "budgets: null\n")
        assert await admitted(pipeline) == 3
    changes = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(changes) == 2, changes
    assert "budgets.global.daily: 0.01 -> 0.02" in changes[0], changes[0]
    assert "budgets.global.daily: 0.02 -> None" in changes[1], changes[1]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"policy-safe-{uuid.uuid4().hex[:12]}"
    yield prefix

    async def clear() -> None:
        store = RedisStore(REDIS_URL, prefix=prefix)
        await store.clear()
        await store.aclose()

    asyncio.run(clear())


def test_two_workers_with_a_spent_budget_admit_nothing_whatever_happens_to_the_file(
    tmp_path: Path, redis_prefix: str
) -> None:
    """Two processes watch one file over one Redis prefix, the global daily budget already spent:
    the file emptied, cut before `budgets:`, deleted, and a budget-less version published in Redis
    by another machine: zero calls admitted."""
    text = policy_text(store=f"{{kind: redis, url: '{REDIS_URL}', prefix: {redis_prefix}}}")
    path = tmp_path / "policy.yaml"
    write(path, text)
    spender = Pipeline(path)

    async def spend() -> None:
        await spend_all(spender)
        assert spender.admission is not None
        await spender.admission.store.aclose()

    asyncio.run(spend())
    pipes, procs = [], []
    try:
        for _ in range(2):
            parent, child = SPAWN.Pipe()
            proc = SPAWN.Process(target=workers.policy_admits, args=(str(path), child), daemon=True)
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        for conn in pipes:
            assert conn.poll(120), "worker did not start"
            assert conn.recv() == "ready"

        def admits(n: int = 20) -> int:
            for conn in pipes:
                conn.send(n)
            assert all(conn.poll(60) for conn in pipes)
            return sum(conn.recv() for conn in pipes)

        assert admits() == 0  # spent
        write(path, "")
        emptied = admits()
        write(path, cut_before(text, "budgets"))
        cut = admits()
        path.unlink()
        deleted = admits()
        other = cut_before(text, "budgets") + "alias: auto\n"  # another machine's budget-less policy

        async def publish() -> None:
            store = RedisStore(REDIS_URL, prefix=redis_prefix)
            await store.publish_policy(body_version(other), other, time.time() + 60)
            await store.aclose()

        asyncio.run(publish())
        published = admits()
        assert (emptied, cut, deleted, published) == (0, 0, 0, 0)
    finally:
        for conn in pipes:
            conn.send(None)
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()


async def test_a_published_version_is_adopted_only_when_it_removes_budgets_explicitly(
    tmp_path: Path, redis_prefix: str
) -> None:
    text = policy_text(store=f"{{kind: redis, url: '{REDIS_URL}', prefix: {redis_prefix}}}")
    path = tmp_path / "policy.yaml"
    good = write(path, text)
    pipeline = Pipeline(path)
    await spend_all(pipeline)
    assert pipeline.admission is not None
    store = pipeline.admission.store
    assert isinstance(store, RedisStore)
    assert await admitted(pipeline) == 0  # publishes this worker's version
    cut = cut_before(text, "budgets")
    await store.publish_policy(body_version(cut), cut, time.time() + 60)
    assert await admitted(pipeline) == 0
    assert pipeline.policy_version == good
    explicit = cut + "budgets: null\n"
    await store.publish_policy(body_version(explicit), explicit, time.time() + 60)
    assert await admitted(pipeline) == 3
    assert pipeline.policy_version == body_version(explicit)
    await store.aclose()
