"""Several worker processes share one budget through one Redis. Runs offline (mock responses); needs a
Redis server (default redis://127.0.0.1:6379/0, or $REDIS_URL).

python examples/workers_example.py

Each worker builds its own litellm.Router from the same config: budgets, holds, breakers and the
ledger live in Redis (atomic Lua scripts), so the workers never spend more than the shared daily
limit together, whatever their number. This is what several proxy workers (`--num_workers`) or
several app processes do.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's bundled prices: no network at import
import litellm

from litellm_router_plugin import RedisStore, StoreUnavailableError, build_router

WORKERS, CALLS = 3, 8
PRICED = {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-4, "mock_response": "(offline mock)"}


def config(prefix: str) -> dict[str, object]:
    return {
        "tiers": [{"name": "only", "deployments": [{"model": "gpt-4o-mini", "litellm_params": PRICED}]}],
        # $0.002 a call (made-up prices): room for 5 calls a day among all workers together.
        "budgets": {"global": {"daily": 0.0101}},
        "store": {"kind": "redis", "url": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), "prefix": prefix},
    }


async def work(prefix: str) -> tuple[int, int]:
    # LiteLLM's first call in a process loads a lot (prices, tokenizers): pay it once, outside the budget.
    await litellm.acompletion(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi!"}], mock_response="-")
    router = build_router(config(prefix))
    served = refused = 0
    for _ in range(CALLS):
        try:
            await router.acompletion(model="auto", messages=[{"role": "user", "content": "Hi!"}], max_tokens=20)
            served += 1
        except litellm.BudgetExceededError:
            refused += 1
    return served, refused


def worker(prefix: str) -> tuple[int, int]:
    return asyncio.run(work(prefix))


async def shared(prefix: str) -> tuple[float, int]:
    """What Redis recorded for all workers: the day's spend and the ledger's rows; then clean up."""
    store = RedisStore(os.environ.get("REDIS_URL"), prefix=prefix)
    try:
        rows = await store.ledger()
        spent = sum(int(str(row["cost_micros"])) for row in rows) / 1e6
        await store.clear()  # this example's keys only (its own prefix)
        return spent, len(rows)
    finally:
        await store.aclose()


def main() -> None:
    prefix = f"example-{uuid.uuid4().hex[:8]}"  # a fresh key prefix: this run's budget only
    try:
        asyncio.run(_ping())
    except StoreUnavailableError as exc:
        raise SystemExit(f"error: {str(exc).split(';')[0]}; start Redis or set REDIS_URL") from None
    with multiprocessing.get_context("spawn").Pool(WORKERS, maxtasksperchild=1) as pool:  # one run per process
        results = pool.map(worker, [prefix] * WORKERS)
    for number, (served, refused) in enumerate(results, 1):
        print(f"worker {number}: {served} served, {refused} refused by the shared budget")
    spent, rows = asyncio.run(shared(prefix))
    print(f"together: {sum(s for s, _ in results)} calls served, ${spent:.6f} spent of $0.010100, {rows} ledger rows")


async def _ping() -> None:
    store = await RedisStore.connect(os.environ.get("REDIS_URL"))
    await store.aclose()


if __name__ == "__main__":
    main()
