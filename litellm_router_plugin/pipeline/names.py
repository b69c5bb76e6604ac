"""Which model names an entry point accepts, and how each is governed: the same rule for the Router,
the proxy, ``lrp.acompletion`` and ``litellm.acompletion(model="router/<name>")``.

The alias is routed; a tier name forces that tier (unless ``allow_tier_models: false``); any other
model is called as named and admitted like the rest (priced, budgeted, breaker-guarded, recorded);
``alias_only`` restricts everyone, or the listed users/teams, to the alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litellm_router_plugin.errors import ModelNotAllowed
from litellm_router_plugin.pipeline.pipeline import Pipeline


def check_allowed(pipeline: Pipeline, model: str, request: Mapping[str, Any]) -> None:
    """Raise ``ModelNotAllowed`` when this caller may not name ``model`` (not the alias)."""
    config = pipeline.config
    if model in pipeline.tier_map and not config.allow_tier_models:
        raise ModelNotAllowed(
            model, f"tier names are not accepted as models (allow_tier_models: false); use {config.alias!r}"
        )
    restricted = config.alias_only
    if restricted is False:
        return
    if restricted is not True:
        who = pipeline.identity(request)
        names = {f"user:{who.user}", f"team:{who.team}"}
        if not names & set(restricted):
            return
    raise ModelNotAllowed(model, f"this caller may only use {config.alias!r} (alias_only)")


def routed_tier(pipeline: Pipeline, model: str, request: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether ``model`` is routed by the planner, and the tier it names (if it is a tier)."""
    if model == pipeline.alias:
        return True, None
    check_allowed(pipeline, model, request)
    if model in pipeline.tier_map:
        return True, model
    return False, None


async def governed_acompletion(pipeline: Pipeline, model: str, messages: list[Any] | None, **kwargs: Any) -> Any:
    """The whole call for ``model`` under the rule above, outside a Router."""
    routed, tier = routed_tier(pipeline, model, kwargs)
    if routed:
        return await pipeline.acompletion(messages, tier=tier, **kwargs)
    return await pipeline.acompletion(messages, named=model, **kwargs)
