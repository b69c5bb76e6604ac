"""The store (and durable ledger) a ``PluginConfig`` names."""

from __future__ import annotations

import os

from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.state import MemoryStore, RedisStore, Store


def build_store(config: PluginConfig, *, socket_timeout: float | None = None) -> Store:
    """The configured store, with the durable ledger attached when one is configured (nothing
    connects until first used). ``socket_timeout`` (Redis) shortens the wait of one-shot commands."""
    store: Store
    if config.store.kind == "redis":
        store = RedisStore(
            config.store.url,
            prefix=config.store.prefix,
            cluster=config.store.cluster,
            socket_timeout=5.0 if socket_timeout is None else socket_timeout,  # RedisStore's default
        )
    else:
        store = MemoryStore()
    if config.ledger.kind == "postgres":
        # psycopg is needed only when a ledger is configured (the `postgres` extra).
        from litellm_router_plugin.state.ledger import PostgresLedger

        led = config.ledger
        store.attach_ledger(
            PostgresLedger(
                led.dsn or os.environ["LEDGER_DSN"],
                schema=led.schema_name,
                prefix=config.store.prefix,  # rows carry the deployment's prefix, whatever the store kind
                batch_size=led.batch_size,
                flush_seconds=led.flush_seconds,
                max_queued=led.max_queued,
            )
        )
    return store
