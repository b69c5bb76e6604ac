"""The learning loop end to end, offline: the fake upstream answering per model (the cheap one wrong on
every sum, 40% of the traffic), reference checks, shadow calls charged to the budget (counter ==
PostgreSQL ledger), outcomes in Redis without prompt text, a model retrained, compared, promoted,
adopted by a second worker process through Redis, and rolled back."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import uuid
from pathlib import Path
from typing import Any

import psycopg
import yaml
from typer.testing import CliRunner

from litellm_router_plugin import acompletion, configure
from litellm_router_plugin.cli import app
from litellm_router_plugin.online.learner import Learner
from litellm_router_plugin.online.shadow import SHADOW_SCOPE
from litellm_router_plugin.state import RedisStore
from tests import workers
from tests.servers import LEDGER_DSN
from tests.stores import REDIS_URL
from tests.upstream import Upstream

SPAWN = multiprocessing.get_context("spawn")
TOPICS = ("why the sky is blue", "how tides work", "why leaves change colour", "how rainbows form", "how ice floats")


def traffic(n: int) -> list[tuple[str, str]]:
    """(prompt, reference): 2 in 5 are sums (the cheap model gets every one wrong), 3 in 5 open requests."""
    found = []
    for i in range(n):
        if i % 5 < 2:
            a, b = 17 + 7 * i, 29 + 3 * i
            found.append((f"What is {a} + {b}?", str(a + b)))
        else:
            topic = TOPICS[i % len(TOPICS)]
            found.append(
                (f"Please write a detailed, careful explanation of {topic}, with its history ({i}).", "answer")
            )
    return found


def plugin_config(server: Upstream, prefix: str, schema: str, **learning: Any) -> dict[str, Any]:
    return {
        "tiers": [
            {"name": "cheap", "deployments": [server.deployment("cheap", 1e-7, 4e-7)]},
            {"name": "strong", "deployments": [server.deployment("strong", 3e-6, 1.2e-5)]},
        ],
        # Every prompt starts on the cheap tier: the heuristic's strength never reaches 10.5.
        "classifier": {"kind": "heuristic", "tier_thresholds": [10.5]},
        "budgets": {"global": {"daily": 5.0}},
        "store": {"kind": "redis", "url": REDIS_URL, "prefix": prefix},
        "ledger": {"kind": "postgres", "dsn": LEDGER_DSN, "schema": schema},
        "learning": {
            "enabled": True,
            "shadow": {"share": 0.5, "daily_usd": 0.05},
            "retrain_every": 40,
            "min_outcomes": 40,
            "margin": 0.05,
            "tier_shares": [0.6, 0.4],
            **learning,
        },
    }


async def send(prompts: list[tuple[str, str]], concurrency: int = 8) -> list[str]:
    """Each prompt through ``acompletion("auto")`` with its reference; the tiers that answered."""
    limit = asyncio.Semaphore(concurrency)

    async def one(prompt: str, reference: str) -> str:
        async with limit:
            response = await acompletion(
                "auto",
                [{"role": "user", "content": prompt}],
                max_tokens=20,
                metadata={"router": {"reference": reference}},
            )
            return str(response._hidden_params["router_decision"]["tier"])

    return list(await asyncio.gather(*(one(p, r) for p, r in prompts)))


async def ledger_sums(schema: str) -> tuple[int, int, list[dict[str, Any]]]:
    """(all spend, spend charged to the shadow scope, outcome rows) from PostgreSQL."""
    async with await psycopg.AsyncConnection.connect(LEDGER_DSN, autocommit=True) as conn:
        cur = await conn.execute(
            f"SELECT coalesce(sum(cost_micros), 0), coalesce(sum(cost_micros) FILTER (WHERE %s = ANY(scopes)), 0) "
            f"FROM {schema}.spend",
            (SHADOW_SCOPE,),
        )
        row = await cur.fetchone()
        assert row is not None
        cur = await conn.execute(f"SELECT data::text FROM {schema}.outcomes")
        outcomes = [r[0] for r in await cur.fetchall()]
        # Each outcome joins the charged decision it labels (the routed call's spend row).
        cur = await conn.execute(f"SELECT count(*) FROM {schema}.outcomes JOIN {schema}.spend USING (request_id)")
        joined = await cur.fetchone()
        assert joined is not None
        assert joined[0] == len(outcomes)
        return int(row[0]), int(row[1]), outcomes


async def everything_stored(store: RedisStore) -> str:
    """Every value under the store's prefix, as one text."""
    parts = []
    async for key in store.client.scan_iter(match=f"{{{store.prefix}}}:*", count=500):
        kind = await store.client.type(key)
        if kind == "string":
            parts.append(str(await store.client.get(key)))
        elif kind == "list":
            parts += await store.client.lrange(key, 0, -1)
        elif kind == "hash":
            parts += [f"{k}={v}" for k, v in (await store.client.hgetall(key)).items()]
        elif kind == "zset":
            parts += [m for m, _ in await store.client.zrange(key, 0, -1, withscores=True)]
    return "\n".join(parts)


async def cli(*args: str) -> Any:
    """Run ``litellm-router ARGS`` (in a thread: the command runs its own event loop); JSON or text out."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output.strip()


def start_worker(path: Path) -> tuple[Any, Any]:
    parent, child = SPAWN.Pipe()
    proc = SPAWN.Process(target=workers.learning_worker, args=(str(path), child), daemon=True)
    proc.start()
    assert parent.poll(120), "worker did not start"
    assert parent.recv() == "ready"
    return parent, proc


def ask(conn: Any, prompt: str) -> tuple[str, str | None]:
    conn.send(prompt)
    assert conn.poll(60)
    answer: tuple[str, str | None] = conn.recv()
    return answer


async def test_shadow_outcomes_retrain_promote_adopt_in_another_worker_and_roll_back(
    fake: Upstream,
    ledger_schema: str,
    tmp_path: Path,
) -> None:
    fake.control(cheap={"arithmetic_wrong_rate": 1.0}, strong={"arithmetic_wrong_rate": 0.0})
    prefix = f"learn-{uuid.uuid4().hex[:10]}"
    config = plugin_config(fake, prefix, ledger_schema)
    path = tmp_path / "plugin.yaml"
    path.write_text(yaml.safe_dump(config))
    pipeline = configure(config)
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    store = pipeline.admission.store if pipeline.admission is not None else None
    assert isinstance(store, RedisStore)
    conn, proc = None, None
    try:
        # The second worker starts (imports LiteLLM) while this one serves traffic.
        started = asyncio.create_task(asyncio.to_thread(start_worker, path))
        tiers = await send(traffic(120))
        await learner.drain()

        # Shadows: the configured share of routed requests, each a real call to the strong model.
        stats = learner.stats
        assert stats["routed"] == 120
        observed = stats["sampled"] / stats["routed"]
        assert abs(observed - 0.5) < 0.15, observed
        routed_strong = tiers.count("strong")
        assert fake.hits()["strong"] == stats["shadowed"] + routed_strong
        assert stats["shadowed"] + stats["skipped:strongest"] == stats["sampled"]
        shadows = await learner.outcomes("shadow")
        assert len(shadows) == stats["shadowed"] == stats["outcomes:shadow"]
        sums = [o for o in shadows if o.weak == 0.0]
        assert sums
        assert all(o.strong == 1.0 for o in sums)  # the reference check saw the cheap model miss
        assert all(o.weak == 1.0 and o.strong == 1.0 for o in shadows if o not in sums)

        # Charged like any call: the shadow scope's counter equals the durable ledger, within daily_usd.
        assert store.durable is not None
        assert await store.durable.flush()
        window = pipeline.admission.guard.window() if pipeline.admission is not None else ""
        shadow_spent, _ = await store.spent(SHADOW_SCOPE, window)
        global_spent, held = await store.spent("global", window)
        total, shadow_total, ledger_outcomes = await ledger_sums(ledger_schema)
        assert held == 0
        assert shadow_spent == shadow_total > 0
        assert global_spent == total
        assert shadow_spent <= 0.05 * 1_000_000
        assert len(ledger_outcomes) == len(await learner.outcomes())

        # Retrained, compared, promoted: the sums now go to the strong tier (40% share), the rest stay cheap.
        listing = await learner.registry.listing()
        promoted = [v for v in listing if v["promote"]]
        assert promoted, listing
        current = await learner.state.current()
        assert current == promoted[-1]["version"]
        first = promoted[-1]
        assert first["candidate_apgr"] >= first["current_apgr"] + 0.05
        print("versions:", listing)
        print(
            "stats:", dict(stats), "observed share:", observed, "shadow spent:", shadow_spent, "ledger:", shadow_total
        )

        # This worker routes with it: the sums to the strong tier, and its decisions name the model.
        sum_routed = await pipeline.route(
            pipeline.request({}, messages=[{"role": "user", "content": "What is 3 + 4?"}])
        )
        assert sum_routed.decision.tier == "strong"
        assert str(sum_routed.decision.policy_version).endswith(f"+{current}")
        assert sum_routed.ticket is not None
        await pipeline.settle(sum_routed.ticket)

        # A second worker process adopts the promoted model through Redis at its next request...
        conn, proc = await started
        assert ask(conn, "What is 3 + 4?") == ("strong", current)
        assert ask(conn, traffic(3)[2][0]) == ("cheap", current)
        # ...goes back to the configured classifier (everything cheap) after `models rollback`...
        listed = await cli("models", "list", "--json", "-c", str(path))
        assert [(v["version"], v["current"]) for v in listed] == [(v["version"], v["current"]) for v in listing]
        assert (
            await cli("models", "rollback", "-c", str(path))
            == f"rolled back {current}; now current: the configured classifier"
        )
        assert ask(conn, "What is 3 + 4?") == ("cheap", None)
        # ...and to the learned one again after `models promote`.
        assert (await cli("models", "promote", current, "-c", str(path))).startswith(f"{current} is current")
        assert ask(conn, "What is 3 + 4?") == ("strong", current)

        # No prompt text anywhere: not in Redis (outcomes, feedback joins, models), not in PostgreSQL.
        stored = await everything_stored(store) + "\n".join(ledger_outcomes)
        assert "outcomes" in "".join([k async for k in store.client.scan_iter(match=f"{{{prefix}}}:*")])
        for prompt, _ in traffic(120):
            assert prompt not in stored
        assert "What is" not in stored
        assert "explanation" not in stored
    finally:
        if conn is not None:
            conn.send(None)
        if proc is not None:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
        await learner.aclose()
        await store.clear()
        await store.aclose()
