"""Ledger statistics: spend and savings against all-strongest, grouped, over a range of days.

One definition, two engines: ``aggregate`` sums ledger rows in Python (the memory and Redis stores,
whose ledgers are bounded lists), ``ledger_stats`` has PostgreSQL do the same sums with
``GROUPING SETS`` (no row is read into Python). Both sum integer micro-dollars, so they agree
exactly; amounts leave as USD rounded to the micro-dollar.

Groups: ``tier``, ``model``, ``user``, ``key``, ``team``, ``day``, and ``day`` x ``tier`` and
``day`` x ``model`` for the series over time. A row without a tier, model or day is left out of
that group (it still counts in the totals); a row without a user, key or team counts under ``-``.
``since`` / ``until`` are inclusive ISO days (the budget timezone's day the call settled in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.state.base import MICROS_PER_USD, Store

if TYPE_CHECKING:
    from litellm_router_plugin.state.ledger import PostgresLedger

_OWN = "(t.store_prefix = %(prefix)s OR t.store_prefix IS NULL)"
"""A deployment's rows: its store prefix, or written before rows carried one (as ``PostgresLedger.rows``)."""

DIMENSIONS = ("tier", "model", "user", "key", "team", "day")
"""The row fields stats group by (``user``, ``key``, ``team``: ``-`` when absent)."""
OPTIONAL = ("tier", "model", "day")
"""Fields whose absence leaves a row out of that group."""
GROUPS: tuple[tuple[str, ...], ...] = (
    (),
    ("tier",),
    ("model",),
    ("user",),
    ("key",),
    ("team",),
    ("day",),
    ("day", "tier"),
    ("day", "model"),
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def usd(micros: int) -> float:
    """Micro-dollars as USD, rounded to the micro-dollar (no ``1.9999999999999998e-05``)."""
    return round(micros / MICROS_PER_USD, 6)


def check_day(name: str, value: str | None) -> str | None:
    """``value`` if it is an ISO day (``2026-11-25``) or ``None``; a ``ConfigError`` naming ``name`` otherwise."""
    if value is None or value == "":
        return None
    if not _DAY.match(value):
        raise ConfigError(name, value, "Give a day as YYYY-MM-DD, e.g. 2026-11-25.")
    return value


@dataclass(slots=True)
class Cell:
    """Sums of one group: calls, failed calls, micro-dollars spent and what all-strongest would have cost."""

    calls: int = 0
    failed: int = 0
    cost: int = 0
    strongest: int = 0

    def add(self, calls: int, failed: int, cost: int, strongest: int) -> None:
        self.calls += calls
        self.failed += failed
        self.cost += cost
        self.strongest += strongest

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failed": self.failed,
            "spent_usd": usd(self.cost),
            "strongest_usd": usd(self.strongest),
            "savings_usd": usd(self.strongest - self.cost),
        }


@dataclass(slots=True)
class LedgerStats:
    """Sums per group (``GROUPS``), keyed by the group's values."""

    since: str | None = None
    until: str | None = None
    cells: dict[tuple[str, ...], dict[tuple[str, ...], Cell]] = field(
        default_factory=lambda: {group: {} for group in GROUPS}
    )

    def cell(self, group: tuple[str, ...], values: tuple[str, ...]) -> Cell:
        found = self.cells[group].get(values)
        if found is None:
            found = self.cells[group][values] = Cell()
        return found

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON: the totals, ``by_<group>`` (USD spent, as before), ``groups`` (every sum per
        group), ``savings_by_day`` and the series ``by_day_tier`` / ``by_day_model``."""
        total = self.cells[()].get((), Cell())
        out: dict[str, Any] = {
            "since": self.since,
            "until": self.until,
            "calls": total.calls,
            "failed": total.failed,
            "total_usd": usd(total.cost),
            "strongest_usd": usd(total.strongest),
            "savings_usd": usd(total.strongest - total.cost),
            "savings_ratio": round((total.strongest - total.cost) / total.strongest, 6) if total.strongest else 0.0,
        }
        singles = [g for g in GROUPS if len(g) == 1]
        for (name,) in singles:
            out[f"by_{name}"] = {v[0]: usd(c.cost) for v, c in sorted(self.cells[(name,)].items())}
        out["groups"] = {
            name: {v[0]: c.as_dict() for v, c in sorted(self.cells[(name,)].items())} for (name,) in singles
        }
        out["savings_by_day"] = out["groups"]["day"]
        for name in ("tier", "model"):
            series: dict[str, dict[str, float]] = {}
            for (day, value), c in sorted(self.cells[("day", name)].items()):
                series.setdefault(day, {})[value] = usd(c.cost)
            out[f"by_day_{name}"] = series
        return out


def _values(row: Mapping[str, Any]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name in DIMENSIONS:
        raw = row.get(name)
        if name in OPTIONAL:
            values[name] = None if raw is None else str(raw)
        else:
            values[name] = str(raw) if raw else "-"
    return values


def aggregate(rows: Iterable[Mapping[str, Any]], since: str | None = None, until: str | None = None) -> LedgerStats:
    """Sum ledger rows (as ``Store.ledger()`` returns them) per group, keeping days in ``[since, until]``."""
    out = LedgerStats(since, until)
    for row in rows:
        values = _values(row)
        day = values["day"]
        if (since is not None or until is not None) and day is None:
            continue
        if (since is not None and day is not None and day < since) or (
            until is not None and day is not None and day > until
        ):
            continue
        failed = int(row.get("status", "ok") != "ok")
        cost, strongest = int(row.get("cost_micros", 0)), int(row.get("strongest_micros", 0) or 0)
        for group in GROUPS:
            key = tuple(values[name] for name in group)
            if all(v is not None for v in key):
                out.cell(group, tuple(v for v in key if v is not None)).add(1, failed, cost, strongest)
    return out


_COLUMNS = {
    "tier": "row_data->>'tier'",
    "model": "row_data->>'model'",
    "user": "coalesce(nullif(row_data->>'user', ''), '-')",
    "key": "coalesce(nullif(row_data->>'key', ''), '-')",
    "team": "coalesce(nullif(row_data->>'team', ''), '-')",
    "day": "row_data->>'day'",
}


def stats_sql(schema: str) -> str:
    """One query for every group: ``GROUPING(...)`` tells which group a result row belongs to."""
    # Quoted: ``user`` alone is SQL's current_user.
    columns = ", ".join(f'{sql} AS "{name}"' for name, sql in _COLUMNS.items())
    sets = ", ".join("(" + ", ".join(f'"{name}"' for name in group) + ")" for group in GROUPS)
    dims = ", ".join(f'"{name}"' for name in DIMENSIONS)
    return (
        f"WITH r AS (SELECT {columns}, cost_micros AS cost, "
        "coalesce((row_data->>'strongest_micros')::numeric, 0)::bigint AS strongest, "
        "(coalesce(row_data->>'status', 'ok') <> 'ok')::int AS failed "
        f"FROM {schema}.spend t WHERE {_OWN} "  # this deployment's rows only (its store prefix)
        "AND (%(since)s::text IS NULL OR row_data->>'day' >= %(since)s) "
        "AND (%(until)s::text IS NULL OR row_data->>'day' <= %(until)s)) "
        f"SELECT GROUPING({dims}), {dims}, count(*), sum(failed), sum(cost), sum(strongest) "
        f"FROM r GROUP BY GROUPING SETS ({sets})"
    )


def _group_of(bits: int) -> tuple[str, ...]:
    # GROUPING() sets bit (n - 1 - i) when DIMENSIONS[i] is NOT grouped.
    grouped = {name for i, name in enumerate(DIMENSIONS) if not bits & (1 << (len(DIMENSIONS) - 1 - i))}
    return next(g for g in GROUPS if set(g) == grouped)


async def ledger_stats(ledger: PostgresLedger, since: str | None = None, until: str | None = None) -> LedgerStats:
    """``aggregate`` done by PostgreSQL over the durable ledger (rows still queued here are flushed first)."""
    await ledger.flush()
    conn = await ledger._connection()
    cur = await conn.execute(stats_sql(ledger.schema), {"since": since, "until": until, "prefix": ledger.prefix})
    out = LedgerStats(since, until)
    for bits, *rest in await cur.fetchall():
        values = dict(zip(DIMENSIONS, rest[: len(DIMENSIONS)], strict=True))
        calls, failed, cost, strongest = (int(x or 0) for x in rest[len(DIMENSIONS) :])
        group = _group_of(int(bits))
        key = tuple(values[name] for name in group)
        if group == () and calls == 0:
            continue  # the empty grand total of an empty range
        if all(v is not None for v in key):
            out.cell(group, tuple(str(v) for v in key)).add(calls, failed, cost, strongest)
    return out


async def store_stats(
    store: Store, since: str | None = None, until: str | None = None, limit: int | None = None
) -> LedgerStats:
    """Stats from the durable ledger when the store has one (summed in SQL), else from the store's own;
    ``limit``: only the newest N rows (summed here)."""
    since, until = check_day("since", since), check_day("until", until)
    if since is not None and until is not None and since > until:
        raise ConfigError("since", since, f"Give a day on or before until ({until}).")
    durable = store.durable
    if durable is not None and limit is None:
        return await ledger_stats(durable, since, until)
    rows = await durable.rows(limit) if durable is not None else await store.ledger(limit)
    return aggregate(rows, since, until)
