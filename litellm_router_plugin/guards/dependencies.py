"""The start-up check: is the store reachable, is the ledger, and what that means for requests.

Run once when the proxy loads the plugin and when ``litellm-router serve`` starts: one log line per
dependency (WARNING when reachable, ERROR when not: the LiteLLM proxy leaves the root logger at its
default, which prints WARNING and above). The check uses connections of its own, with short
timeouts, in a thread of its own, so it works whether or not an event loop is running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass

from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import StoreUnavailableError
from litellm_router_plugin.state import RedisStore

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Dependency:
    """One line of the report: a dependency, whether it answered, and what that means."""

    name: str
    reachable: bool
    message: str

    @property
    def level(self) -> int:
        return logging.WARNING if self.reachable else logging.ERROR


async def _store(config: PluginConfig) -> Dependency:
    budgets = config.budgets
    if config.store.kind == "memory":
        return Dependency(
            "store", True, "store: memory (this process only): budgets and breakers are not shared with other workers"
        )
    store = RedisStore(
        config.store.url, prefix=config.store.prefix, cluster=config.store.cluster, socket_timeout=CHECK_TIMEOUT_SECONDS
    )
    where = f"store: {store.name} (prefix {store.prefix!r})"
    try:
        await store.ping()
    except StoreUnavailableError as exc:
        cause = f"{type(exc.cause).__name__}: {exc.cause}"
        if budgets.on_store_error == "fail_closed":
            means = "requests under a budget or breaker are refused (on_store_error='fail_closed') until it answers"
        else:
            means = "requests are admitted UNACCOUNTED (on_store_error='fail_open') until it answers"
        return Dependency("store", False, f"{where} UNREACHABLE ({cause}): {means}")
    finally:
        await store.aclose()
    return Dependency("store", True, f"{where} reachable: budgets and breakers are shared by every worker")


async def _ledger(config: PluginConfig) -> Dependency:
    led = config.ledger
    if led.kind == "none":
        return Dependency(
            "ledger",
            True,
            "ledger: none: if the store loses its data, today's counters restart per "
            f"budgets.on_reset={config.budgets.on_reset!r}",
        )
    from litellm_router_plugin.state.ledger import PostgresLedger  # the `postgres` extra

    ledger = PostgresLedger(
        led.dsn or os.environ["LEDGER_DSN"],
        schema=led.schema_name,
        prefix=config.store.prefix,
        connect_timeout=CHECK_TIMEOUT_SECONDS,
    )
    where = f"ledger: {ledger.name} (schema {ledger.schema!r}, prefix {ledger.prefix!r})"
    try:
        await ledger.check()
    except ledger.unavailable_errors as exc:
        cause = " ".join(f"{type(exc).__name__}: {exc}".split())
        reset = (
            "refused until it answers"
            if config.budgets.on_reset == "refuse"
            else "counted from zero and reconciled from the ledger when it answers"
        )
        return Dependency(
            "ledger",
            False,
            f"{where} UNREACHABLE ({cause}): charged calls wait in memory (up to {led.max_queued}) until it "
            f"answers; if the store loses its data meanwhile, requests are {reset} "
            f"(budgets.on_reset={config.budgets.on_reset!r})",
        )
    finally:
        await ledger.aclose()
    return Dependency(
        "ledger",
        True,
        f"{where} reachable: every charged call is recorded; a store that loses its data is rebuilt from it",
    )


async def check(config: PluginConfig) -> list[Dependency]:
    """Check the store and the ledger ``config`` names, each once, concurrently."""
    return list(await asyncio.gather(_store(config), _ledger(config)))


def log_dependencies(config: PluginConfig) -> list[Dependency]:
    """``check`` in a thread with its own event loop, and log one line per dependency."""
    found: list[Dependency] = []

    def run() -> None:
        found.extend(asyncio.run(check(config)))

    thread = threading.Thread(target=run, name="lrp-dependency-check", daemon=True)
    thread.start()
    thread.join(4 * CHECK_TIMEOUT_SECONDS + 5)
    if thread.is_alive():
        logger.error("start-up check of the store and the ledger did not finish in time")
    for dependency in found:
        logger.log(dependency.level, dependency.message)
    return found
