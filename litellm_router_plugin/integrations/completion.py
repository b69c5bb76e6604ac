"""``acompletion``: ``litellm.acompletion``'s signature, routing when ``model`` is the alias."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.guards.admission import TICKET_KEY, Admission, Ticket
from litellm_router_plugin.integrations.router import admission_for, ensure_decision_hook
from litellm_router_plugin.routing.decision import METADATA_KEY
from litellm_router_plugin.routing.planner import Planner

_default: Planner | None = None
# Weak: a planner the caller dropped takes its admission (store, breakers) with it.
_admissions: weakref.WeakKeyDictionary[Planner, Admission | None] = weakref.WeakKeyDictionary()


def configure(config: PluginConfig | Mapping[str, Any] | str | Path | None = None) -> Planner:
    """Set the config that module-level :func:`acompletion` routes with; returns its planner."""
    global _default
    _default = Planner(PluginConfig.load(config))
    return _default


def default_planner() -> Planner:
    """The planner of the last :func:`configure` call (the built-in default config if none)."""
    return _default if _default is not None else configure()


def _admission(planner: Planner) -> Admission | None:
    # One admission (store, breakers) per planner, made on first use.
    if planner not in _admissions:
        _admissions[planner] = admission_for(planner)
    return _admissions[planner]


async def acompletion(model: str, messages: list[Any] | None = None, **kwargs: Any) -> Any:
    """Like ``litellm.acompletion``; with ``model=<alias>`` the planner picks the model first.

    The chosen deployment's ``litellm_params`` are merged under the caller's kwargs, and the
    ``RoutingDecision`` comes back in ``response._hidden_params["router_decision"]`` and in
    ``metadata["router_decision"]``. Pass ``planner=`` to use another config than the default.
    """
    planner: Planner = kwargs.pop("planner", None) or default_planner()
    if model != planner.alias:
        return await litellm.acompletion(model=model, messages=messages or [], **kwargs)
    admission = _admission(planner)
    tickets: list[Ticket] = []
    if admission is not None:
        ensure_decision_hook()  # LiteLLM's deployment hooks settle the call
    admit = None if admission is None else admission.admitter(kwargs, tickets)
    decision = await planner.plan(messages, kwargs, admit=admit)
    deployment = planner.tier_map.deployment(decision.deployment_id)
    assert deployment is not None  # the planner only returns its own deployments
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata[METADATA_KEY] = decision.model_dump(mode="json")
    if admission is not None and tickets:
        metadata[TICKET_KEY] = admission.ticket_metadata(tickets[0])
    try:
        response = await litellm.acompletion(
            **{**deployment.litellm_params, **kwargs},
            model=deployment.model,
            messages=messages or [],
            metadata=metadata,
        )
    except BaseException as exc:
        if admission is not None and TICKET_KEY in metadata:
            # Usually settled already by LiteLLM's failure hook; settling is idempotent.
            await admission.settle(metadata[TICKET_KEY], error=exc if isinstance(exc, Exception) else None)
        raise
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, dict):
        hidden[METADATA_KEY] = metadata[METADATA_KEY]
    return response
