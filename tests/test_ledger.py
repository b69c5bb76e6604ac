"""The durable spend ledger in PostgreSQL: exactly once, off the hot path, through an outage."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from litellm_router_plugin import BudgetGuard, BudgetLimit, MemoryStore, metrics
from litellm_router_plugin.cli import app
from litellm_router_plugin.state.ledger import MIGRATIONS, PostgresLedger
from tests.servers import LEDGER_DSN, TcpProxy, count


async def test_every_charged_settle_lands_exactly_once_and_the_schema_is_versioned(ledger_schema: str) -> None:
    ledger = PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05)
    store = MemoryStore()
    store.attach_ledger(ledger)
    guard = BudgetGuard(BudgetLimit(daily=100.0), per_user=BudgetLimit(daily=50.0), store=store)
    for i in range(60):
        await guard.reserve(f"r{i}", 0.02, user="ann")
    await asyncio.gather(*(guard.settle(f"r{i}", 0.01, ledger={"tier": "cheap"}) for i in range(60)))
    await asyncio.gather(*(guard.settle(f"r{i}", 0.01) for i in range(60)))  # settled twice: no-op
    assert len(ledger) > 0  # settle only queued the rows: nothing was written on the request path
    assert await ledger.flush(10)
    assert await count(ledger_schema) == (60, 600_000)
    totals = await ledger.totals([guard.window()])
    assert totals == {("global", guard.window()): 600_000, ("user:ann", guard.window()): 600_000}
    rows = await ledger.rows(limit=5)
    assert len(rows) == 5
    assert rows[0]["tier"] == "cheap"
    assert rows[0]["cost_micros"] == 10_000

    again = PostgresLedger(LEDGER_DSN, schema=ledger_schema)  # a second worker: migrations already applied
    assert len(await again.rows()) == 60
    async with await psycopg.AsyncConnection.connect(LEDGER_DSN, autocommit=True) as conn:
        cur = await conn.execute(f"SELECT version FROM {ledger_schema}.schema_version ORDER BY version")
        assert [r[0] for r in await cur.fetchall()] == sorted(MIGRATIONS)
    await again.aclose()
    await ledger.aclose()


async def test_a_postgres_outage_keeps_the_rows_and_writes_them_once_after(ledger_schema: str) -> None:
    proxy = TcpProxy(5432)
    await proxy.start()
    dsn = LEDGER_DSN.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    ledger = PostgresLedger(dsn, schema=ledger_schema, flush_seconds=0.05, connect_timeout=1)
    store = MemoryStore()
    store.attach_ledger(ledger)
    guard = BudgetGuard(BudgetLimit(daily=100.0), store=store)
    try:
        await guard.reserve("warm", 0.01)
        await guard.settle("warm", 0.01)
        assert await ledger.flush(10)

        await proxy.stop()  # PostgreSQL unreachable
        gauge = metrics.REGISTRY.get_sample_value("lrp_ledger_queue")
        for i in range(40):
            await guard.reserve(f"o{i}", 0.01)
            await guard.settle(f"o{i}", 0.01)  # the request path does not notice the outage
        assert not await ledger.flush(1.0)
        assert len(ledger) == 40
        assert metrics.REGISTRY.get_sample_value("lrp_ledger_queue") == (gauge or 0) + 40

        await proxy.start()  # back: same port, the writer retries until the rows land
        assert await ledger.flush(30)
        assert await count(ledger_schema) == (41, 410_000)
    finally:
        await ledger.aclose()
        await proxy.stop()


async def test_stats_reads_the_postgres_ledger(ledger_schema: str, tmp_path: Path) -> None:
    ledger = PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05)
    store = MemoryStore()
    store.attach_ledger(ledger)
    guard = BudgetGuard(BudgetLimit(daily=10.0), store=store)
    for i in range(3):
        await guard.reserve(f"s{i}", 0.5)
        await guard.settle(f"s{i}", 0.25, ledger={"tier": "cheap", "model": "m", "day": "2026-11-27"})
    await ledger.aclose()
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"ledger": {"kind": "postgres", "dsn": LEDGER_DSN, "schema": ledger_schema}}))

    def run() -> dict[str, object]:
        result = CliRunner().invoke(app, ["stats", "--config", str(config), "--json"])
        assert result.exit_code == 0, result.output
        summary: dict[str, object] = json.loads(result.output)
        return summary

    summary = await asyncio.to_thread(run)
    assert summary["calls"] == 3
    assert summary["total_usd"] == 0.75
