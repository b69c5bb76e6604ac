"""Cost tracking: ``CostTracker`` with nested scopes in one process, and summaries of the shared ledger."""

from __future__ import annotations

import contextvars
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from litellm_router_plugin.clock import Clock, SystemClock
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.pricing import cost as litellm_cost
from litellm_router_plugin.state.base import MICROS_PER_USD


@dataclass(frozen=True, slots=True)
class CostRecord:
    """One priced call, with the scopes open when it was recorded (outermost first)."""

    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    scopes: tuple[str, ...]
    at: float


@dataclass(frozen=True, slots=True)
class CostSummary:
    """Totals of a tracker: overall, per scope (nested calls count in every enclosing scope), per model."""

    total_usd: float
    by_scope: dict[str, float]
    by_model: dict[str, float]
    calls: int


class CostTracker:
    """Records calls priced by LiteLLM, under nested scopes::

    tracker = CostTracker()
    with tracker.scope("pipeline:42"):
        with tracker.scope("step:classify"):
            tracker.record("gpt-4o-mini", 1200, 40)
    tracker.scope_cost("pipeline:42")     # includes step:classify
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.records: list[CostRecord] = []
        self._stack: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
            f"cost-scopes-{id(self)}", default=()
        )

    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Open a scope (task-local: concurrent tasks keep their own nesting)."""
        if not name:
            raise ConfigError("scope", name, "Name the scope, e.g. 'pipeline:42'.")
        token = self._stack.set((*self._stack.get(), name))
        try:
            yield
        finally:
            self._stack.reset(token)

    @property
    def current_scopes(self) -> tuple[str, ...]:
        """The scopes open here, outermost first."""
        return self._stack.get()

    def record(self, model: str, input_tokens: int, output_tokens: int) -> CostRecord:
        """Price a call with ``litellm.cost_per_token`` and record it under the open scopes."""
        for name, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(name, value, "Give a whole, non-negative number of tokens.")
        rec = CostRecord(
            model,
            input_tokens,
            output_tokens,
            litellm_cost(model, input_tokens, output_tokens),
            self.current_scopes,
            self.clock.now(),
        )
        self.records.append(rec)
        return rec

    def scope_cost(self, scope: str) -> float:
        """USD recorded in ``scope`` and every scope nested in it."""
        return sum(r.cost_usd for r in self.records if scope in r.scopes)

    def summary(self) -> CostSummary:
        """Totals overall, per scope and per model."""
        by_scope: dict[str, float] = defaultdict(float)
        by_model: dict[str, float] = defaultdict(float)
        for r in self.records:
            by_model[r.model] += r.cost_usd
            for s in set(r.scopes):
                by_scope[s] += r.cost_usd
        return CostSummary(sum(r.cost_usd for r in self.records), dict(by_scope), dict(by_model), len(self.records))


@dataclass(slots=True)
class LedgerSummary:
    """Spend from the shared ledger, and what the same calls would have cost on the strongest tier."""

    calls: int = 0
    failed: int = 0
    total_usd: float = 0.0
    strongest_usd: float = 0.0
    by_tier: dict[str, float] = field(default_factory=dict)
    by_model: dict[str, float] = field(default_factory=dict)
    by_user: dict[str, float] = field(default_factory=dict)
    by_day: dict[str, float] = field(default_factory=dict)

    @property
    def savings_usd(self) -> float:
        """Strongest-tier cost minus actual cost."""
        return self.strongest_usd - self.total_usd

    @property
    def savings_ratio(self) -> float:
        """Share of the strongest-tier cost saved (0 when nothing was spent)."""
        return self.savings_usd / self.strongest_usd if self.strongest_usd else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return {
            "calls": self.calls,
            "failed": self.failed,
            "total_usd": self.total_usd,
            "strongest_usd": self.strongest_usd,
            "savings_usd": self.savings_usd,
            "savings_ratio": self.savings_ratio,
            "by_tier": self.by_tier,
            "by_model": self.by_model,
            "by_user": self.by_user,
            "by_day": self.by_day,
        }


def summarise_ledger(rows: Iterable[Mapping[str, Any]]) -> LedgerSummary:
    """Sum ledger rows (as ``Store.ledger()`` returns them) by tier, model, user and day."""
    out = LedgerSummary()
    for row in rows:
        usd = int(row.get("cost_micros", 0)) / MICROS_PER_USD
        out.calls += 1
        out.failed += row.get("status", "ok") != "ok"
        out.total_usd += usd
        out.strongest_usd += int(row.get("strongest_micros", 0)) / MICROS_PER_USD
        for bucket, key in (
            (out.by_tier, row.get("tier")),
            (out.by_model, row.get("model")),
            (out.by_user, row.get("user") or "-"),
            (out.by_day, row.get("day")),
        ):
            if key is not None:
                bucket[str(key)] = bucket.get(str(key), 0.0) + usd
    return out
