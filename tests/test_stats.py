"""Ledger stats by key and team over a date range: one known ledger, the same figures on the memory
store, Redis and the PostgreSQL ledger (summed there in SQL)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from litellm_router_plugin import BudgetGuard, BudgetLimit, MemoryStore
from litellm_router_plugin.cli import app
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.state import RedisStore, Store
from litellm_router_plugin.state.ledger import PostgresLedger
from litellm_router_plugin.state.stats import aggregate, store_stats
from tests.servers import LEDGER_DSN, drop, schema_name
from tests.stores import REDIS_URL

# (day, tier, model, user, key, team, cost micros, strongest micros, status)
KNOWN = [
    ("2026-11-20", "cheap", "mini", "ann", "key:aaa", "ml", 7, 300, "ok"),
    ("2026-11-21", "cheap", "mini", "ann", "key:aaa", "ml", 11, 300, "ok"),
    ("2026-11-21", "strong", "big", "bob", "key:bbb", "ml", 250, 250, "ok"),
    ("2026-11-22", "cheap", "mini", "bob", "key:bbb", None, 0, 0, "error:Timeout"),
    ("2026-11-22", "strong", "big", None, "key:ccc", "ops", 333, 333, "ok"),
    ("2026-11-23", "cheap", "mini", "ann", "key:aaa", "ml", 13, 290, "ok"),
    ("2026-11-24", "cheap", "mini", "ann", "key:aaa", "ml", 1_000_000, 1_000_000, "ok"),
]
"""Seven settles over five days; 21-23 November is the range the test asks for."""


def row(i: int) -> dict[str, Any]:
    day, tier, model, user, key, team, _, strongest, status = KNOWN[i]
    return {
        "day": day,
        "tier": tier,
        "model": model,
        "user": user,
        "key": key,
        "team": team,
        "strongest_micros": strongest,
        "status": status,
    }


@pytest.fixture(params=["memory", "redis", "postgres"])
async def known_store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """A store whose ledger holds ``KNOWN``, written through the budget guard as settles write it."""
    redis = request.param == "redis"
    store: Store = RedisStore(REDIS_URL, prefix=f"test-{uuid.uuid4().hex[:12]}") if redis else MemoryStore()
    schema = schema_name()
    if request.param == "postgres":
        store.attach_ledger(PostgresLedger(LEDGER_DSN, schema=schema))
    guard = BudgetGuard(BudgetLimit(daily=100.0), store=store)
    for i, known in enumerate(KNOWN):
        await guard.reserve(f"r{i}", 2.0)
        await guard.settle(f"r{i}", known[6] / 1e6, ledger=row(i))
    try:
        yield store
    finally:
        if store.durable is not None:
            await store.durable.aclose()
            await drop(schema)
        if isinstance(store, RedisStore):
            await store.clear()
        await store.aclose()


async def test_stats_by_key_and_team_over_a_date_range_are_the_same_on_every_ledger(
    known_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    if known_store.durable is not None:  # PostgreSQL sums: no ledger row is read into Python
        monkeypatch.setattr(known_store.durable, "rows", None)
    stats = (await store_stats(known_store, since="2026-11-21", until="2026-11-23")).as_dict()
    # Rows 1..5 by hand: spent 11 + 250 + 0 + 333 + 13 = 607 micros, all-strongest 300 + 250 + 0 + 333 + 290.
    assert (stats["calls"], stats["failed"]) == (5, 1)
    assert (stats["total_usd"], stats["strongest_usd"], stats["savings_usd"]) == (0.000607, 0.001173, 0.000566)
    assert stats["savings_ratio"] == round(566 / 1173, 6)
    assert stats["by_key"] == {"key:aaa": 0.000024, "key:bbb": 0.00025, "key:ccc": 0.000333}
    assert stats["by_team"] == {"-": 0.0, "ml": 0.000274, "ops": 0.000333}
    assert stats["by_user"] == {"-": 0.000333, "ann": 0.000024, "bob": 0.00025}
    assert stats["by_tier"] == {"cheap": 0.000024, "strong": 0.000583}
    assert stats["groups"]["team"]["ml"] == {
        "calls": 3,
        "failed": 0,
        "spent_usd": 0.000274,
        "strongest_usd": 0.00084,
        "savings_usd": 0.000566,
    }
    assert stats["savings_by_day"] == {
        "2026-11-21": {
            "calls": 2,
            "failed": 0,
            "spent_usd": 0.000261,
            "strongest_usd": 0.00055,
            "savings_usd": 0.000289,
        },
        "2026-11-22": {"calls": 2, "failed": 1, "spent_usd": 0.000333, "strongest_usd": 0.000333, "savings_usd": 0},
        "2026-11-23": {"calls": 1, "failed": 0, "spent_usd": 13e-6, "strongest_usd": 290e-6, "savings_usd": 277e-6},
    }
    assert stats["by_day_tier"]["2026-11-22"] == {"cheap": 0.0, "strong": 0.000333}
    assert stats["by_day_model"]["2026-11-21"] == {"big": 0.00025, "mini": 0.000011}

    everything = (await store_stats(known_store)).as_dict()
    assert everything["calls"] == len(KNOWN)
    assert everything["total_usd"] == 1.000614  # exact: micro-dollars are summed as integers
    assert everything["by_key"]["key:aaa"] == 1.000031
    nothing = (await store_stats(known_store, since="2027-01-01")).as_dict()
    assert (nothing["calls"], nothing["total_usd"], nothing["by_key"]) == (0, 0.0, {})


def test_python_and_sql_agree_on_rows_without_a_tier_or_a_day() -> None:
    # The Python half of the definition the SQL half is checked against above: a row without a day
    # counts in the totals but in no day, and is left out when a range is asked for.
    rows = [{"cost_micros": 5, "tier": "cheap"}, {"cost_micros": 7, "day": "2026-11-21"}]
    stats = aggregate(rows).as_dict()
    assert (stats["calls"], stats["total_usd"], stats["by_tier"], stats["by_day"]) == (
        2,
        0.000012,
        {"cheap": 0.000005},
        {"2026-11-21": 0.000007},
    )
    assert aggregate(rows, since="2026-11-01").as_dict()["calls"] == 1


async def test_a_bad_day_or_range_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"since: invalid value '21/11/2026'\. Give a day as YYYY-MM-DD"):
        await store_stats(MemoryStore(), since="21/11/2026")
    with pytest.raises(ConfigError, match="on or before until"):
        await store_stats(MemoryStore(), since="2026-11-22", until="2026-11-21")


def test_the_stats_command_takes_a_range_and_shows_keys_and_teams(tmp_path: Path) -> None:
    import asyncio

    prefix = f"stats-{uuid.uuid4().hex[:8]}"

    async def seed() -> None:
        store = RedisStore(REDIS_URL, prefix=prefix)
        guard = BudgetGuard(BudgetLimit(daily=100.0), store=store)
        for i, known in enumerate(KNOWN):
            await guard.reserve(f"r{i}", 2.0)
            await guard.settle(f"r{i}", known[6] / 1e6, ledger=row(i))
        await store.aclose()

    async def cleanup() -> None:
        store = RedisStore(REDIS_URL, prefix=prefix)
        await store.clear()
        await store.aclose()

    asyncio.run(seed())
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"store": {"kind": "redis", "url": REDIS_URL, "prefix": prefix}}))
    try:
        runner = CliRunner()
        args = ["stats", "--config", str(config), "--since", "2026-11-21", "--until", "2026-11-23"]
        data = json.loads(runner.invoke(app, [*args, "--json"]).output)
        assert (data["calls"], data["total_usd"], data["by_team"]["ops"]) == (5, 0.000607, 0.000333)
        table = runner.invoke(app, args, env={"COLUMNS": "160"}).output
        assert "5 calls (1 failed) from redis store: $0.000607 spent vs $0.001173 all-strongest" in table
        for shown in ("spend by key", "key:ccc", "spend by team"):
            assert shown in table
        bad = runner.invoke(app, ["stats", "--config", str(config), "--since", "yesterday"])
        assert bad.exit_code == 2
        assert "since: invalid value 'yesterday'" in bad.output
    finally:
        asyncio.run(cleanup())


async def test_the_sql_stats_count_only_this_deployments_prefix() -> None:
    schema = schema_name()
    ours, theirs = (PostgresLedger(LEDGER_DSN, schema=schema, prefix=p) for p in ("ours", "theirs"))
    try:
        for ledger, cost in ((ours, 5), (theirs, 700)):
            store = MemoryStore()
            store.attach_ledger(ledger)
            guard = BudgetGuard(BudgetLimit(daily=1.0), store=store)
            await guard.reserve(f"{ledger.prefix}-1", 0.01)
            await guard.settle(f"{ledger.prefix}-1", cost / 1e6, ledger={**row(0), "day": "2026-11-20"})
            assert await ledger.flush(10)
        store = MemoryStore()
        store.attach_ledger(ours)
        stats = (await store_stats(store, since="2026-11-20", until="2026-11-20")).as_dict()
        assert (stats["calls"], stats["total_usd"]) == (1, 0.000005)
    finally:
        await ours.aclose()
        await theirs.aclose()
        await drop(schema)
