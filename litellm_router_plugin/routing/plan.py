"""``Plan``: what the planner proposes for one request, before health and admission choose.

The planner orders every deployment the request may use (its tier, cheapest first, then stronger
tiers, then, with ``budgets.downgrade``, cheaper ones) and marks those that cannot serve it. The
pipeline then drops unhealthy ones, admits the first it can, and asks the plan for the decision.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from litellm_router_plugin.classify.base import ComplexityAnalysis
from litellm_router_plugin.errors import NoDeploymentAvailable, UnsupportedRequest
from litellm_router_plugin.routing.capabilities import Needs
from litellm_router_plugin.routing.decision import Candidate, RoutingDecision
from litellm_router_plugin.routing.tiers import Tier, TierDeployment


@dataclass(frozen=True, slots=True)
class Route:
    """The tiers to try, in order, and why; ``downgrade`` tiers only when the budget refuses the others."""

    tiers: tuple[Tier, ...]
    reason: str
    downgrade: tuple[Tier, ...] = ()


@dataclass(frozen=True, slots=True)
class Option:
    """One deployment the request could go to, with this request's estimate."""

    deployment: TierDeployment
    estimate: float
    unmet: str | None = None
    """The capability it lacks for this request (then it is never chosen)."""
    downgrade: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """Analysis, route and every option in order of preference, for one request."""

    analysis: ComplexityAnalysis | None
    """``None`` for a deployment the caller named (not classified)."""
    route: Route
    options: tuple[Option, ...]
    needs: Needs
    prompt_tokens: int
    max_tokens: int
    max_tokens_defaulted: bool
    """True when no ``max_tokens`` was given and ``default_max_tokens`` was assumed."""
    prompt: str
    """The classified text (logged only as a hash unless ``log_prompts``)."""

    def usable(
        self,
        *,
        unhealthy: Collection[str] = (),
        avoid: Collection[str] = (),
        within_tier: str | None = None,
        downgrade: bool = False,
    ) -> list[Option]:
        """Options that can serve the request, in order; ``avoid`` ones last (they failed this request).

        ``within_tier``: only that tier (no escalation). ``downgrade``: include cheaper tiers last.
        Raises ``UnsupportedRequest`` when no deployment of the route can meet the request's needs and
        ``NoDeploymentAvailable`` when none of those is healthy.
        """
        allowed = [o for o in self.options if (downgrade or not o.downgrade)]
        if within_tier is not None:
            allowed = [o for o in allowed if o.deployment.tier == within_tier]
        capable = [o for o in allowed if o.unmet is None]
        if allowed and not capable:
            raise UnsupportedRequest(
                allowed[0].unmet or "this request",
                f"tiers {', '.join(dict.fromkeys(o.deployment.tier for o in allowed))} considered; "
                + "; ".join(f"{o.deployment.model}: lacks {o.unmet}" for o in allowed[:6]),
            )
        healthy = [o for o in capable if o.deployment.deployment_id not in unhealthy]
        # stable sort: cost order kept within the fresh and the already-failed parts
        healthy.sort(key=lambda o: o.deployment.deployment_id in avoid)
        if not healthy:
            raise NoDeploymentAvailable([t.name for t in self.route.tiers], self.route.reason)
        return healthy

    def candidates(self, unhealthy: Collection[str] = ()) -> list[Candidate]:
        """Every deployment considered, for the decision record."""
        # Built by pydantic-core (a Candidate's fields take microseconds to check there), not model_construct,
        # whose field-by-field Python loop costs about twice as much.
        return [
            Candidate(
                tier=o.deployment.tier,
                model=o.deployment.model,
                deployment_id=o.deployment.deployment_id,
                estimated_cost_usd=o.estimate,
                healthy=o.deployment.deployment_id not in unhealthy,
                skipped=o.unmet and f"lacks {o.unmet}",
            )
            for o in self.options
        ]

    def decision(
        self,
        chosen: Option,
        refused: Sequence[Option] = (),
        unhealthy: Collection[str] = (),
        *,
        requested_model: str | None = None,
        policy_version: str | None = None,
    ) -> RoutingDecision:
        """The decision for ``chosen``; ``refused``: options tried before it and refused by breaker or budget."""
        tier = chosen.deployment.tier
        if not self.route.tiers:  # named by the caller: nothing was routed
            reason = f"{self.route.reason}; admitted without routing"
        else:
            reason = self._routing_reason(chosen, refused)
        # Validated by pydantic-core: faster than model_construct's Python loop; the analysis and the
        # candidates, already models, are kept as they are.
        return RoutingDecision(
            analysis=self.analysis,
            tier=tier,
            model=chosen.deployment.model,
            deployment_id=chosen.deployment.deployment_id,
            candidates=self.candidates(unhealthy),
            reason=reason,
            estimated_cost_usd=chosen.estimate,
            prompt_tokens=self.prompt_tokens,
            max_tokens=self.max_tokens,
            requested_model=requested_model,
            policy_version=policy_version,
        )

    def _routing_reason(self, chosen: Option, refused: Sequence[Option]) -> str:
        reason = self.route.reason
        target = self.route.tiers[0]
        tier = chosen.deployment.tier
        rank = next((t.rank for t in (*self.route.tiers, *self.route.downgrade) if t.name == tier), target.rank)
        if rank > target.rank:
            skipped = [t.name for t in self.route.tiers if t.rank < rank]
            reason += f"; escalated to {tier} (no capable, healthy or admissible deployment in {', '.join(skipped)})"
        elif rank < target.rank:
            reason += f"; downgraded to {tier} (budget)"
        in_tier = [o for o in self.options if o.deployment.tier == tier]
        lacking = [o for o in in_tier if o.unmet is not None]
        cheaper = [o for o in refused if o.deployment.tier == tier]
        if cheaper:
            reason += f"; {chosen.deployment.model} admitted ({len(cheaper)} cheaper refused by breaker or budget)"
        else:
            reason += f"; {chosen.deployment.model} is the cheapest healthy of {len(in_tier)}"
        if lacking:
            reason += f" ({len(lacking)} skipped: lacks {lacking[0].unmet})"
        return reason
