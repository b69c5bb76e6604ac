"""Prometheus metrics of routing, admission, spend and breakers (prometheus-client, own registry)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

REGISTRY = CollectorRegistry()

DECISIONS = Counter("lrp_decisions", "Routing decisions", ["tier", "model"], registry=REGISTRY)
ADMISSIONS = Counter(
    "lrp_admissions", "Requests admitted or refused, by refusing scope", ["result", "scope"], registry=REGISTRY
)
SPEND = Counter("lrp_spend_usd", "Settled spend in USD", ["tier", "model"], registry=REGISTRY)
BREAKER_STATE = Gauge(
    "lrp_breaker_state",
    "Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open, -1 unknown (store unreachable)",
    ["deployment"],
    registry=REGISTRY,
)
SETTLE_QUEUE = Gauge(
    "lrp_settle_queue", "Settles waiting for the store to come back (retried in the background)", registry=REGISTRY
)
SETTLES_DROPPED = Counter(
    "lrp_settles_dropped",
    "Settles not recorded because the settle queue was full (logged with amounts)",
    registry=REGISTRY,
)
STORE_RESETS = Counter(
    "lrp_store_resets",
    "Store found without its epoch marker (new or lost its data), by what was done",
    ["action"],
    registry=REGISTRY,
)
SOFT_BUDGET_ALERTS = Counter(
    "lrp_soft_budget_alerts", "LiteLLM soft budgets crossed (once per budget and period)", ["scope"], registry=REGISTRY
)
LEDGER_QUEUE = Gauge("lrp_ledger_queue", "Charged settles waiting for the durable ledger writer", registry=REGISTRY)
LEDGER_DROPPED = Counter(
    "lrp_ledger_dropped", "Charged settles not queued for the ledger because its queue was full", registry=REGISTRY
)
LOST_SETTLES = Counter(
    "lrp_lost_settles",
    "Holds whose lease expired without a settle (worker died, settle lost), by budgets.on_lost_settle",
    ["action"],
    registry=REGISTRY,
)
LOST_SETTLE_USD = Counter(
    "lrp_lost_settle_usd", "USD charged at estimate for holds whose settle never came", registry=REGISTRY
)
BREAKER_CODES = {"closed": 0, "half_open": 1, "open": 2, "unknown": -1}

_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Counter | Gauge, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: the per-request path then only increments
    (``labels()`` validates and locks on every call). Children are never removed here."""
    key = (id(metric), labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*labels)
    return found


def render() -> bytes:
    """The registry in Prometheus' text format."""
    return bytes(generate_latest(REGISTRY))
