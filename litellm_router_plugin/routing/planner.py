"""The planner: prompt -> ``ComplexityAnalysis`` -> route (tiers) -> every option, cheapest first.

``analyse`` is the one awaited step (no network unless the agent classifier is configured, and then
it is cached); ``plan`` is pure and synchronous, and calls nothing back: health, breakers and
budgets are applied to the returned ``Plan`` by the pipeline.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from litellm_router_plugin.classify import (
    CachedClassifier,
    Classifier,
    ComplexityAnalysis,
    HeuristicClassifier,
)
from litellm_router_plugin.classify.learned import LearnedClassifier
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.pricing import count_prompt_tokens, register_custom_prices
from litellm_router_plugin.routing.capabilities import Needs
from litellm_router_plugin.routing.decision import RoutingDecision
from litellm_router_plugin.routing.plan import Option, Plan, Route
from litellm_router_plugin.routing.request import PlanRequest, plan_fields
from litellm_router_plugin.routing.thresholds import strength_route
from litellm_router_plugin.routing.tiers import GroupEntries, Tier, TierDeployment, TierMap

logger = logging.getLogger(__name__)


def build_local(config: PluginConfig) -> HeuristicClassifier | LearnedClassifier:
    """The local classifier of the config: the learned one when it is the kind or the agent's fallback."""
    settings = config.classifier
    if settings.kind == "learned" or (settings.kind == "agent" and settings.fallback == "learned"):
        return LearnedClassifier(settings.model_file)
    return HeuristicClassifier()


def build_classifier(config: PluginConfig, local: HeuristicClassifier | LearnedClassifier | None = None) -> Classifier:
    """The classifier the config asks for: a local one, or the cached agent falling back to it."""
    local = local if local is not None else build_local(config)
    if config.classifier.kind != "agent":
        return local
    from litellm_router_plugin.classify.agent import AgentClassifier  # pydantic_ai: only when configured

    agent = AgentClassifier(
        config.classifier.agent_model,
        fallback=local,
        timeout_seconds=config.classifier.timeout_seconds,
        retries=config.classifier.retries,
    )
    return CachedClassifier(agent, maxsize=config.classifier.cache_size)


class Planner:
    """Plans requests for one ``PluginConfig``."""

    def __init__(
        self,
        config: PluginConfig | None = None,
        classifier: Classifier | None = None,
        groups: GroupEntries | None = None,
    ) -> None:
        self.config = config or PluginConfig()
        self.groups = groups
        """The Router's model groups the tiers' ``model_groups`` were resolved from (``None``: not bound)."""
        self.tier_map = TierMap.from_config(self.config, groups)
        self.local = build_local(self.config)
        # not `or`: an empty CachedClassifier is falsy (it has __len__)
        self.classifier = classifier if classifier is not None else build_classifier(self.config, self.local)
        register_custom_prices({m: p.model_dump() for m, p in self.config.custom_prices.items()})

    def bind(self, groups: GroupEntries) -> None:
        """Resolve the tiers' ``model_groups`` from a Router's groups (raises before changing anything);
        in place, as the learning loop swaps the classifier, so whoever holds this planner sees them."""
        tier_map = TierMap.from_config(self.config, groups)
        self.groups, self.tier_map = groups, tier_map

    @property
    def alias(self) -> str:
        """The model name that triggers routing."""
        return self.config.alias

    # -- classification --------------------------------------------------------------------
    async def analyse(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` with the configured classifier."""
        return await self.classifier.aclassify(prompt)

    # -- tiers -----------------------------------------------------------------------------
    def _tier(self, request: PlanRequest | None, key: str) -> Tier | None:
        name = getattr(request.overrides, key) if request is not None else None
        return self.tier_map[name] if name is not None else None

    def route(self, analysis: ComplexityAnalysis, request: PlanRequest | None = None) -> Route:
        """The tiers to try for ``analysis``: its tier (within the request's overrides), then stronger ones.

        A tier named as the model (``request.tier``) replaces the analysis' tier, within
        ``min_tier``/``max_tier``, and only that tier is tried.
        """
        if request is not None and request.overrides.has_tiers:
            # checked when the request was read, and again here: the policy may have been reloaded since
            request.overrides.check_tiers(self.tier_map.names)
        target = self.tier_map.for_category(analysis.category)
        reason = f"{analysis.category} (score {analysis.score}) -> {target.name}"
        settings = self.config.classifier
        by_strength = strength_route(
            analysis.strength if analysis.strength is not None else float(analysis.score),
            target.rank,
            len(self.tier_map.tiers),
            thresholds=settings.tier_thresholds,
            strong=settings.strong_threshold,
        )
        if by_strength is not None:
            # The thresholds decide: say so first, the category only as context (one story, not two tiers).
            target = self.tier_map.tiers[by_strength[0]]
            reason = f"{by_strength[1]}: {target.name} (category {analysis.category}, score {analysis.score})"
        forced = self._tier(request, "tier")
        if forced is not None:
            return Route((forced,), f"{reason}; tier forced to {forced.name} by metadata")
        low, high = self._tier(request, "min_tier"), self._tier(request, "max_tier")
        tier = request.tier if request is not None else None
        if tier is not None:
            named = self.tier_map[tier]
            rank = min(max(named.rank, low.rank if low else 0), high.rank if high else named.rank)
            chosen = self.tier_map.tiers[rank]
            kept = f"; kept within min/max_tier: {chosen.name}" if chosen is not named else ""
            return Route((chosen,), f"tier {named.name} named as the model{kept}")
        top = high.rank if high is not None else len(self.tier_map.tiers) - 1
        if low is not None and target.rank < low.rank:
            target, reason = low, f"{reason}; raised to min_tier {low.name}"
        if target.rank > top:
            target = self.tier_map.tiers[top]
            reason = f"{reason}; capped at max_tier {target.name}"
        floor = low.rank if low is not None else 0
        downgrade = tuple(reversed(self.tier_map.tiers[floor : target.rank])) if self.config.budgets.downgrade else ()
        return Route(self.tier_map.tiers[target.rank : top + 1], reason, downgrade)

    # -- planning --------------------------------------------------------------------------
    def count_tokens(self, messages: Sequence[Mapping[str, Any]] | None, prompt: str, tools: Any = None) -> int:
        """Prompt tokens for the estimate (tool definitions and images included): one
        ``litellm.token_counter`` pass per request."""
        if messages:
            try:
                return count_prompt_tokens(messages, self.config.token_counter_model, tools)
            except Exception:  # an odd message shape must not fail routing; estimate from text
                logger.debug("token_counter failed; estimating from characters", exc_info=True)
        return max(1, len(prompt) // 4)

    def _needs(self, request: PlanRequest) -> Needs:
        """What the request needs (one token count); completion tokens only when it set a limit."""
        tokens = self.count_tokens(request.messages, request.prompt, request.call.get("tools"))
        return Needs.of(request.call, request.messages, tokens, request.max_tokens if request.max_tokens_asked else 0)

    @staticmethod
    def _option(deployment: TierDeployment, needs: Needs, max_tokens: int, downgrade: bool = False) -> Option:
        # n completions cost n times the output (the prompt is billed once)
        cost = deployment.price.estimate(needs.prompt_tokens, max_tokens * needs.n)
        return Option(deployment, cost, deployment.capabilities.unmet(needs), downgrade)

    def request(
        self, messages: Sequence[Mapping[str, Any]] | None, call: Mapping[str, Any] | None = None
    ) -> PlanRequest:
        """``call`` read for this planner alone (no identity, no attempts): ``decide``, tools, tests."""
        return PlanRequest(
            **plan_fields(call or {}, messages, self.config.default_max_tokens, self.tier_map.names, None)
        )

    def plan(self, analysis: ComplexityAnalysis, request: PlanRequest) -> Plan:
        """Every option for ``request`` rated ``analysis``, cheapest first within each tier of its route.

        Pure and synchronous: the caller awaits the one slow step, ``analyse(request.prompt)``."""
        route = self.route(analysis, request)
        needs = self._needs(request)
        options: list[Option] = []
        for tiers, downgrade in ((route.tiers, False), (route.downgrade, True)):
            for each in tiers:
                # cheapest first for this request; a stable sort keeps config order between equals
                options += sorted(
                    (self._option(dep, needs, request.max_tokens, downgrade) for dep in each.deployments),
                    key=lambda option: option.estimate,
                )
        return self._planned(analysis, route, options, needs, request)

    def plan_named(self, deployment: TierDeployment, request: PlanRequest) -> Plan:
        """The plan for a deployment the caller named: no classification, one option, this request's estimate."""
        needs = self._needs(request)
        # the caller chose the deployment: its capabilities are not second-guessed
        option = dataclasses.replace(self._option(deployment, needs, request.max_tokens), unmet=None)
        route = Route((), f"{deployment.model} named by the caller")
        return self._planned(None, route, [option], needs, request)

    async def decide(
        self, messages: Sequence[Mapping[str, Any]] | None, call: Mapping[str, Any] | None = None
    ) -> RoutingDecision:
        """The decision the plan makes when every deployment is healthy and admitted (no call, no charge)."""
        return await self.decision(self.request(messages, call))

    async def decision(self, request: PlanRequest) -> RoutingDecision:
        """:meth:`decide` for a request already read (``serve``'s, by ``pipeline.request``)."""
        plan = self.plan(await self.analyse(request.prompt), request)
        return plan.decision(plan.usable()[0])

    @staticmethod
    def _planned(
        analysis: ComplexityAnalysis | None, route: Route, options: Sequence[Option], needs: Needs, request: PlanRequest
    ) -> Plan:
        return Plan(
            analysis,
            route,
            tuple(options),
            needs,
            needs.prompt_tokens,
            request.max_tokens,
            not request.max_tokens_asked,
            request.prompt,
        )

    def strongest_estimate(self, prompt_tokens: int, max_tokens: int) -> float:
        """What the request would cost on the strongest tier's cheapest deployment (the baseline)."""
        return self.tier_map.strongest_estimate(prompt_tokens, max_tokens)
