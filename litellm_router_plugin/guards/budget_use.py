"""Budget use per scope for the operator: limit, spent, held, remaining and next reset, today.

The scopes shown are ``global`` and the users, keys and teams most recently charged (read from the
store's ledger), at most ``metrics.BUDGET_SERIES`` per kind, so the dashboard and the remaining-budget
gauges stay bounded however many identities call. Reading them also sets those gauges.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from litellm_router_plugin import metrics
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.state.base import MICROS_PER_USD

RECENT_ROWS = 1000
"""Ledger rows read to find the recently charged identities."""


def recent_scopes(rows: list[dict[str, Any]], per_kind: int) -> dict[str, list[str]]:
    """The store names of the users, keys and teams in ``rows`` (newest first), ``per_kind`` each at most."""
    found: dict[str, list[str]] = {"user": [], "key": [], "team": []}
    for row in rows:
        for kind, names in found.items():
            value = row.get(kind)
            if not value or len(names) >= per_kind:
                continue
            scope = str(value) if kind == "key" else f"{kind}:{value}"  # ledger keys are already hashed scopes
            if scope not in names:
                names.append(scope)
    return found


async def budget_use(admission: Admission, per_kind: int = metrics.BUDGET_SERIES) -> list[dict[str, Any]]:
    """Today's use of every shown scope (see module doc); sets the remaining-budget gauges."""
    guard = admission.guard
    window = guard.window()
    rows = await admission.store.ledger(RECENT_ROWS)
    scopes = {"global": ["global"], **recent_scopes(rows, per_kind)}
    reset_in = guard.seconds_to_next_window()
    resets_at = datetime.fromtimestamp(guard.clock.now() + reset_in, UTC).isoformat(timespec="seconds")
    pairs = [(kind, scope) for kind, names in scopes.items() for scope in names]
    # One round trip each, side by side: a scrape waits for the slowest, not for their sum.
    found = await asyncio.gather(*(admission.store.spent(scope, window) for _, scope in pairs))
    out = []
    for (kind, scope), (spent, held) in zip(pairs, found, strict=True):
        limit = guard.limits.get(kind)  # type: ignore[call-overload]
        daily = None if limit is None else limit.daily
        remaining = None if daily is None else round(daily - (spent + held) / MICROS_PER_USD, 6)
        name = scope.split(":", 1)[1] if ":" in scope else scope
        out.append(
            {
                "kind": kind,
                "scope": scope,
                "name": name,
                "limit_usd": daily,
                "spent_usd": round(spent / MICROS_PER_USD, 6),
                "held_usd": round(held / MICROS_PER_USD, 6),
                "remaining_usd": remaining,
                "resets_at": resets_at,
                "resets_in_seconds": round(reset_in),
            }
        )
        if remaining is not None:
            gauge = metrics.REMAINING[kind]
            (gauge if kind == "global" else gauge.labels(name)).set(remaining)
    return out
