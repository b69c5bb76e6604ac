"""``acompletion``: ``litellm.acompletion``'s signature, routing when ``model`` is the alias."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.integrations.hooks import attach_learner, ensure_decision_hook
from litellm_router_plugin.pipeline.pipeline import Pipeline

_default: Pipeline | None = None


def configure(config: PluginConfig | Mapping[str, Any] | str | Path | None = None) -> Pipeline:
    """Set the config that module-level :func:`acompletion` (and ``model="router/<alias>"``) routes with."""
    global _default
    _default = Pipeline(config)
    attach_learner(_default)
    return _default


def default_pipeline() -> Pipeline:
    """The pipeline of the last :func:`configure` call (the built-in default config if none)."""
    return _default if _default is not None else configure()


async def acompletion(model: str, messages: list[Any] | None = None, **kwargs: Any) -> Any:
    """Like ``litellm.acompletion``, every call governed as through the Router: ``model=<alias>`` is
    routed, a tier name forces that tier, any other model is called as named and admitted against
    the same budgets and breakers (and recorded in the ledger, tier ``none``).

    The chosen deployment's ``litellm_params`` are merged under the caller's kwargs, and the
    ``RoutingDecision`` comes back in ``response._hidden_params["router_decision"]`` and in
    ``metadata["router_decision"]``. Pass ``pipeline=`` to use another config than the default.
    """
    pipeline: Pipeline = kwargs.pop("pipeline", None) or default_pipeline()
    ensure_decision_hook()  # LiteLLM's deployment hooks settle the call (streams when they end)
    return await pipeline.acompletion(messages, model=model, **kwargs)


async def feedback(request_id: str, score: float, *, pipeline: Pipeline | None = None) -> Any:
    """Rate a routed response (0 bad - 1 good) by its request id (``response._hidden_params["router_request_id"]``,
    the proxy's ``x-router-request-id``): a learning outcome joined to its decision; returns the ``Outcome``."""
    from litellm_router_plugin.online.learner import Learner

    chosen = pipeline or default_pipeline()
    learner = Learner.attach(chosen)
    if learner is None:
        raise ConfigError(
            "learning", None, "Feedback needs the learning loop: set learning.enabled or learning.shadow.share."
        )
    return await learner.feedback(request_id, score)
