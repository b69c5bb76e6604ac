"""Prometheus metrics of routing, admission, spend, budgets and breakers (prometheus-client, own registry).

Several workers (``litellm --num_workers N``): with ``PROMETHEUS_MULTIPROC_DIR`` set (before the
workers start, as prometheus-client's multiprocess mode requires), every worker writes its samples
there and ``render`` sums them, so any worker answers with the totals of all. Breaker states and
remaining budgets are read from the shared store at scrape time (gauges, most recent value).
Label names follow LiteLLM's (``hashed_api_key``, ``team``, ``user``, ``model``). ``expose_in_default``
adds these metrics to prometheus-client's default registry, which LiteLLM's ``/metrics`` serves
when its Prometheus callback is on (in multiprocess mode LiteLLM reads the same directory).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

REGISTRY = CollectorRegistry()
PREFIX = "lrp_"


def multiprocess_dir() -> str | None:
    """prometheus-client's multiprocess directory, when the process was started with one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


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
    multiprocess_mode="mostrecent",  # read from the shared store at scrape time: the last read is right
)
SETTLE_QUEUE = Gauge(
    "lrp_settle_queue",
    "Settles waiting for the store to come back (retried in the background)",
    registry=REGISTRY,
    multiprocess_mode="livesum",
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
LEDGER_QUEUE = Gauge(
    "lrp_ledger_queue",
    "Charged settles waiting for the durable ledger writer",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
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

ROUTING = Counter(
    "lrp_routing_decisions",
    "Routing decisions by tier and reason (see reason_label)",
    ["tier", "reason"],
    registry=REGISTRY,
)
STRONGEST = Counter(
    "lrp_strongest_usd",
    "What the settled calls would have cost on the strongest tier, in USD (savings = this - lrp_spend_usd)",
    ["tier", "model"],
    registry=REGISTRY,
)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ADMIT_LATENCY = Histogram(
    "lrp_admit_latency_seconds", "Admission (budgets and breaker, one store round trip)", buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)  # fmt: skip
SETTLE_LATENCY = Histogram(
    "lrp_settle_latency_seconds", "Settlement (charge, ledger line, breaker outcome)", buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)  # fmt: skip
REMAINING = {
    "global": Gauge(
        "lrp_remaining_budget_usd", "Remaining daily budget of all requests, USD", registry=REGISTRY,
        multiprocess_mode="mostrecent",
    ),
    "key": Gauge(
        "lrp_remaining_api_key_budget_usd", "Remaining daily budget per API key (hash), USD", ["hashed_api_key"],
        registry=REGISTRY, multiprocess_mode="mostrecent",
    ),
    "team": Gauge(
        "lrp_remaining_team_budget_usd", "Remaining daily budget per team, USD", ["team"], registry=REGISTRY,
        multiprocess_mode="mostrecent",
    ),
    "user": Gauge(
        "lrp_remaining_user_budget_usd", "Remaining daily budget per user, USD", ["user"], registry=REGISTRY,
        multiprocess_mode="mostrecent",
    ),
}  # fmt: skip
"""Remaining budget per scope kind; at most ``BUDGET_SERIES`` scopes per kind (the most recently charged)."""
BUDGET_SERIES = 20

_OVERRIDES = (
    ("admitted without routing", "named"),
    ("tier forced", "forced"),
    ("raised to min_tier", "min_tier"),
    ("capped at max_tier", "max_tier"),
    ("downgraded to", "downgraded"),
    ("escalated to", "escalated"),
)
_CATEGORIES = ("simple", "moderate", "complex", "reasoning")


def reason_label(reason: str) -> str:
    """A bounded label for a decision's free-text reason: what overrode the classifier (named,
    forced, min_tier, max_tier, downgraded, escalated), else the classifier's category."""
    for marker, label in _OVERRIDES:
        if marker in reason:
            return label
    category = reason.split(" ", 1)[0]
    return category if category in _CATEGORIES else "other"


_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Counter | Gauge, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: the per-request path then only increments
    (``labels()`` validates and locks on every call). Children are never removed here."""
    key = (id(metric), labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*labels)
    return found


class _Ours:
    """A collector yielding only this plugin's families from ``source``."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        for family in self.source.collect():
            if family.name.startswith(PREFIX):
                yield family


def render() -> bytes:
    """The metrics in Prometheus' text format: this process's, or every worker's summed (multiprocess mode)."""
    directory = multiprocess_dir()
    if directory is None:
        return bytes(generate_latest(REGISTRY))
    merged = CollectorRegistry()
    merged.register(_Ours(MultiProcessCollector(None, path=directory)))  # type: ignore[no-untyped-call]
    return bytes(generate_latest(merged))


_EXPOSED: list[_Ours] = []


def expose_in_default() -> None:
    """Add these metrics to prometheus-client's default registry (LiteLLM's ``/metrics``), once.
    In multiprocess mode LiteLLM's ``/metrics`` already reads them from the shared directory."""
    if _EXPOSED or multiprocess_dir() is not None:
        return
    bridge = _Ours(REGISTRY)
    DEFAULT_REGISTRY.register(bridge)
    _EXPOSED.append(bridge)
