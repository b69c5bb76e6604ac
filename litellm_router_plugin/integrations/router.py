"""The LiteLLM Router integration: a custom routing strategy and ``build_router``.

Every call the Router makes goes through the strategy, so every call is governed: the alias is
routed, a tier name forces its tier, and any other model is chosen by the stock selection and then
admitted like the rest (priced from its deployment, charged to the same budgets, guarded by its
breaker). Health comes from the Router's own cooldowns, so LiteLLM's retries keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litellm.router import CustomRoutingStrategyBase, Router
from litellm.router_utils.cooldown_handlers import async_get_cooldown_deployments, get_cooldown_deployments

from litellm_router_plugin.classify.base import LocalClassifier
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.integrations.blocking import run_blocking
from litellm_router_plugin.integrations.cascade import register_cascade_provider
from litellm_router_plugin.integrations.deployments import (
    PLACEHOLDER_PREFIX,
    add_missing,
    alias_placeholder,
    cascade_entry,
)
from litellm_router_plugin.integrations.groups import (
    bind_groups,
    cooling_groups,
    failed_groups,
    picked,
    picked_sync,
    uses_groups,
)
from litellm_router_plugin.integrations.hooks import attach_learner, ensure_decision_hook
from litellm_router_plugin.integrations.litellm_compat import stock_pick, stock_pick_sync
from litellm_router_plugin.pipeline.pipeline import Pipeline, Routed, run_without_loop
from litellm_router_plugin.pipeline.request import CascadeTarget, NamedTarget, Request

__all__ = ["PLACEHOLDER_PREFIX", "CostAwareRoutingStrategy", "alias_placeholder", "build_router", "install"]


def install(router: Router, pipeline: Pipeline, *, cascade: bool = False) -> None:
    """The one edit of a Router's model list: add the tier deployments of ``pipeline`` it lacks and,
    with ``cascade``, the alias' cascade deployment (registering its provider); the tiers' ``model_groups``
    are resolved from its model list."""
    bind_groups(router, pipeline)
    entries = pipeline.tier_map.model_list()
    if cascade:
        entries.append(cascade_entry(pipeline))
    add_missing(router, entries, register_cascade_provider if cascade else None)


class CostAwareRoutingStrategy(CustomRoutingStrategyBase):  # type: ignore[misc]
    """Routes ``model=<alias>`` (and tier names) through the pipeline; admits every other model."""

    def __init__(self, router: Router, pipeline: Pipeline) -> None:
        self.router = router
        self.pipeline = pipeline
        self._by_id: dict[str, dict[str, Any]] = {}
        self._seen = (id(router.model_list), len(router.model_list))
        """The model list the tiers' groups were bound from (the proxy may rebuild or extend it)."""

    @classmethod
    def install(cls, router: Router, pipeline: Pipeline) -> CostAwareRoutingStrategy:
        """Install on ``router``, whose model list must hold every tier deployment of ``pipeline`` and
        every model group its tiers name."""
        bind_groups(router, pipeline)
        present = {d["model_info"]["id"] for d in router.model_list}
        missing = [
            e["model_info"]["id"] for e in pipeline.tier_map.model_list() if e["model_info"]["id"] not in present
        ]
        if missing:
            raise ConfigError(
                "router.model_list",
                missing,
                "Add the tier deployments with `model_list=pipeline.tier_map.model_list()` "
                "or build the router with `build_router(config)`.",
            )
        strategy = cls(router, pipeline)
        faults = getattr(pipeline, "faults", None)  # a configuration fault is remembered while the Router cools down
        if faults is not None:
            faults.seconds = float(getattr(router, "cooldown_time", None) or faults.seconds)
        router.set_custom_routing_strategy(strategy)
        ensure_decision_hook()
        return strategy

    def _deployment(self, deployment_id: str) -> dict[str, Any]:
        found = self._by_id.get(deployment_id)
        if found is None:
            # The model list may be rebuilt (the proxy reloads it); re-index on a miss.
            self._by_id = {d["model_info"]["id"]: d for d in self.router.model_list}
            if deployment_id not in self._by_id:  # a reloaded policy added tier deployments
                install(self.router, self.pipeline)
                self._by_id = {d["model_info"]["id"]: d for d in self.router.model_list}
            found = self._by_id[deployment_id]
        return found

    def _cascade(self) -> dict[str, Any]:
        """The alias' cascade deployment (added on first use): its steps are planned, admitted and
        settled by the cascade itself (``integrations.cascade``)."""
        entry = cascade_entry(self.pipeline)
        if not any(d["model_info"]["id"] == entry["model_info"]["id"] for d in self.router.model_list):
            install(self.router, self.pipeline, cascade=True)
        return self._deployment(entry["model_info"]["id"])

    @staticmethod
    def _metadata(kwargs: dict[str, Any]) -> dict[str, Any]:
        metadata = kwargs.get("metadata")
        if not isinstance(metadata, dict):
            metadata = kwargs["metadata"] = {}
        return metadata

    def _attach(self, routed: Routed, kwargs: dict[str, Any]) -> dict[str, Any]:
        routed.attach(self._metadata(kwargs))
        return self._deployment(routed.decision.deployment_id)

    def _avoiding(self, request: Request, cooling: list[str]) -> Request:
        """The request avoiding cooling deployments, and the tier groups whose every deployment cools;
        the tiers' groups re-bound first if the Router's model list changed since."""
        if not uses_groups(self.pipeline):
            return request.avoiding(cooling)
        models = self.router.model_list  # read once a request (LiteLLM 1.110 routes it through a shim)
        if (id(models), len(models)) != self._seen:
            bind_groups(self.router, self.pipeline)
            models = self.router.model_list  # binding may have installed entries
            self._seen = (id(models), len(models))
        request = failed_groups(self.pipeline, request)
        return request.avoiding([*cooling, *cooling_groups(self.pipeline, cooling)])

    async def async_get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, str]] | None = None,
        input: str | list[Any] | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Plan and admit the alias and tier names; admit the stock choice for any other model."""
        kwargs = request_kwargs if request_kwargs is not None else {}
        request = self.pipeline.request(kwargs, model=model, messages=messages, input=input)
        if isinstance(request.target, CascadeTarget):
            return self._cascade()
        if not isinstance(request.target, NamedTarget):
            # One read of LiteLLM's cooldown list serves every tier (the stock path reads it per group).
            cooling = await async_get_cooldown_deployments(litellm_router_instance=self.router, parent_otel_span=None)
            routed = await self.pipeline.route(self._avoiding(request, cooling))
            if routed.deployment.group is None:
                return self._attach(routed, kwargs)
            routed.attach(self._metadata(kwargs))  # LiteLLM's own pick within the group
            return await picked(self.router, self.pipeline, routed, kwargs, messages, input)
        entry = await stock_pick(
            self.router,
            model,
            messages=messages,
            input=input,
            specific_deployment=specific_deployment,
            request_kwargs=kwargs,
        )
        return await self._admit_named(model, entry, request, kwargs)

    async def _admit_named(self, model: str, entry: Any, request: Request, kwargs: dict[str, Any]) -> Any:
        if self.pipeline.admission is None or not isinstance(entry, Mapping):
            return entry
        if str((entry.get("model_info") or {}).get("id", "")).startswith(PLACEHOLDER_PREFIX):
            return entry
        routed = await self.pipeline.admit_named(request, entry, model)
        routed.attach(self._metadata(kwargs))
        return entry

    def get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, str]] | None = None,
        input: str | list[Any] | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Synchronous twin of :meth:`async_get_available_deployment` (serves ``Router.completion``):
        the same path run without an event loop, so admission must not suspend (the memory store's
        never does; a Redis store is refused with a clear error, before anything is reserved)."""
        kwargs = request_kwargs if request_kwargs is not None else {}
        request = self.pipeline.request(kwargs, model=model, messages=messages, input=input)
        if isinstance(request.target, CascadeTarget):
            return self._cascade()
        if not isinstance(request.target, NamedTarget):
            classifier = self.pipeline.planner.classifier
            if not isinstance(classifier, LocalClassifier):
                # The agent needs the network: ask it on the bridge loop; the route then reads its cache.
                run_blocking(classifier.aclassify(request.prompt))
            cooling = get_cooldown_deployments(litellm_router_instance=self.router, parent_otel_span=None)
            routed = run_without_loop(self.pipeline.route(self._avoiding(request, cooling)))
            if routed.deployment.group is None:
                return self._attach(routed, kwargs)
            routed.attach(self._metadata(kwargs))
            return picked_sync(self.router, self.pipeline, routed, kwargs, messages, input)
        entry = stock_pick_sync(
            self.router,
            model,
            messages=messages,
            input=input,
            specific_deployment=specific_deployment,
            request_kwargs=kwargs,
        )
        return run_without_loop(self._admit_named(model, entry, request, kwargs))


def build_router(
    config: PluginConfig | Mapping[str, Any] | str | Path | None = None,
    *,
    model_list: list[dict[str, Any]] | None = None,
    pipeline: Pipeline | None = None,
    **router_kwargs: Any,
) -> Router:
    """A ``litellm.Router`` holding every tier deployment (model group = tier name), routing ``model=<alias>``.

    ``model_list`` adds your own deployments, reachable by name as with a stock Router (and admitted
    against the same budgets); ``router_kwargs`` go to ``litellm.Router`` (``num_retries``, ``fallbacks``...).
    """
    pipeline = pipeline or Pipeline(config)
    attach_learner(pipeline)
    extra = list(model_list or [])
    if not any(entry.get("model_name") == pipeline.alias for entry in extra):
        extra.append(alias_placeholder(pipeline.alias))
    router = Router(model_list=pipeline.tier_map.model_list() + extra, **router_kwargs)
    CostAwareRoutingStrategy.install(router, pipeline)
    return router
