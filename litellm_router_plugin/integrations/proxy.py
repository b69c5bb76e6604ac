"""The LiteLLM proxy integration: one ``CustomLogger`` loaded with ``litellm_settings.callbacks``.

At the first request it installs the routing strategy on the proxy's own Router
(``litellm.proxy.proxy_server.llm_router``, read at request time, since the proxy rebuilds it) and
adds the tier deployments to it. Every call then goes through the pipeline inside LiteLLM's Router,
exactly as with ``build_router``: the alias is routed, a tier name forces its tier, any other model
is admitted against the same budgets, and the deployment hooks settle every attempt. The hook here
sets the authenticated identity, adds the decision headers and turns refusals into OpenAI-style
errors that say whether a retry can help.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException
from litellm.constants import RETURN_RAW_MODEL_NAME_METADATA_KEY
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import UserAPIKeyAuth

from litellm_router_plugin import metrics
from litellm_router_plugin.config import OVERRIDES_KEY, PluginConfig, RequestOverrides
from litellm_router_plugin.errors import ConfigError, StoreUnavailableError
from litellm_router_plugin.guards.dependencies import log_dependencies
from litellm_router_plugin.guards.litellm_budgets import LITELLM_BUDGETS_KEY, add_alert_sink
from litellm_router_plugin.guards.litellm_budgets import from_auth as budgets_from_auth
from litellm_router_plugin.integrations.cascade import cascade_headers
from litellm_router_plugin.integrations.hooks import attach_learner, ensure_decision_hook
from litellm_router_plugin.integrations.http_errors import RouterHTTPError, to_http_error
from litellm_router_plugin.integrations.litellm_alerting import to_litellm_alerting
from litellm_router_plugin.integrations.otel_import import remember_unavailable_otel
from litellm_router_plugin.integrations.router import CostAwareRoutingStrategy, install
from litellm_router_plugin.integrations.savings import use_cached_deployment_info
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.pipeline.request import NamedTarget
from litellm_router_plugin.pipeline.ticket import TICKET_KEY
from litellm_router_plugin.routing.decision import METADATA_KEY

logger = logging.getLogger(__name__)

CONFIG_ENV = "LITELLM_ROUTER_PLUGIN_CONFIG"

__all__ = ["CONFIG_ENV", "ProxyRouterPlugin", "RouterHTTPError", "to_http_error"]  # the mapper: http_errors.py


_ADMIN_ROLES = ("proxy_admin", "proxy_admin_viewer")


def check_admin(auth: UserAPIKeyAuth) -> None:
    """403 unless the proxy authenticated an admin (the master key is one)."""
    role = getattr(auth.user_role, "value", auth.user_role)
    if role not in _ADMIN_ROLES:
        raise RouterHTTPError(403, "The dashboard's data is for proxy admins (the master key).", "forbidden")


class ProxyRouterPlugin(CustomLogger):  # type: ignore[misc]  # litellm is untyped here
    """Cost-aware routing inside ``litellm --config config.yaml``.

    ``config``: a ``PluginConfig`` file, mapping or object; default ``$LITELLM_ROUTER_PLUGIN_CONFIG``.
    ``mount_routes``: add ``/router/route``, ``/router/stats`` and ``/router/metrics`` to the proxy,
    behind its own key authentication.
    """

    def __init__(
        self, config: PluginConfig | Mapping[str, Any] | str | Path | None = None, *, mount_routes: bool = True
    ):
        super().__init__()
        self.pipeline = Pipeline(PluginConfig.load(config if config is not None else os.environ.get(CONFIG_ENV)))
        if self.pipeline.config.budgets.litellm_budgets:
            # LiteLLM's key, user and team budgets arrive with each request: admit every request
            # (a reloaded policy keeps doing so, see pipeline.policy.build_policy).
            self.pipeline.admit_every_request()
            add_alert_sink(to_litellm_alerting)  # soft budgets also reach general_settings.alerting
        log_dependencies(self.pipeline.config)  # one line each: store, ledger (reachable, and what it means)
        self._installed: Any = None
        ensure_decision_hook()
        use_cached_deployment_info()  # LiteLLM's savings figure of each routed request: no deep copy, set fields only
        remember_unavailable_otel()  # LiteLLM's proxy re-runs a failing import on every request otherwise
        attach_learner(self.pipeline)
        metrics.expose_in_default()  # in LiteLLM's /metrics when its Prometheus callback is on
        if mount_routes:
            self._mount_routes()

    @classmethod
    def for_proxy(
        cls, config: PluginConfig | Mapping[str, Any] | str | Path | None = None, *, mount_routes: bool = True
    ) -> ProxyRouterPlugin:
        """The plugin for a proxy's callback module: a bad config ends the proxy with one line.

        The proxy imports the callback module inside its start-up, where a raised error becomes a
        ~350-line traceback after LiteLLM's banner; here the ``ConfigError`` (the field and the fix)
        is printed alone on stderr and the process exits with status 2 before anything else starts.
        """
        source = config if config is not None else os.environ.get(CONFIG_ENV)
        try:
            return cls(source, mount_routes=mount_routes)
        except ConfigError as exc:
            where = f" ({source})" if isinstance(source, str | Path) else ""
            sys.stderr.write(f"error: router plugin config{where}: {' '.join(str(exc).split())}\n")
            sys.stderr.flush()
            os._exit(2)  # not SystemExit: the proxy's start-up would print it as a traceback and go on

    @property
    def alias(self) -> str:
        """The model name routed by the plugin."""
        return self.pipeline.alias

    def _mount_routes(self) -> None:
        from litellm.proxy import proxy_server
        from litellm.proxy.auth.user_api_key_auth import user_api_key_auth

        from litellm_router_plugin.integrations.dashboard import data_routes, page_routes
        from litellm_router_plugin.integrations.server import pipeline_store, routes

        proxy_server.app.include_router(
            routes(self.pipeline), prefix="/router", dependencies=[Depends(user_api_key_auth)]
        )

        async def require_admin(auth: UserAPIKeyAuth = Depends(user_api_key_auth)) -> None:  # noqa: B008
            check_admin(auth)

        # The page holds no data; what it draws (budgets per key, team and user) is for admins only.
        proxy_server.app.include_router(page_routes(), prefix="/router")
        proxy_server.app.include_router(
            data_routes(self.pipeline, pipeline_store(self.pipeline)),
            prefix="/router",
            dependencies=[Depends(require_admin)],
        )

    def install(self, router: Any) -> None:
        """Put the tier deployments and the strategy on ``router`` (idempotent per router object)."""
        if router is None or router is self._installed:
            return
        install(router, self.pipeline, cascade=True)
        CostAwareRoutingStrategy.install(router, self.pipeline)
        self._installed = router

    async def async_pre_call_hook(
        self, user_api_key_dict: UserAPIKeyAuth, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        """Install on the proxy's current Router; give every request its authenticated identity."""
        from litellm.proxy import proxy_server

        self.install(proxy_server.llm_router)
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = data["metadata"] = {}
        # Identity comes from the authenticated key only: a client cannot name another user's budget.
        # A malformed override is refused here (the failure hook's 400), as on every other path.
        client = RequestOverrides.of(data).client_settings()
        token = user_api_key_dict.api_key or user_api_key_dict.token
        authenticated = {"user": user_api_key_dict.user_id, "key": token, "team": user_api_key_dict.team_id}
        metadata[OVERRIDES_KEY] = {**client, **authenticated, "authenticated": True}
        if self.pipeline.config.budgets.litellm_budgets:
            metadata[OVERRIDES_KEY][LITELLM_BUDGETS_KEY] = budgets_from_auth(user_api_key_dict)
        model = data.get("model")
        if isinstance(model, str) and not isinstance(self.pipeline.target(data, model), NamedTarget):
            # The response names the model that answered, not the alias (the alias stays in the decision).
            metadata[RETURN_RAW_MODEL_NAME_METADATA_KEY] = True
        return data

    async def async_post_call_response_headers_hook(
        self,
        data: dict[str, Any],
        user_api_key_dict: UserAPIKeyAuth,
        response: Any,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, Any] | None = None,
    ) -> dict[str, str] | None:
        """The decision as response headers: ``x-router-tier``, ``-model``, ``-category``, ``-estimated-cost``."""
        metadata = data.get("metadata")
        decision = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
        cascade = cascade_headers(response)
        if cascade:  # the decision of the cascade's final step
            decision = response._hidden_params.get(METADATA_KEY)
        if not isinstance(decision, Mapping):
            return None
        analysis = decision.get("analysis") or {}
        ticket = metadata.get(TICKET_KEY) if isinstance(metadata, Mapping) else None
        if isinstance(ticket, Mapping) and not cascade:
            cascade = {"x-router-request-id": str(ticket.get("request_id"))}  # what POST /router/feedback names
        return cascade | {
            "x-router-tier": str(decision["tier"]),
            "x-router-model": str(decision["model"]),
            "x-router-category": str(analysis.get("category", "none")),
            "x-router-score": str(analysis.get("score", "none")),
            "x-router-estimated-cost": f"{decision['estimated_cost_usd']:.8f}",
        }

    async def async_post_call_failure_hook(
        self,
        request_data: dict[str, Any],
        original_exception: Exception,
        user_api_key_dict: UserAPIKeyAuth,
        traceback_str: str | None = None,
    ) -> HTTPException | None:
        """Budget refusal -> 429, breakers open / store down -> 503, as OpenAI-style JSON."""
        error = to_http_error(original_exception)
        if error is not None and isinstance(original_exception, StoreUnavailableError):
            logger.error("routing store unavailable: %s", original_exception)
        return error
