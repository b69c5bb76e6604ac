"""The planner: prompt -> ``ComplexityAnalysis`` -> route (tiers) -> every option, cheapest first.

Pure and fast: no network unless the agent classifier is configured (and then it is cached), and
no callbacks: health, breakers and budgets are applied to the returned ``Plan`` by the pipeline.
``plan`` (async) and ``plan_sync`` differ only in how the classifier is asked.
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
from litellm_router_plugin.config import OVERRIDES_KEY, PluginConfig
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.pricing import count_prompt_tokens, register_custom_prices
from litellm_router_plugin.routing.capabilities import Needs
from litellm_router_plugin.routing.decision import RoutingDecision
from litellm_router_plugin.routing.plan import Option, Plan, Route
from litellm_router_plugin.routing.thresholds import strength_route
from litellm_router_plugin.routing.tiers import Tier, TierDeployment, TierMap

logger = logging.getLogger(__name__)


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

    def __init__(self, config: PluginConfig | None = None, classifier: Classifier | None = None) -> None:
        self.config = config or PluginConfig()
        self.tier_map = TierMap.from_config(self.config)
        self.local = build_local(self.config)
        # not `or`: an empty CachedClassifier is falsy (it has __len__)
        self.classifier = classifier if classifier is not None else build_classifier(self.config, self.local)
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
        if isinstance(self.classifier, HeuristicClassifier | LearnedClassifier):
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

    def route(
        self, analysis: ComplexityAnalysis, metadata: Mapping[str, Any] | None = None, tier: str | None = None
    ) -> Route:
        """The tiers to try for ``analysis``: its tier (within any overrides), then stronger ones.

        ``tier``: named as the model by the caller; it replaces the analysis' tier, within
        ``min_tier``/``max_tier``, and only that tier is tried.
        """
        raw = (metadata or {}).get(OVERRIDES_KEY) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"metadata.{OVERRIDES_KEY}", raw, 'Pass a mapping, e.g. {"min_tier": "moderate"}.')
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
        forced = self._tier(raw, "tier")
        if forced is not None:
            return Route((forced,), f"{reason}; tier forced to {forced.name} by metadata")
        low, high = self._tier(raw, "min_tier"), self._tier(raw, "max_tier")
        if tier is not None:
            named = self.tier_map[tier]
            rank = min(max(named.rank, low.rank if low else 0), high.rank if high else named.rank)
            chosen = self.tier_map.tiers[rank]
            kept = f"; kept within min/max_tier: {chosen.name}" if chosen is not named else ""
            return Route((chosen,), f"tier {named.name} named as the model{kept}")
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
    def count_tokens(self, messages: Sequence[Mapping[str, Any]] | None, prompt: str, tools: Any = None) -> int:
        """Prompt tokens for the estimate (tool definitions and images included): one
        ``litellm.token_counter`` pass per request."""
        if messages:
            try:
                return count_prompt_tokens(messages, self.config.token_counter_model, tools)
            except Exception:  # an odd message shape must not fail routing; estimate from text
                logger.debug("token_counter failed; estimating from characters", exc_info=True)
        return max(1, len(prompt) // 4)

    @staticmethod
    def requested_max_tokens(request: Mapping[str, Any]) -> int | None:
        """The completion-token limit the request sets, if any."""
        for key in ("max_completion_tokens", "max_tokens"):
            value = request.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return None

    def _measure(
        self, messages: Sequence[Mapping[str, Any]] | None, prompt: str, request: Mapping[str, Any]
    ) -> tuple[Needs, int]:
        """What the request needs (one token count), and the completion tokens its estimates assume:
        the request's limit, else ``default_max_tokens``."""
        tokens = self.count_tokens(messages, prompt, request.get("tools"))
        asked = self.requested_max_tokens(request)
        return Needs.of(request, messages, tokens, asked or 0), asked or self.config.default_max_tokens

    @staticmethod
    def _option(deployment: TierDeployment, needs: Needs, max_tokens: int, downgrade: bool = False) -> Option:
        # n completions cost n times the output (the prompt is billed once)
        cost = deployment.price.estimate(needs.prompt_tokens, max_tokens * needs.n)
        return Option(deployment, cost, deployment.capabilities.unmet(needs), downgrade)

    def _planned(
        self,
        analysis: ComplexityAnalysis | None,
        route: Route,
        options: Sequence[Option],
        needs: Needs,
        max_tokens: int,
        prompt: str,
    ) -> Plan:
        defaulted = needs.max_tokens == 0  # the request set no max_tokens
        return Plan(analysis, route, tuple(options), needs, needs.prompt_tokens, max_tokens, defaulted, prompt)

    async def plan(
        self,
        messages: Sequence[Mapping[str, Any]] | None,
        request: Mapping[str, Any] | None = None,
        *,
        input: Any = None,
        tier: str | None = None,
    ) -> Plan:
        """Classify (awaiting the configured classifier) and order every option for the request."""
        prompt = prompt_text(messages, input)
        return self._plan(await self.analyse(prompt), prompt, messages, request or {}, tier)

    def plan_sync(
        self,
        messages: Sequence[Mapping[str, Any]] | None,
        request: Mapping[str, Any] | None = None,
        *,
        input: Any = None,
        tier: str | None = None,
    ) -> Plan:
        """:meth:`plan` without awaiting: the classifier is not awaited (see :meth:`analyse_sync`)."""
        prompt = prompt_text(messages, input)
        return self._plan(self.analyse_sync(prompt), prompt, messages, request or {}, tier)

    def plan_named(
        self, deployment: TierDeployment, messages: Sequence[Mapping[str, Any]] | None, request: Mapping[str, Any]
    ) -> Plan:
        """The plan for a deployment the caller named: no classification, one option, this request's estimate."""
        prompt = prompt_text(messages, request.get("input"))
        needs, max_tokens = self._measure(messages, prompt, request)
        # the caller chose the deployment: its capabilities are not second-guessed
        option = dataclasses.replace(self._option(deployment, needs, max_tokens), unmet=None)
        route = Route((), f"{deployment.model} named by the caller")
        return self._planned(None, route, [option], needs, max_tokens, prompt)

    async def decide(
        self, messages: Sequence[Mapping[str, Any]] | None, request: Mapping[str, Any] | None = None
    ) -> RoutingDecision:
        """The decision the plan makes when every deployment is healthy and admitted (no call, no charge)."""
        plan = await self.plan(messages, request)
        return plan.decision(plan.usable()[0])

    def _plan(
        self,
        analysis: ComplexityAnalysis,
        prompt: str,
        messages: Sequence[Mapping[str, Any]] | None,
        request: Mapping[str, Any],
        tier: str | None,
    ) -> Plan:
        route = self.route(analysis, request.get("metadata"), tier)
        needs, max_tokens = self._measure(messages, prompt, request)
        options: list[Option] = []
        for tiers, downgrade in ((route.tiers, False), (route.downgrade, True)):
            for each in tiers:
                # cheapest first for this request; a stable sort keeps config order between equals
                options += sorted(
                    (self._option(dep, needs, max_tokens, downgrade) for dep in each.deployments),
                    key=lambda option: option.estimate,
                )
        return self._planned(analysis, route, options, needs, max_tokens, prompt)

    def strongest_estimate(self, prompt_tokens: int, max_tokens: int) -> float:
        """What the request would cost on the strongest tier's cheapest deployment (the baseline)."""
        return self.tier_map.strongest_estimate(prompt_tokens, max_tokens)
