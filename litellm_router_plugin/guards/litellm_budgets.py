"""LiteLLM's own budgets (a key's, user's or team's ``max_budget`` / ``budget_duration`` /
``soft_budget`` on ``UserAPIKeyAuth``), enforced by the same atomic reserve/settle as the plugin's.

Each budget is one counter per LiteLLM budget period: the period ends at the budget's
``budget_reset_at`` (LiteLLM's own record, the same for every instance) or, without one, at the
next reset LiteLLM's ``get_next_standardized_reset_time`` gives for the duration (``1h``, ``1d``,
``7d``, ``30d``, ``1mo``: aligned, so every instance agrees); a budget without a duration never
resets. The plugin's configured limits still apply beside them: the tighter wins.

LiteLLM's recorded ``spend`` of a budget (on ``UserAPIKeyAuth``: spend before the plugin saw the
key, or by instances without it) is the counter's floor: the admit raises the counter to it, in
the same atomic step (``ScopeLimit.floor``). A raise is not a ledger row: a rebuild from the ledger
restores what the plugin charged, and the next request of the budget carries the floor again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from litellm_router_plugin import metrics
from litellm_router_plugin.guards.scopes import scope_name
from litellm_router_plugin.state import ScopeLimit, to_micros

alert_logger = logging.getLogger("litellm_router_plugin.alerts")

BudgetKind = Literal["key", "user", "team"]
LITELLM_BUDGETS_KEY = "litellm_budgets"
"""Key, in the proxy's authenticated identity (``metadata["router"]``), of the budgets from ``from_auth``."""
LIFETIME = "lifetime"
"""The period of a budget without ``budget_duration``: it never resets."""
_DAY_S = 86400


@dataclass(frozen=True, slots=True)
class LiteLLMBudget:
    """One LiteLLM budget that applies to a request (USD; ``reset_at`` epoch seconds)."""

    kind: BudgetKind
    name: str
    max_budget: float | None
    duration: str | None = None
    soft_budget: float | None = None
    reset_at: float | None = None
    spend: float | None = None
    """What LiteLLM recorded as spent in the current period (its ``spend``; reset at ``reset_at``)."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> LiteLLMBudget:
        return cls(
            data["kind"],
            str(data["name"]),
            _float(data.get("max_budget")),
            data.get("duration") or None,
            _float(data.get("soft_budget")),
            _float(data.get("reset_at")),
            _float(data.get("spend")),
        )

    def period(self, now: float, timezone: str = "UTC") -> tuple[str, float | None]:
        """This budget's period at ``now``: its name (``until<epoch>`` or ``lifetime``) and its end."""
        if not self.duration:
            return LIFETIME, None
        if self.reset_at is not None and self.reset_at > now:
            end = self.reset_at  # LiteLLM's own reset time for this budget
        else:
            from litellm.litellm_core_utils.duration_parser import get_next_standardized_reset_time

            moment = datetime.fromtimestamp(now, UTC)
            end = get_next_standardized_reset_time(self.duration, moment, timezone).timestamp()
        return f"until{int(end)}", end

    def floor(self, now: float) -> int:
        """Micro-dollars LiteLLM recorded of this budget's period at ``now``: none once ``reset_at``
        has passed (that spend is of the finished period; LiteLLM's reset job zeroes it later)."""
        if not self.spend or (self.duration and self.reset_at is not None and self.reset_at <= now):
            return 0
        return to_micros(self.spend)

    def scope(self) -> str:
        """The counter's scope: apart from the plugin's own day counters of the same key, user or team."""
        return f"litellm-{scope_name(self.kind, self.name)}"


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.timestamp()
    return float(value)


def from_auth(auth: Any) -> list[dict[str, Any]]:
    """The budgets a proxy's ``UserAPIKeyAuth`` carries, as plain data (request metadata): the key's
    (``max_budget``, ``budget_duration``, ``soft_budget``, ``budget_reset_at``, ``spend``), the user's
    (``user_max_budget``, ``user_spend``) and the team's (``team_max_budget``, ``team_soft_budget``,
    ``team_spend``)."""
    found: list[dict[str, Any]] = []
    key = getattr(auth, "api_key", None) or getattr(auth, "token", None)
    rows: tuple[tuple[BudgetKind, Any, Any, Any, Any, Any, Any], ...] = (
        ("key", key, auth.max_budget, auth.budget_duration, auth.soft_budget, auth.budget_reset_at, auth.spend),
        (
            "user",
            auth.user_id,
            getattr(auth, "user_max_budget", None),
            None,
            None,
            None,
            getattr(auth, "user_spend", None),
        ),
        (
            "team",
            auth.team_id,
            getattr(auth, "team_max_budget", None),
            None,
            getattr(auth, "team_soft_budget", None),
            None,
            getattr(auth, "team_spend", None),
        ),
    )
    for kind, name, limit, duration, soft, reset_at, spend in rows:
        if name and (limit is not None or soft is not None):
            budget = {"kind": kind, "name": name, "max_budget": limit, "duration": duration, "soft_budget": soft}
            budget["reset_at"], budget["spend"] = _float(reset_at), _float(spend)
            found.append(budget)
    return found


@dataclass(frozen=True, slots=True)
class Periods:
    """The counters of a request's LiteLLM budgets in their current periods."""

    scopes: tuple[ScopeLimit, ...]
    ends: Mapping[str, float | None]
    """Scope -> end of its period (epoch seconds; ``None``: never)."""
    soft: tuple[tuple[str, str, int], ...]
    """(scope, period, soft budget in micros) of the budgets with a soft limit."""
    ttl_s: int
    """How long their spent counters must live: past the longest period's end."""


def periods(budgets: Iterable[LiteLLMBudget], now: float, timezone: str = "UTC") -> Periods:
    """The scopes (one per budget, with its own period) for ``budgets`` at ``now``."""
    scopes: list[ScopeLimit] = []
    ends: dict[str, float | None] = {}
    soft: list[tuple[str, str, int]] = []
    ttl = 3 * _DAY_S
    for budget in budgets:
        period, end = budget.period(now, timezone)
        scope = budget.scope()
        limit = None if budget.max_budget is None else to_micros(budget.max_budget)
        scopes.append(ScopeLimit(scope, period, limit, period=period, floor=budget.floor(now)))
        ends[scope] = end
        if budget.soft_budget is not None:
            soft.append((scope, period, to_micros(budget.soft_budget)))
        ttl = max(ttl, 400 * _DAY_S if end is None else int(end - now) + _DAY_S)
    return Periods(tuple(scopes), ends, tuple(soft), ttl)


@dataclass(frozen=True, slots=True)
class SoftBudgetCrossed:
    """A LiteLLM soft budget reached in its period (sent once across instances)."""

    kind: BudgetKind
    name: str
    """The user's or team's id; for a key, the hash the plugin keeps of it (never the key)."""
    period: str
    soft_budget_usd: float
    spent_usd: float

    def as_event(self) -> dict[str, Any]:
        """The alert log line's fields."""
        return {
            "event": "soft_budget_crossed",
            "scope": f"litellm-{self.kind}:{self.name}",
            "period": self.period,
            "soft_budget_usd": self.soft_budget_usd,
            "spent_usd": self.spent_usd,
        }


AlertSink = Callable[[SoftBudgetCrossed], Awaitable[None]]
_alert_sinks: list[AlertSink] = []


def add_alert_sink(sink: AlertSink) -> None:
    """Also send every soft-budget alert to ``sink`` (the proxy adds LiteLLM's own alerting)."""
    if sink not in _alert_sinks:
        _alert_sinks.append(sink)


async def check_soft_budgets(store: Any, soft: Sequence[Sequence[Any]]) -> None:
    """After a settle: a soft budget reached for the first time in its period (across instances:
    the store's set-once) emits one alert event and metric, and goes to every alert sink."""
    for scope, period, limit in soft:
        spent, _held = await store.spent(scope, period)
        if spent < int(limit):
            continue
        if await store.first_time(f"soft:{scope}:{period}", 400 * _DAY_S):
            kind, _, name = scope.removeprefix("litellm-").partition(":")
            alert = SoftBudgetCrossed(cast(BudgetKind, kind), name, period, int(limit) / 1_000_000, spent / 1_000_000)
            metrics.SOFT_BUDGET_ALERTS.labels(scope.split(":", 1)[0]).inc()
            alert_logger.warning(json.dumps(alert.as_event(), sort_keys=True))
            for sink in list(_alert_sinks):
                try:
                    await sink(alert)
                except Exception:  # an alerting backend's failure must not fail the settle
                    alert_logger.exception("an alert sink failed on %s", alert.as_event()["scope"])
