"""``Request``: one request, read once, by every entry point (the Router strategy, the proxy,
``acompletion`` and ``router/<name>``, the cascade deployment, ``serve``).

``Request.of`` is the one place that reads LiteLLM's kwargs: the overrides (``metadata.router``, one
``ConfigError`` when malformed), the identity, earlier attempts, the completion budget, and which
kind of target the model name is and whether this caller may use it:

- the alias is routed (a cascade when ``metadata.router.cascade`` or ``cascade.enabled`` asks);
- a tier name forces that tier (unless ``allow_tier_models: false``);
- any other model is called as named and admitted like the rest (priced, budgeted, breaker-guarded);
- ``alias_only`` restricts everyone, or the listed users/teams, to the alias.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litellm_router_plugin.config import PluginConfig, RequestOverrides
from litellm_router_plugin.errors import ModelNotAllowed
from litellm_router_plugin.guards.identity import ANONYMOUS, Identity
from litellm_router_plugin.pipeline.attempts import Attempts
from litellm_router_plugin.pipeline.cascade_settings import cascade_requested
from litellm_router_plugin.routing.request import (
    AliasTarget,
    CascadeTarget,
    NamedTarget,
    PlanRequest,
    Target,
    TierTarget,
    plan_fields,
)
from litellm_router_plugin.routing.tiers import TierMap

__all__ = ["AliasTarget", "CascadeTarget", "NamedTarget", "Request", "Target", "TierTarget"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(PlanRequest):
    """One request: what the planner reads, and who asks, what failed before, what LiteLLM cools down."""

    identity: Identity = field(default_factory=Identity)
    attempts: Attempts = field(default_factory=Attempts)
    stream: bool = False
    unhealthy: frozenset[str] = frozenset()
    """Deployments LiteLLM's Router is cooling down."""

    @classmethod
    def of(
        cls,
        config: PluginConfig,
        tier_map: TierMap,
        call: Mapping[str, Any],
        *,
        model: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        input: Any = None,
        unhealthy: Collection[str] = (),
    ) -> Request:
        """Read ``call`` (LiteLLM's kwargs) for ``model`` (``None``: the alias) under ``config``."""
        fields = plan_fields(call, messages, config.default_max_tokens, tier_map.names, input)
        overrides: RequestOverrides = fields["overrides"]
        identity = Identity.of(call, trust_client_user=config.budgets.trust_client_user, overrides=overrides)
        stream = bool(call.get("stream"))
        return cls(
            **fields,
            target=target_of(config, tier_map, model, overrides, identity, stream),
            identity=identity,
            attempts=Attempts.of(call),
            stream=stream,
            unhealthy=frozenset(unhealthy),
        )

    def avoiding(self, unhealthy: Collection[str]) -> Request:
        """This request with the deployments LiteLLM cools down."""
        if not unhealthy and not self.unhealthy:
            return self  # nothing cools down (the common case): the same frozen request
        return dataclasses.replace(self, unhealthy=frozenset(unhealthy))

    def for_tier(self, tier: str, unhealthy: Collection[str]) -> Request:
        """This request sent to ``tier`` alone, avoiding ``unhealthy`` (a cascade's step)."""
        return dataclasses.replace(self, target=TierTarget(tier), unhealthy=frozenset(unhealthy))


def read_target(config: PluginConfig, tier_map: TierMap, call: Mapping[str, Any], model: str | None) -> Target:
    """What ``Request.of`` decides ``call`` targets, with the same errors (a malformed override, a
    model this caller may not name), without reading the rest of the request (the proxy's pre-call hook)."""
    overrides = RequestOverrides.of(call, tier_map.names)
    stream = bool(call.get("stream"))
    if model is None or model == config.alias:  # who asks matters only for another model (alias_only)
        return target_of(config, tier_map, model, overrides, ANONYMOUS, stream)
    identity = Identity.of(call, trust_client_user=config.budgets.trust_client_user, overrides=overrides)
    return target_of(config, tier_map, model, overrides, identity, stream)


def target_of(
    config: PluginConfig,
    tier_map: TierMap,
    model: str | None,
    overrides: RequestOverrides,
    identity: Identity,
    stream: bool,
) -> Target:
    """Which kind of target ``model`` is for this caller (``ModelNotAllowed`` when it may not name it)."""
    if model is None or model == config.alias:
        return CascadeTarget() if cascade_requested(config.cascade, overrides, stream) else AliasTarget()
    check_allowed(config, tier_map, model, identity)
    return TierTarget(model) if model in tier_map else NamedTarget(model)


def check_allowed(config: PluginConfig, tier_map: TierMap, model: str, identity: Identity) -> None:
    """Raise ``ModelNotAllowed`` when this caller may not name ``model`` (not the alias)."""
    if model in tier_map and not config.allow_tier_models:
        raise ModelNotAllowed(
            model, f"tier names are not accepted as models (allow_tier_models: false); use {config.alias!r}"
        )
    restricted = config.alias_only
    if restricted is False:
        return
    if restricted is not True:
        names = {f"user:{identity.user}", f"team:{identity.team}"}
        if not names & set(restricted):
            return
    raise ModelNotAllowed(model, f"this caller may only use {config.alias!r} (alias_only)")
