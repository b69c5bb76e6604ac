"""The ledger behind a store that lost its data: scoped by prefix, rebuilt without a lasting
under-count, holds in flight kept, a fresh or ledger-less start that follows ``on_reset`` with the
real cause, and one start-up line per dependency. Real Redis (unique prefixes) and PostgreSQL."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from typer.testing import CliRunner

from litellm_router_plugin import BudgetExceededError, BudgetGuard, BudgetLimit
from litellm_router_plugin.errors import StoreResetError
from litellm_router_plugin.guards.settle_queue import queue_for
from litellm_router_plugin.state import RedisStore
from litellm_router_plugin.state.ledger import MIGRATIONS, PostgresLedger
from tests.servers import LEDGER_DSN, REDIS_SERVER, TcpProxy, free_port, start_redis

URL = "redis://127.0.0.1:6379/0"


def worker(prefix: str, ledger: PostgresLedger, daily: float = 100.0, **kwargs: str) -> BudgetGuard:
    """One worker: its own Redis connections and ledger writer, on ``prefix``."""
    store = RedisStore(URL, prefix=prefix, socket_timeout=2.0)
    store.attach_ledger(ledger)
    return BudgetGuard(BudgetLimit(daily=daily), store=store, **kwargs)  # type: ignore[arg-type]


async def spend(guard: BudgetGuard, calls: int, usd: float, tag: str) -> None:
    for i in range(calls):
        await guard.reserve(f"{tag}-{i}", usd)
        await guard.settle(f"{tag}-{i}", usd)


async def ledger_total(schema: str, prefix: str) -> int:
    async with await psycopg.AsyncConnection.connect(LEDGER_DSN, autocommit=True) as conn:
        cur = await conn.execute(
            f"SELECT coalesce(sum(cost_micros), 0) FROM {schema}.spend WHERE store_prefix = %s", (prefix,)
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
async def workers() -> AsyncIterator[list[BudgetGuard]]:
    """Workers a test makes; their ledgers closed and their prefixes cleared afterwards."""
    made: list[BudgetGuard] = []
    yield made
    for guard in made:
        if guard.store.durable is not None:
            await guard.store.durable.aclose(1.0)
        assert isinstance(guard.store, RedisStore)
        await guard.store.clear()
        await guard.store.aclose()


async def flushed(guard: BudgetGuard, seconds: float) -> bool:
    """Whether everything the worker queued for the ledger was written within ``seconds``."""
    assert guard.store.durable is not None
    return await guard.store.durable.flush(seconds)


def prefix() -> str:
    return f"lr-{uuid.uuid4().hex[:8]}"


async def test_two_prefixes_on_one_ledger_schema_each_count_and_list_only_their_own(
    ledger_schema: str, workers: list[BudgetGuard]
) -> None:
    first, second = prefix(), prefix()
    a = worker(first, PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05))
    workers.append(a)
    await spend(a, 60, 0.01, "a")
    assert await flushed(a, 10)

    b = worker(second, PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05))
    workers.append(b)
    await spend(b, 2, 0.01, "b")  # a new deployment on the same schema: its own counters, from zero
    print(f"\nnew prefix on a shared ledger schema: ${(await b.spent())[0]:.2f} spent after its own $0.02")
    assert await b.spent() == (pytest.approx(0.02), 0.0)
    assert await flushed(b, 10)
    assert b.store.durable is not None
    assert a.store.durable is not None
    assert {r["request_id"] for r in await b.store.durable.rows()} == {"b-0", "b-1"}  # stats: its own rows
    assert len(await a.store.durable.rows()) == 60

    assert isinstance(a.store, RedisStore)
    await a.store.clear()  # the first deployment's Redis loses its data: rebuilt from its rows only
    await a.reserve("again", 0.01)
    assert await a.spent() == (pytest.approx(0.60), pytest.approx(0.01))
    assert await ledger_total(ledger_schema, first) == 600_000


async def test_a_ledger_from_before_prefixes_is_migrated_and_its_rows_stay_counted(ledger_schema: str) -> None:
    async with await psycopg.AsyncConnection.connect(LEDGER_DSN, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {ledger_schema}")
        await conn.execute(
            f"CREATE TABLE {ledger_schema}.schema_version (version int PRIMARY KEY, applied_at timestamptz)"
        )
        for statement in MIGRATIONS[1]:
            await conn.execute(statement.format(schema=ledger_schema))
        await conn.execute(f"INSERT INTO {ledger_schema}.schema_version VALUES (1, now())")
        await conn.execute(
            f"INSERT INTO {ledger_schema}.spend (request_id, time_window, scopes, cost_micros, row_data) "
            "VALUES ('old', 'day:2026-12-06', '{global}', 250000, '{}')"
        )
    ledger = PostgresLedger(LEDGER_DSN, schema=ledger_schema, prefix="any")
    try:
        # Whose the old row was is unknown: every prefix keeps counting it (as before the upgrade).
        assert await ledger.totals(["day:2026-12-06"]) == {("global", "day:2026-12-06"): 250_000}
        assert await ledger.totals(["day:2026-12-06"], except_epoch="e1") == {("global", "day:2026-12-06"): 250_000}
        assert [r["request_id"] for r in await ledger.rows()] == ["old"]
        assert not await ledger.has_rows()  # but it does not make the prefix an old one
    finally:
        await ledger.aclose()


async def test_a_rebuild_while_another_workers_rows_are_queued_ends_equal_to_the_ledger(
    ledger_schema: str, workers: list[BudgetGuard]
) -> None:
    shared = prefix()
    proxy = TcpProxy(5432)
    await proxy.start()
    try:
        one = worker(shared, PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05))
        dsn = LEDGER_DSN.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        two = worker(shared, PostgresLedger(dsn, schema=ledger_schema, flush_seconds=0.05, connect_timeout=1))
        workers += [one, two]
        await spend(one, 30, 0.01, "one")
        await spend(two, 5, 0.01, "two")
        assert await flushed(two, 10)
        await proxy.stop()  # the second worker's ledger writer goes into retry backoff
        await spend(two, 40, 0.05, "queued")
        assert await flushed(one, 10)
        assert two.store.durable is not None
        assert len(two.store.durable) == 40

        assert isinstance(one.store, RedisStore)
        await one.store.clear()  # Redis loses the data; the first worker rebuilds from the ledger
        await one.reserve("after", 0.0)
        at_rebuild = (await one.spent())[0]
        assert at_rebuild == pytest.approx(0.35)  # the queued $2.00 is not in the ledger yet

        await proxy.start()  # the queued rows land, and are added to the live counters
        assert await two.store.durable.flush(30)
        after = (await one.spent())[0]
        total = await ledger_total(ledger_schema, shared)
        print(
            f"\nrebuild with another worker's rows queued: ${at_rebuild:.2f} -> ${after:.2f}, ledger ${total / 1e6:.2f}"
        )
        assert total == 2_350_000
        assert after == pytest.approx(total / 1e6)
        await spend(one, 1, 0.01, "later")  # and it stays exact afterwards
        assert await flushed(one, 10)
        assert (await one.spent())[0] == pytest.approx((await ledger_total(ledger_schema, shared)) / 1e6)
    finally:
        await proxy.stop()


async def test_holds_in_flight_at_the_loss_are_held_again_and_charged(
    ledger_schema: str, workers: list[BudgetGuard]
) -> None:
    shared = prefix()
    one = worker(shared, PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05), daily=1.0)
    two = worker(shared, PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05), daily=1.0)
    workers += [one, two]
    await spend(one, 50, 0.01, "done")
    for i in range(5):
        await one.reserve(f"flying-{i}", 0.10)  # $0.50 in flight on the first worker
    assert await flushed(one, 10)
    assert isinstance(one.store, RedisStore)
    await one.store.clear()

    admitted = 0
    for i in range(5):  # the other worker finds the store empty and rebuilds
        try:
            await two.reserve(f"other-{i}", 0.10)
        except BudgetExceededError:
            continue
        await two.settle(f"other-{i}", 0.10)
        admitted += 1
    statuses = [(await one.settle(f"flying-{i}", 0.10)).status for i in range(5)]
    for guard in (one, two):
        assert await flushed(guard, 10)
    made = 0.50 + 0.50 + 0.10 * admitted
    print(f"\nholds in flight at the loss: calls made ${made:.2f} on a $1.00 day; {admitted} admitted after it")
    assert admitted == 0
    assert statuses == ["settled"] * 5
    assert await one.spent() == (pytest.approx(1.0), 0.0)
    assert await ledger_total(ledger_schema, shared) == 1_000_000


def events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"event": "store_reset"')]


async def test_a_fresh_prefix_with_the_ledger_unreachable_follows_on_reset_and_names_the_cause(
    workers: list[BudgetGuard], caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/test"  # nothing listens there
    serving = worker(prefix(), PostgresLedger(closed, connect_timeout=1))
    workers.append(serving)
    with caplog.at_level(logging.INFO):
        await spend(serving, 20, 0.01, "served")  # on_reset's default, continue: every request served
    assert await serving.spent() == (pytest.approx(0.20), 0.0)
    assert [e["action"] for e in events(caplog)] == ["continue"]
    cause = str(events(caplog)[0]["cause"])
    assert "is unreachable (OperationalError" in cause
    assert "Connection refused" in cause
    assert all(r.exc_info is None for r in caplog.records)  # no tracebacks
    assert serving.store.durable is not None
    serving.store.durable._pending.clear()  # nothing can land: do not report the test's rows as lost

    refusing = worker(prefix(), PostgresLedger(closed, connect_timeout=1), on_reset="refuse")
    workers.append(refusing)
    caplog.clear()
    for i in range(5):
        with caplog.at_level(logging.INFO), pytest.raises(StoreResetError) as refused:
            await refusing.reserve(f"r{i}", 0.01)
    message = str(refused.value)
    assert "is unreachable (OperationalError" in message
    assert "on_reset='refuse'" in message
    assert "configure a durable ledger" not in message  # one is configured
    assert all(r.exc_info is None for r in caplog.records)


async def test_counters_started_without_the_ledger_are_reconciled_when_it_answers(
    ledger_schema: str, workers: list[BudgetGuard]
) -> None:
    shared = prefix()
    one = worker(shared, PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05))
    workers.append(one)
    await spend(one, 30, 0.01, "before")
    assert await flushed(one, 10)
    proxy = TcpProxy(5432)
    dsn = LEDGER_DSN.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    two = worker(shared, PostgresLedger(dsn, schema=ledger_schema, flush_seconds=0.05, connect_timeout=1))
    workers.append(two)
    try:
        assert isinstance(two.store, RedisStore)
        await two.store.clear()  # Redis loses its data while the ledger is unreachable from this worker
        await spend(two, 5, 0.01, "during")  # continue: from zero, provisionally
        assert (await two.spent())[0] == pytest.approx(0.05)
        await proxy.start()
        assert await flushed(two, 30)
        assert (await two.spent())[0] == pytest.approx(0.35)  # = the ledger, once it answers
        assert await ledger_total(ledger_schema, shared) == 350_000
    finally:
        await proxy.stop()


def test_the_proxy_and_serve_log_one_line_per_dependency_at_start(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    from litellm_router_plugin.cli import app
    from litellm_router_plugin.integrations.proxy import ProxyRouterPlugin

    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    config = {
        "store": {"kind": "redis", "url": URL, "prefix": prefix()},
        "ledger": {"kind": "postgres", "dsn": closed},
        "budgets": {"global": {"daily": 1.0}},
    }
    with caplog.at_level(logging.INFO, logger="litellm_router_plugin.guards.dependencies"):
        ProxyRouterPlugin(config, mount_routes=False)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.endswith("dependencies")]
    assert [level for level, _ in lines] == ["WARNING", "ERROR"]
    assert lines[0][1].startswith("store: Redis at redis://127.0.0.1:6379/0")
    assert "reachable" in lines[0][1]
    assert lines[1][1].startswith(f"ledger: {closed}")
    assert "UNREACHABLE (OperationalError" in lines[1][1]
    assert "counted from zero and reconciled from the ledger when it answers" in lines[1][1]

    import uvicorn

    # serve binds its socket, then runs a uvicorn.Server on it: stop before serving
    def bound_only(self: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        for sock in sockets or []:
            sock.close()

    monkeypatch.setattr(uvicorn.Server, "run", bound_only)
    path = tmp_path / "c.json"  # type: ignore[operator]
    path.write_text(json.dumps(config))
    result = CliRunner().invoke(app, ["serve", "--config", str(path), "--port", str(free_port())])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "store: Redis at redis://127.0.0.1:6379/0" in said
    assert "ledger: " in said
    assert "UNREACHABLE" in said


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (.ci/run installs it)")
async def test_settles_queued_across_a_restart_empty_charge_the_holds_lost_with_it(
    own_redis: tuple[int, list[subprocess.Popen[bytes]]], ledger_schema: str
) -> None:
    port, procs = own_redis
    store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix=prefix(), socket_timeout=0.5)
    store.attach_ledger(PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05))
    guard = BudgetGuard(BudgetLimit(daily=1.0), store=store)
    await spend(guard, 20, 0.01, "before")
    for i in range(3):
        await guard.reserve(f"long-{i}", 0.10)
    procs[-1].kill()  # no persistence: the data, holds included, is gone
    procs[-1].wait(5)
    results = [await guard.settle(f"long-{i}", 0.05, queue_on_outage=True) for i in range(3)]
    assert [r.status for r in results] == ["queued"] * 3
    procs.append(start_redis(port))
    queue = queue_for(store)
    assert await queue.flush(30)
    assert [queue.results[f"long-{i}"].status for i in range(3)] == ["settled"] * 3
    assert await flushed(guard, 10)
    assert await guard.spent() == (pytest.approx(0.35), 0.0)  # rebuilt $0.20 + the three calls
    assert await ledger_total(ledger_schema, store.prefix) == 350_000
    assert store.durable is not None
    await store.durable.aclose()
    await store.aclose()
