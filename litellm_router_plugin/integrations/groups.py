"""Tiers over the Router's own model groups (``tiers[].model_groups``).

A tier may name model groups of the Router it is installed on, so deployments are defined once (in
the Router's or the proxy's ``model_list``). :func:`bind_groups` resolves them when the strategy is
installed and again whenever the Router's model list changes (the proxy rebuilds it): each group
becomes one tier deployment (``<tier>/group/<group>``), priced at its priciest deployment. The planner
chooses among a tier's deployments and groups by price as usual; a call routed to a group then goes to
LiteLLM's own pick within it (:func:`pick`: its strategy, weights, rpm/tpm, cooldowns), and is admitted
and settled like any other, its budget hold and breaker those of the group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

from litellm.router import Router

from litellm_router_plugin.errors import NoDeploymentAvailable
from litellm_router_plugin.integrations.deployments import GROUP_PICK_KEY, add_missing, alias_placeholder, router_groups
from litellm_router_plugin.integrations.litellm_compat import stock_pick, stock_pick_sync
from litellm_router_plugin.pipeline.attempts import Attempts
from litellm_router_plugin.pipeline.pipeline import Pipeline, Routed, run_without_loop
from litellm_router_plugin.pipeline.request import Request

__all__ = ["bind_groups", "cooling_groups", "failed_groups", "picked", "picked_sync", "uses_groups"]


def uses_groups(pipeline: Pipeline) -> bool:
    """Whether any tier names model groups of the Router."""
    return any(tier.model_groups for tier in pipeline.config.tiers)


def bind_groups(router: Router, pipeline: Pipeline) -> None:
    """Resolve the tiers' ``model_groups`` from ``router``'s model list (a ``ConfigError`` names the
    unknown groups and the Router's groups), and give a tier made only of groups a placeholder entry
    under its name, so ``model=<tier>`` is a known Router group. Nothing happens when nothing changed."""
    if not uses_groups(pipeline):
        return
    groups = router_groups(router.model_list, pipeline.tier_map.deployment)
    if pipeline.planner.groups != groups:
        pipeline.policy = pipeline.policy.with_groups(groups)
    add_missing(router, [alias_placeholder(t.name) for t in pipeline.config.tiers if not t.deployments])


def cooling_groups(pipeline: Pipeline, cooling: Collection[str]) -> list[str]:
    """The tier groups (their ``deployment_id``) whose every deployment is cooling down: not planned."""
    groups = pipeline.planner.groups
    if not cooling or not groups:
        return []
    cold = set(cooling)
    return [
        deployment.deployment_id
        for tier in pipeline.tier_map
        for deployment in tier.deployments
        if deployment.group is not None
        and all((e.get("model_info") or {}).get("id") in cold for e in groups.get(deployment.group, ()))
    ]


def _members(pipeline: Pipeline) -> dict[str, str]:
    """Each group deployment's id (LiteLLM's ``model_info.id``) -> its tier group's ``deployment_id``."""
    groups = pipeline.planner.groups or {}
    return {
        str((entry.get("model_info") or {}).get("id")): deployment.deployment_id
        for tier in pipeline.tier_map
        for deployment in tier.deployments
        if deployment.group is not None
        for entry in groups.get(deployment.group, ())
    }


def failed_groups(pipeline: Pipeline, request: Request) -> Request:
    """A retry's earlier attempts (LiteLLM names the deployment it called) named as their tier groups
    too: a group whose deployment failed is not tried again for this request, and a configuration
    fault there keeps the retry in that group's tier, as for any tier deployment."""
    attempts = request.attempts
    if not attempts.failed:
        return request
    members = _members(pipeline)
    failed = attempts.failed | {members[d] for d in attempts.failed if d in members}
    fault = attempts.fault
    if fault is not None and str(fault.get("deployment_id")) in members:
        fault = {**fault, "deployment_id": members[str(fault["deployment_id"])]}
    return dataclasses.replace(request, attempts=Attempts(failed, fault))


async def picked(
    router: Router, pipeline: Pipeline, routed: Routed, kwargs: dict[str, Any], messages: Any, input: Any
) -> Any:
    """LiteLLM's pick within the routed group; a failed pick releases the call's hold (settled at $0)."""
    group = str(routed.deployment.group)
    try:
        entry = await stock_pick(
            router, group, messages=messages, input=input, specific_deployment=False, request_kwargs=kwargs
        )
        return _checked(entry, routed.deployment.tier, group, kwargs)
    except Exception as exc:
        if routed.ticket is not None:
            await pipeline.settle(routed.ticket, error=exc)
        raise


def picked_sync(
    router: Router, pipeline: Pipeline, routed: Routed, kwargs: dict[str, Any], messages: Any, input: Any
) -> Any:
    """The synchronous twin of :func:`picked` (``Router.completion``)."""
    group = str(routed.deployment.group)
    try:
        entry = stock_pick_sync(
            router, group, messages=messages, input=input, specific_deployment=False, request_kwargs=kwargs
        )
        return _checked(entry, routed.deployment.tier, group, kwargs)
    except Exception as exc:
        if routed.ticket is not None:
            run_without_loop(pipeline.settle(routed.ticket, error=exc))  # memory store: never suspends
        raise


def _checked(entry: Any, tier: str, group: str, kwargs: dict[str, Any]) -> Any:
    if not isinstance(entry, Mapping):
        raise NoDeploymentAvailable([tier], f"LiteLLM has no deployment of model group {group!r} available")
    metadata = kwargs["metadata"]  # set by the strategy before routing
    metadata[GROUP_PICK_KEY] = (entry.get("model_info") or {}).get("id")
    return entry
