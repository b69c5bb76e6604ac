"""The planner: prompt -> ``ComplexityAnalysis`` -> tier -> cheapest healthy deployment.

Pure and fast: no network unless the agent classifier is configured (and then it is cached).
Health is supplied by the caller (the Router's cooldowns, later the breakers), so the same planner
serves the Router strategy, the proxy and ``acompletion``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litellm_router_plugin.classify import (
    AgentClassifier,
    CachedClassifier,
    Classifier,
    ComplexityAnalysis,
    HeuristicClassifier,
)
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError, NoDeploymentAvailable
from litellm_router_plugin.pricing import count_prompt_tokens, register_custom_prices
from litellm_router_plugin.routing.decision import Candidate, RoutingDecision
from litellm_router_plugin.routing.tiers import Tier, TierDeployment, TierMap

logger = logging.getLogger(__name__)

OVERRIDES_KEY = "router"
"""Request metadata key for per-request overrides: ``{"tier": .., "min_tier": .., "max_tier": ..}``."""

HealthyIds = Collection[str] | None
"""Deployment ids that may take traffic; ``None`` means all of them."""

_CONTEXT_WORDS = 20
_CONTEXT_CHARS = 2000


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def prompt_text(messages: Sequence[Mapping[str, Any]] | None, input: Any = None) -> str:
    """The text to classify: the newest user turn, with the previous one when it is a short follow-up."""
    if not messages:
        if isinstance(input, str):
            return input
        if isinstance(input, list):
            return "\n".join(str(item) for item in input if isinstance(item, str))
        return ""
    user_turns = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    if not user_turns:
        return _text_of(messages[-1].get("content"))
    newest = user_turns[-1]
    if len(user_turns) > 1 and len(newest.split()) < _CONTEXT_WORDS:
        return f"{user_turns[-2][-_CONTEXT_CHARS:]}\n{newest}"
    return newest


@dataclass(frozen=True, slots=True)
class Route:
    """The tiers to try, in order, and why; ``downgrade`` tiers only when the budget refuses the others."""

    tiers: tuple[Tier, ...]
    reason: str
    downgrade: tuple[Tier, ...] = ()


Admit = Callable[[list[TierDeployment], int, int], Awaitable[int]]
"""Given candidates in order of preference, prompt tokens and max tokens: the index admitted (or raise)."""


def build_classifier(config: PluginConfig) -> Classifier:
    """The classifier the config asks for: the heuristic, or the cached agent falling back to it."""
    local = HeuristicClassifier()
    if config.classifier.kind == "heuristic":
        return local
    agent = AgentClassifier(
        config.classifier.agent_model,
        fallback=local,
        timeout_seconds=config.classifier.timeout_seconds,
        retries=config.classifier.retries,
    )
    return CachedClassifier(agent, maxsize=config.classifier.cache_size)


class Planner:
    """Plans requests for one ``PluginConfig``."""

    def __init__(self, config: PluginConfig | None = None, classifier: Classifier | None = None) -> None:
        self.config = config or PluginConfig()
        self.tier_map = TierMap.from_config(self.config)
        self.local = HeuristicClassifier()
        # not `or`: an empty CachedClassifier is falsy (it has __len__)
        self.classifier = classifier if classifier is not None else build_classifier(self.config)
        register_custom_prices({m: p.model_dump() for m, p in self.config.custom_prices.items()})

    @property
    def alias(self) -> str:
        """The model name that triggers routing."""
        return self.config.alias

    # -- classification --------------------------------------------------------------------
    async def analyse(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` with the configured classifier."""
        return await self.classifier.aclassify(prompt)

    def analyse_sync(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` without awaiting: a cached agent answer if there is one, else the local classifier."""
        if isinstance(self.classifier, CachedClassifier):
            cached = self.classifier.get(prompt)
            if cached is not None:
                return cached.model_copy(update={"cached": True})
        if isinstance(self.classifier, HeuristicClassifier):
            return self.classifier.classify(prompt)
        return self.local.classify(prompt).model_copy(update={"fallback_reason": "sync call: agent not awaited"})

    # -- tiers -----------------------------------------------------------------------------
    def _tier(self, overrides: Mapping[str, Any], key: str) -> Tier | None:
        name = overrides.get(key)
        if name is None:
            return None
        if not isinstance(name, str) or name not in self.tier_map:
            raise ConfigError(
                f"metadata.{OVERRIDES_KEY}.{key}", name, f"Use one of the tiers: {', '.join(self.tier_map.names)}."
            )
        return self.tier_map[name]

    def route(self, analysis: ComplexityAnalysis, metadata: Mapping[str, Any] | None = None) -> Route:
        """The tiers to try for ``analysis``: its tier (within any overrides), then stronger ones."""
        raw = (metadata or {}).get(OVERRIDES_KEY) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"metadata.{OVERRIDES_KEY}", raw, 'Pass a mapping, e.g. {"min_tier": "moderate"}.')
        target = self.tier_map.for_category(analysis.category)
        reason = f"{analysis.category} (score {analysis.score}) -> {target.name}"
        threshold = self.config.classifier.strong_threshold
        if threshold is not None and len(self.tier_map.tiers) > 1:
            strength = analysis.strength if analysis.strength is not None else float(analysis.score)
            strongest = self.tier_map.strongest
            if strength >= threshold:
                target, reason = (
                    strongest,
                    f"{reason}; strength {strength:.2f} >= threshold {threshold:g}: {strongest.name}",
                )
            elif target.rank == strongest.rank:
                target = self.tier_map.tiers[-2]
                reason = f"{reason}; strength {strength:.2f} < threshold {threshold:g}: {target.name}"
        forced = self._tier(raw, "tier")
        if forced is not None:
            return Route((forced,), f"{reason}; tier forced to {forced.name} by metadata")
        low, high = self._tier(raw, "min_tier"), self._tier(raw, "max_tier")
        top = high.rank if high is not None else len(self.tier_map.tiers) - 1
        if low is not None and low.rank > top:
            raise ConfigError(f"metadata.{OVERRIDES_KEY}.min_tier", low.name, "min_tier must not be above max_tier.")
        if low is not None and target.rank < low.rank:
            target, reason = low, f"{reason}; raised to min_tier {low.name}"
        if target.rank > top:
            target = self.tier_map.tiers[top]
            reason = f"{reason}; capped at max_tier {target.name}"
        floor = low.rank if low is not None else 0
        downgrade = tuple(reversed(self.tier_map.tiers[floor : target.rank])) if self.config.budgets.downgrade else ()
        return Route(self.tier_map.tiers[target.rank : top + 1], reason, downgrade)

    # -- planning --------------------------------------------------------------------------
    def count_tokens(self, messages: Sequence[Mapping[str, Any]] | None, prompt: str) -> int:
        """Prompt tokens for the estimate: one ``litellm.token_counter`` pass per request."""
        if messages:
            try:
                return count_prompt_tokens(messages, self.config.token_counter_model)
            except Exception:  # an odd message shape must not fail routing; estimate from text
                logger.debug("token_counter failed; estimating from characters", exc_info=True)
        return max(1, len(prompt) // 4)

    def max_tokens_of(self, request: Mapping[str, Any]) -> int:
        """Completion tokens assumed for the estimate: the request's limit, else the configured default."""
        for key in ("max_completion_tokens", "max_tokens"):
            value = request.get(key)
            if isinstance(value, int) and value > 0:
                return value
        return self.config.default_max_tokens

    def ranked(
        self, tier: Tier, healthy: HealthyIds, prompt_tokens: int, max_tokens: int, seen: list[Candidate]
    ) -> list[TierDeployment]:
        """Healthy deployments of ``tier``, cheapest first for this request; adds what it saw to ``seen``."""
        priced = []
        for dep in tier.deployments:
            cost = dep.price.estimate(prompt_tokens, max_tokens)
            ok = healthy is None or dep.deployment_id in healthy
            seen.append(
                Candidate(
                    tier=tier.name,
                    model=dep.model,
                    deployment_id=dep.deployment_id,
                    estimated_cost_usd=cost,
                    healthy=ok,
                )
            )
            if ok:
                priced.append((cost, dep))
        priced.sort(key=lambda pair: pair[0])
        return [dep for _, dep in priced]

    def decide(
        self,
        analysis: ComplexityAnalysis,
        route: Route,
        chosen: TierDeployment,
        seen: list[Candidate],
        prompt_tokens: int,
        max_tokens: int,
    ) -> RoutingDecision:
        """Assemble the decision for ``chosen``."""
        reason = route.reason
        target = route.tiers[0]
        rank = self.tier_map[chosen.tier].rank
        if rank > target.rank:
            skipped = [t.name for t in route.tiers if t.rank < rank]
            reason += f"; escalated to {chosen.tier} (no healthy or admissible deployment in {', '.join(skipped)})"
        elif rank < target.rank:
            reason += f"; downgraded to {chosen.tier} (budget)"
        estimate = chosen.price.estimate(prompt_tokens, max_tokens)
        in_tier = [c for c in seen if c.tier == chosen.tier]
        cheaper = [c for c in in_tier if c.healthy and c.estimated_cost_usd < estimate]
        if cheaper:
            reason += f"; {chosen.model} admitted ({len(cheaper)} cheaper refused by breaker or budget)"
        else:
            reason += f"; {chosen.model} is the cheapest healthy of {len(in_tier)}"
        # model_construct: every field is built here from validated parts.
        return RoutingDecision.model_construct(
            analysis=analysis,
            tier=chosen.tier,
            model=chosen.model,
            deployment_id=chosen.deployment_id,
            candidates=seen,
            reason=reason,
            estimated_cost_usd=estimate,
            prompt_tokens=prompt_tokens,
            max_tokens=max_tokens,
        )

    async def plan(
        self,
        messages: Sequence[Mapping[str, Any]] | None,
        request: Mapping[str, Any] | None = None,
        *,
        input: Any = None,
        healthy: Callable[[Tier], Awaitable[HealthyIds]] | None = None,
        admit: Admit | None = None,
        avoid: Collection[str] = (),
        sync: bool = False,
    ) -> RoutingDecision:
        """Classify and choose; ``healthy(tier)`` says which deployments of a tier may take traffic.

        ``avoid``: deployments that already failed this request (a retry); they come last. With
        ``admit`` (breakers and budgets), every healthy candidate of the route goes to it in order of
        preference, and the one it admits is chosen. ``sync``: classify without awaiting (see
        :meth:`analyse_sync`), for synchronous callers that drive this coroutine without a loop.
        """
        request = request or {}
        prompt = prompt_text(messages, input)
        analysis = self.analyse_sync(prompt) if sync else await self.analyse(prompt)
        route = self.route(analysis, request.get("metadata"))
        tokens, max_tokens = self.count_tokens(messages, prompt), self.max_tokens_of(request)
        seen: list[Candidate] = []
        ordered: list[TierDeployment] = []
        tiers = route.tiers + route.downgrade if admit is not None else route.tiers
        for tier in tiers:
            ranked = self.ranked(tier, None if healthy is None else await healthy(tier), tokens, max_tokens, seen)
            ordered += ranked
            if admit is None and any(d.deployment_id not in avoid for d in ranked):
                break  # without admission the first tier with a usable deployment decides
        if avoid:
            ordered.sort(key=lambda d: d.deployment_id in avoid)  # stable: cost order kept within each part
        if not ordered:
            raise NoDeploymentAvailable([t.name for t in route.tiers], route.reason)
        chosen = ordered[0] if admit is None else ordered[await admit(ordered, tokens, max_tokens)]
        return self._logged(self.decide(analysis, route, chosen, seen, tokens, max_tokens), prompt)

    def _logged(self, decision: RoutingDecision, prompt: str) -> RoutingDecision:
        decision.log(prompt, include_prompt=self.config.log_prompts)
        return decision

    def strongest_estimate(self, prompt_tokens: int, max_tokens: int) -> float:
        """What the request would cost on the strongest tier's cheapest deployment (the baseline)."""
        return min(d.price.estimate(prompt_tokens, max_tokens) for d in self.tier_map.strongest.deployments)
