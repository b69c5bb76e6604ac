"""``litellm`` (the proxy CLI) whose plugin's memory store also sends one bare ``PING`` to Redis on
each admit and each settle: the proxy benchmark's ``plugin-memory-pings`` control.

A routed request on the Redis store makes two round trips (one to admit, one to settle: the floor).
This proxy makes the same two round trips, through the same client (``state.redis_client``: bounded
pool, hiredis packing, one timer per command), but Redis does no work for them, and the budgets and
breakers stay in process: beside ``plugin-redis`` it shows what the round trips themselves cost a
proxy, apart from the store's scripts and the arguments it builds for them.

``$REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) names the server."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from litellm_router_plugin.state.memory import MemoryStore
from litellm_router_plugin.state.redis_client import Client, LoopClients, single_client


def _client() -> Client:
    return single_client(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), 5.0, 64)


CLIENTS = LoopClients(_client)


def pinged(step: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``step`` after one ``PING`` round trip on the running loop's client."""

    @functools.wraps(step)
    async def with_round_trip(self: MemoryStore, request: Any) -> Any:
        await CLIENTS.current().ping()
        return await step(self, request)

    return with_round_trip


if __name__ == "__main__":
    MemoryStore._admit = pinged(MemoryStore._admit)  # type: ignore[method-assign]
    MemoryStore._settle = pinged(MemoryStore._settle)  # type: ignore[method-assign]
    from litellm.proxy.proxy_cli import run_server

    sys.argv = ["litellm", *sys.argv[1:]]
    run_server()
