"""The LiteLLM Router integration: a custom routing strategy, the decision hook, ``build_router``.

The strategy only adapts LiteLLM's call to the planner. Health comes from the Router's own
cooldowns, so LiteLLM's retries and cooldowns keep working; any model name other than the alias
is handed to the stock selection untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litellm.integrations.custom_logger import CustomLogger
from litellm.router import CustomRoutingStrategyBase, Router
from litellm.router_utils.cooldown_handlers import get_cooldown_deployments
from litellm.types.router import RouterRateLimitError

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.decision import METADATA_KEY, RoutingDecision
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.planner import HealthyIds, Planner
from litellm_router_plugin.tiers import Tier


class DecisionHook(CustomLogger):  # type: ignore[misc]  # litellm is untyped here
    """Copies the routing decision from the request metadata onto ``response._hidden_params``.

    Registered once per process in ``litellm.callbacks``; a request that was not routed passes
    through untouched.
    """

    async def async_post_call_success_deployment_hook(
        self, request_data: dict[str, Any], response: Any, call_type: Any
    ) -> Any:
        metadata = request_data.get("metadata")
        if isinstance(metadata, Mapping) and METADATA_KEY in metadata:
            hidden = getattr(response, "_hidden_params", None)
            if isinstance(hidden, dict):
                hidden[METADATA_KEY] = metadata[METADATA_KEY]
        return response


_HOOK = DecisionHook()


def ensure_decision_hook() -> None:
    """Register the process-wide decision hook once."""
    if not any(isinstance(cb, DecisionHook) for cb in litellm.callbacks):
        litellm.callbacks.append(_HOOK)


class CostAwareRoutingStrategy(CustomRoutingStrategyBase):  # type: ignore[misc]
    """Routes ``model=<alias>`` to the cheapest healthy deployment of the prompt's tier."""

    def __init__(self, router: Router, planner: Planner) -> None:
        self.router = router
        self.planner = planner
        self._by_id: dict[str, dict[str, Any]] = {}

    @classmethod
    def install(cls, router: Router, planner: Planner) -> CostAwareRoutingStrategy:
        """Install on ``router``, whose model list must hold every tier deployment of ``planner``."""
        present = {d["model_info"]["id"] for d in router.model_list}
        missing = [e["model_info"]["id"] for e in planner.tier_map.model_list() if e["model_info"]["id"] not in present]
        if missing:
            raise ConfigError(
                "router.model_list",
                missing,
                "Add the tier deployments with `model_list=planner.tier_map.model_list()` "
                "or build the router with `build_router(config)`.",
            )
        strategy = cls(router, planner)
        router.set_custom_routing_strategy(strategy)
        ensure_decision_hook()
        return strategy

    def _deployment(self, deployment_id: str) -> dict[str, Any]:
        found = self._by_id.get(deployment_id)
        if found is None:
            # The model list may be rebuilt (the proxy reloads it); re-index on a miss.
            self._by_id = {d["model_info"]["id"]: d for d in self.router.model_list}
            found = self._by_id[deployment_id]
        return found

    def _attach(self, decision: RoutingDecision, request_kwargs: dict[str, Any]) -> dict[str, Any]:
        metadata = request_kwargs.get("metadata")
        if not isinstance(metadata, dict):
            metadata = request_kwargs["metadata"] = {}
        metadata[METADATA_KEY] = decision.model_dump(mode="json")
        return self._deployment(decision.deployment_id)

    async def async_get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, str]] | None = None,
        input: str | list[Any] | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Plan ``model=<alias>`` requests; delegate every other model to the stock Router."""
        if model != self.planner.alias:
            return await Router.async_get_available_deployment(
                self.router,
                model=model,
                messages=messages,
                input=input,
                specific_deployment=specific_deployment,
                request_kwargs=request_kwargs if request_kwargs is not None else {},
            )
        kwargs = request_kwargs if request_kwargs is not None else {}

        async def healthy(tier: Tier) -> HealthyIds:
            try:
                found = await self.router.async_get_healthy_deployments(
                    model=tier.name, request_kwargs=kwargs, messages=messages, input=input
                )
            except (RouterRateLimitError, litellm.BadRequestError):
                return ()  # every deployment of the tier is cooling down, or the tier was removed
            found = [found] if isinstance(found, dict) else found
            return {d["model_info"]["id"] for d in found}

        decision = await self.planner.plan(messages, kwargs, input=input, healthy=healthy)
        return self._attach(decision, kwargs)

    def get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, str]] | None = None,
        input: str | list[Any] | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Synchronous twin of :meth:`async_get_available_deployment` (serves ``Router.completion``)."""
        if model != self.planner.alias:
            return Router.get_available_deployment(
                self.router,
                model=model,
                messages=messages,
                input=input,
                specific_deployment=specific_deployment,
                request_kwargs=request_kwargs,
            )
        kwargs = request_kwargs if request_kwargs is not None else {}
        cooling = set(get_cooldown_deployments(litellm_router_instance=self.router, parent_otel_span=None))

        def healthy(tier: Tier) -> HealthyIds:
            return {d.deployment_id for d in tier.deployments} - cooling

        decision = self.planner.plan_sync(messages, kwargs, input=input, healthy=healthy)
        return self._attach(decision, kwargs)


def build_router(
    config: PluginConfig | Mapping[str, Any] | str | Path | None = None,
    *,
    model_list: list[dict[str, Any]] | None = None,
    planner: Planner | None = None,
    **router_kwargs: Any,
) -> Router:
    """A ``litellm.Router`` holding every tier deployment (model group = tier name), routing ``model=<alias>``.

    ``model_list`` adds your own deployments, reachable by name as with a stock Router;
    ``router_kwargs`` go to ``litellm.Router`` (``num_retries``, ``cooldown_time``, ``fallbacks``...).
    """
    planner = planner or Planner(PluginConfig.load(config))
    router = Router(model_list=planner.tier_map.model_list() + list(model_list or []), **router_kwargs)
    CostAwareRoutingStrategy.install(router, planner)
    return router
