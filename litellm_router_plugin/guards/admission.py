"""Admission: the breaker permit and the budget hold before a routed call, the settlement after.

One store round trip to admit (the first candidate whose breaker and every budget allow it), one to
settle (release the hold, charge the actual cost, append the ledger line, feed the breaker). The
Router strategy, the proxy and ``acompletion`` all go through here.
"""

from __future__ import annotations

import logging
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litellm_router_plugin import metrics
from litellm_router_plugin.config import LimitConfig, PluginConfig
from litellm_router_plugin.errors import BudgetExceededError, CircuitBreakerOpen
from litellm_router_plugin.guards.breaker import counts_as_failure
from litellm_router_plugin.guards.budget import BudgetGuard, BudgetLimit, Hold, scope_name
from litellm_router_plugin.routing.decision import RoutingDecision
from litellm_router_plugin.routing.planner import Admit
from litellm_router_plugin.routing.tiers import TierDeployment, TierMap
from litellm_router_plugin.state import BreakerSpec, MemoryStore, RedisStore, Store
from litellm_router_plugin.state.base import Outcome

logger = logging.getLogger(__name__)

TICKET_KEY = "router_ticket"
"""Request metadata key of the admission ticket (what settle needs)."""

_ADMISSIONS: weakref.WeakValueDictionary[str, Admission] = weakref.WeakValueDictionary()


def _limit(config: LimitConfig | None) -> BudgetLimit | None:
    return None if config is None else BudgetLimit(per_request=config.per_request, daily=config.daily)


def store_from_config(config: PluginConfig) -> Store:
    """The store the config names (a Redis store does not connect until first used)."""
    if config.store.kind == "redis":
        return RedisStore(config.store.url, prefix=config.store.prefix)
    return MemoryStore()


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a request is charged to; the key is only ever stored hashed."""

    user: str | None = None
    key: str | None = None
    team: str | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    """What an admitted request carries to its settlement."""

    hold: Hold
    deployment: TierDeployment
    identity: Identity
    decision: RoutingDecision | None = None


class Admission:
    """Admits and settles routed requests against the configured budgets and breakers."""

    def __init__(self, config: PluginConfig, tier_map: TierMap, store: Store | None = None) -> None:
        self.config = config
        self.tier_map = tier_map
        self.store = store if store is not None else store_from_config(config)
        budgets = config.budgets
        self.guard = BudgetGuard(
            _limit(budgets.all_requests),
            per_user=_limit(budgets.per_user),
            per_key=_limit(budgets.per_key),
            per_team=_limit(budgets.per_team),
            store=self.store,
            timezone=budgets.timezone,
            lease_seconds=budgets.lease_seconds,
            on_store_error=budgets.on_store_error,
        )
        b = config.breaker
        self.breakers: dict[str, BreakerSpec] = (
            {
                dep.deployment_id: BreakerSpec(
                    dep.deployment_id,
                    b.failure_threshold,
                    int(b.window_seconds * 1000),
                    int(b.recovery_timeout * 1000),
                    int(max(b.recovery_timeout, 30.0) * 1000),
                )
                for tier in tier_map
                for dep in tier.deployments
            }
            if b.enabled
            else {}
        )
        self.id = uuid.uuid4().hex
        _ADMISSIONS[self.id] = self

    @staticmethod
    def lookup(admission_id: str) -> Admission | None:
        """The live admission with this id (the LiteLLM hooks find it through request metadata)."""
        return _ADMISSIONS.get(admission_id)

    def identity(self, request: Mapping[str, Any]) -> Identity:
        """Who to charge: the proxy's authenticated identity, or ``metadata["router"]``'s, or the
        request's ``user`` field when ``budgets.trust_client_user`` is set."""
        metadata = request.get("metadata") or {}
        own = metadata.get("router")
        own = own if isinstance(own, Mapping) else {}  # a malformed value is the planner's error to report
        if own.get("authenticated"):
            # Set by the proxy hook from the authenticated key: nothing in the request body counts.
            user, key, team = own.get("user"), own.get("key"), own.get("team")
        else:
            user = own.get("user") or metadata.get("user_api_key_user_id")
            key = own.get("key") or metadata.get("user_api_key_hash") or metadata.get("user_api_key")
            team = own.get("team") or metadata.get("user_api_key_team_id")
        if user is None and self.config.budgets.trust_client_user:
            user = request.get("user")
        return Identity(user, key, team)

    async def admit(
        self,
        ordered: Sequence[TierDeployment],
        prompt_tokens: int,
        max_tokens: int,
        identity: Identity,
        request_id: str | None = None,
    ) -> Ticket:
        """Hold the first candidate of ``ordered`` its breaker and every budget allow (one round trip)."""
        try:
            hold = await self.guard.admit(
                request_id or uuid.uuid4().hex,
                [(d.price.estimate(prompt_tokens, max_tokens), self.breakers.get(d.deployment_id)) for d in ordered],
                user=identity.user,
                key=identity.key,
                team=identity.team,
            )
        except BudgetExceededError as exc:
            metrics.ADMISSIONS.labels("refused", exc.scope.split(":", 1)[0]).inc()
            raise
        except CircuitBreakerOpen:
            metrics.ADMISSIONS.labels("refused", "breaker").inc()
            raise
        metrics.ADMISSIONS.labels("admitted", "").inc()
        return Ticket(hold, ordered[hold.index], identity)

    async def breaker_states(self) -> dict[str, str]:
        """Every deployment's breaker state, as every worker sees it (also updates the gauge)."""
        states: dict[str, str] = {}
        for name, spec in self.breakers.items():
            state = (await self.store.breaker_status(spec)).state
            metrics.BREAKER_STATE.labels(name).set(metrics.BREAKER_CODES[state])
            states[name] = state
        return states

    def admitter(self, request: Mapping[str, Any], tickets: list[Ticket]) -> Admit:
        """The planner's ``admit`` callback for one request; the ticket it issues lands in ``tickets``."""
        identity = self.identity(request)

        async def admit(ordered: list[TierDeployment], prompt_tokens: int, max_tokens: int) -> int:
            ticket = await self.admit(ordered, prompt_tokens, max_tokens, identity)
            tickets.append(ticket)
            return ticket.hold.index

        return admit

    def ticket_metadata(self, ticket: Ticket) -> dict[str, Any]:
        """The ticket as plain data for request metadata."""
        return {
            "admission": self.id,
            "id": ticket.hold.request_id,
            "deployment_id": ticket.deployment.deployment_id,
            "probe": ticket.hold.probe,
            "unaccounted": ticket.hold.unaccounted,
            "user": ticket.identity.user,
            "key": ticket.identity.key,
            "team": ticket.identity.team,
        }

    async def settle(
        self,
        ticket: Mapping[str, Any],
        *,
        usage: Any = None,
        error: BaseException | None = None,
        decision: Mapping[str, Any] | None = None,
    ) -> None:
        """Charge the actual cost (usage x the deployment's LiteLLM price; 0 for a failed call), once."""
        if ticket.get("unaccounted"):
            return
        deployment = self.tier_map.deployment(ticket["deployment_id"])
        if deployment is None:
            return
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        actual = 0.0 if error is not None else deployment.price.estimate(prompt, completion)
        statuses = self.config.breaker.failure_status_codes
        counted = error is not None and counts_as_failure(error, statuses)
        outcome: Outcome = "success" if error is None else ("failure" if counted else "neutral")
        strongest = min(d.price.estimate(prompt, completion) for d in self.tier_map.strongest.deployments)
        now = time.time()
        row = {
            "ts": round(now, 3),
            "day": datetime.fromtimestamp(now, self.guard.tz).date().isoformat(),
            "user": ticket.get("user"),
            "key": scope_name("key", ticket.get("key")),
            "team": ticket.get("team"),
            "tier": deployment.tier,
            "model": deployment.model,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "strongest_micros": round(strongest * 1_000_000),
            "status": "ok" if error is None else f"error:{type(error).__name__}",
            "reason": (decision or {}).get("reason"),
        }
        metrics.SPEND.labels(deployment.tier, deployment.model).inc(actual)
        try:
            await self.guard.settle(
                ticket["id"],
                actual,
                ledger=row,
                outcome=outcome,
                breaker=self.breakers.get(deployment.deployment_id),
                probe=bool(ticket.get("probe")),
            )
        except Exception:
            # The hold expires with its lease; the call itself already happened and must not fail now.
            logger.exception("settling request %s failed; its hold will expire with its lease", ticket["id"])
