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
from litellm.router_utils.cooldown_handlers import async_get_cooldown_deployments, get_cooldown_deployments

from litellm_router_plugin import metrics
from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError, RouterPluginError
from litellm_router_plugin.guards.admission import TICKET_KEY, Admission, Ticket
from litellm_router_plugin.routing.decision import METADATA_KEY, RoutingDecision
from litellm_router_plugin.routing.planner import HealthyIds, Planner
from litellm_router_plugin.routing.tiers import Tier


def _routed_here(metadata: Any) -> bool:
    """Whether this attempt went to the deployment we chose (not, say, a LiteLLM fallback group that
    inherited the request's metadata)."""
    if not isinstance(metadata, Mapping):
        return False
    decision = metadata.get(METADATA_KEY)
    if not isinstance(decision, Mapping):
        return False
    info = metadata.get("model_info")
    used = info.get("id") if isinstance(info, Mapping) else None
    return used is None or used == decision.get("deployment_id")


async def _settle(metadata: Any, *, usage: Any = None, error: BaseException | None = None) -> None:
    if not _routed_here(metadata):
        return
    ticket = metadata.get(TICKET_KEY)
    if not isinstance(ticket, Mapping):
        return
    admission = Admission.lookup(ticket.get("admission", ""))
    if admission is not None:
        await admission.settle(ticket, usage=usage, error=error, decision=metadata.get(METADATA_KEY))


class DecisionHook(CustomLogger):  # type: ignore[misc]  # litellm is untyped here
    """Settles routed calls and copies the decision onto ``response._hidden_params``.

    Registered once per process in ``litellm.callbacks``. LiteLLM awaits the deployment hooks inside
    the call, so a non-streamed call is settled before its response is returned; a stream is settled
    when LiteLLM logs its completion. Requests that were not routed pass through untouched.
    """

    async def async_post_call_success_deployment_hook(
        self, request_data: dict[str, Any], response: Any, call_type: Any
    ) -> Any:
        metadata: Any = request_data.get("metadata")
        if _routed_here(metadata):
            hidden = getattr(response, "_hidden_params", None)
            if isinstance(hidden, dict):
                hidden[METADATA_KEY] = metadata[METADATA_KEY]
            await _settle(metadata, usage=getattr(response, "usage", None))
        return response

    async def async_post_call_failure_deployment_hook(
        self, request_data: Mapping[str, Any], exception: Exception, call_type: Any
    ) -> None:
        await _settle(request_data.get("metadata"), error=exception)

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        if kwargs.get("stream"):
            metadata = (kwargs.get("litellm_params") or {}).get("metadata")
            await _settle(metadata, usage=getattr(response_obj, "usage", None))

    # LiteLLM calls the two below for synchronous calls only (Router.completion), which admit
    # through the memory store, whose coroutines never suspend.
    def log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        metadata = (kwargs.get("litellm_params") or {}).get("metadata")
        run_without_loop(_settle(metadata, usage=getattr(response_obj, "usage", None)))

    def log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        metadata = (kwargs.get("litellm_params") or {}).get("metadata")
        error = kwargs.get("exception")
        run_without_loop(_settle(metadata, error=error if isinstance(error, Exception) else RuntimeError("failed")))


def _failed_this_request(request_kwargs: Mapping[str, Any]) -> set[str]:
    """Deployments that already failed this request: LiteLLM records each retried attempt."""
    metadata = request_kwargs.get("metadata")
    attempts = metadata.get("previous_models") if isinstance(metadata, Mapping) else None
    if not isinstance(attempts, list | tuple):
        return set()
    return {a["deployment_id"] for a in attempts if isinstance(a, Mapping) and a.get("deployment_id")}


def run_without_loop(coro: Any) -> Any:
    """Run a coroutine that never suspends (the memory store's) from synchronous code."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RouterPluginError(
        "Router.completion (synchronous) cannot reach a Redis store for budgets and breakers; "
        "use Router.acompletion, or store.kind: memory."
    )


_HOOK = DecisionHook()


def ensure_decision_hook() -> None:
    """Register the process-wide decision hook once."""
    if not any(isinstance(cb, DecisionHook) for cb in litellm.callbacks):
        litellm.callbacks.append(_HOOK)


class CostAwareRoutingStrategy(CustomRoutingStrategyBase):  # type: ignore[misc]
    """Routes ``model=<alias>`` to the cheapest healthy deployment of the prompt's tier."""

    def __init__(self, router: Router, planner: Planner, admission: Admission | None = None) -> None:
        self.router = router
        self.planner = planner
        self.admission = admission
        self._by_id: dict[str, dict[str, Any]] = {}

    @classmethod
    def install(cls, router: Router, planner: Planner, admission: Admission | None = None) -> CostAwareRoutingStrategy:
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
        strategy = cls(router, planner, admission)
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

    def _attach(
        self, decision: RoutingDecision, request_kwargs: dict[str, Any], tickets: list[Ticket]
    ) -> dict[str, Any]:
        metadata = request_kwargs.get("metadata")
        if not isinstance(metadata, dict):
            metadata = request_kwargs["metadata"] = {}
        metadata[METADATA_KEY] = decision.model_dump(mode="json")
        metrics.DECISIONS.labels(decision.tier, decision.model).inc()
        if tickets and self.admission is not None:
            metadata[TICKET_KEY] = self.admission.ticket_metadata(tickets[0])
        return self._deployment(decision.deployment_id)

    async def _route(
        self,
        messages: list[dict[str, str]] | None,
        input: str | list[Any] | None,
        request_kwargs: dict[str, Any] | None,
        cooling: set[str],
        *,
        sync: bool,
    ) -> dict[str, Any]:
        """Plan (and admit) one alias request; the chosen Router deployment, decision in its metadata."""
        kwargs = request_kwargs if request_kwargs is not None else {}

        async def healthy(tier: Tier) -> HealthyIds:
            return {d.deployment_id for d in tier.deployments} - cooling

        tickets: list[Ticket] = []
        admit = None if self.admission is None else self.admission.admitter(kwargs, tickets)
        decision = await self.planner.plan(
            messages, kwargs, input=input, healthy=healthy, admit=admit, avoid=_failed_this_request(kwargs), sync=sync
        )
        return self._attach(decision, kwargs, tickets)

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
        # One read of LiteLLM's cooldown list serves every tier (the stock path reads it per group).
        cooling = await async_get_cooldown_deployments(litellm_router_instance=self.router, parent_otel_span=None)
        return await self._route(messages, input, request_kwargs, set(cooling), sync=False)

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
        cooling = get_cooldown_deployments(litellm_router_instance=self.router, parent_otel_span=None)
        # Nothing in _route suspends when sync: the classifier is not awaited and, with admission,
        # the memory store answers at once (a Redis store makes run_without_loop raise clearly).
        return run_without_loop(self._route(messages, input, request_kwargs, set(cooling), sync=True))


def build_router(
    config: PluginConfig | Mapping[str, Any] | str | Path | None = None,
    *,
    model_list: list[dict[str, Any]] | None = None,
    planner: Planner | None = None,
    admission: Admission | None = None,
    **router_kwargs: Any,
) -> Router:
    """A ``litellm.Router`` holding every tier deployment (model group = tier name), routing ``model=<alias>``.

    ``model_list`` adds your own deployments, reachable by name as with a stock Router;
    ``router_kwargs`` go to ``litellm.Router`` (``num_retries``, ``cooldown_time``, ``fallbacks``...).
    """
    planner = planner or Planner(PluginConfig.load(config))
    admission = admission or admission_for(planner)
    extra = list(model_list or [])
    if not any(entry.get("model_name") == planner.alias for entry in extra):
        extra.append(alias_placeholder(planner.alias))
    router = Router(model_list=planner.tier_map.model_list() + extra, **router_kwargs)
    CostAwareRoutingStrategy.install(router, planner, admission)
    return router


def alias_placeholder(alias: str) -> dict[str, Any]:
    """A model group named like the alias. The strategy never sends traffic to it; it exists because
    LiteLLM's Router retries a failed call only when the requested group has a healthy deployment,
    and finds a known group without a wildcard search."""
    return {
        "model_name": alias,
        "litellm_params": {"model": "openai/router-plugin-placeholder", "api_key": "unused"},
        "model_info": {"id": f"router-plugin-placeholder-{alias}"},
    }


def admission_for(planner: Planner) -> Admission | None:
    """The admission the planner's config asks for: ``None`` when neither budgets nor breakers are on."""
    b = planner.config.budgets
    budgets = any(limit is not None for limit in (b.all_requests, b.per_user, b.per_key, b.per_team))
    if not (budgets or planner.config.breaker.enabled):
        return None
    return Admission(planner.config, planner.tier_map)
