"""LiteLLM's savings figure of a routed request, priced from the Router's cached deployment info,
as a view holding only the fields that are set.

The decision names a savings baseline (``routing.decision.litellm_routing_decision``), so LiteLLM's
logging prices every routed request twice more, at the served and at the baseline deployment. Two
costs of that are the plugin's to cut (issue 25):

- In LiteLLM 1.108 the deployment's info comes from ``Router.get_deployment_model_info``, which
  deep-copies the model's price-map entry on every call (~0.3 ms of CPU a request). LiteLLM 1.110
  reads the Router's cached copy (``registry().deployment_model_info(..., cached=True)``); on a
  LiteLLM that still calls the uncached one, the Router's own ``cached_deployment_model_info`` is
  read instead (cleared by LiteLLM whenever its model list changes).
- That info is a full ``ModelInfo``: ~185 keys, of which a chat model sets ~25 (the rest are
  ``None``). LiteLLM's cost function scans every key for tiered-price thresholds, twice a request;
  the view without the unset keys halves the figure's CPU (64 -> 30 us in process). The figure is
  the same: ``tests/test_savings_cache.py`` compares both views over every chat model LiteLLM prices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

_PATCHED = "_lrp_cached_deployment_info"
_VIEWS_KEPT = 256


def priced_view(info: Mapping[str, Any]) -> dict[str, Any]:
    """``info`` without its unset (``None``) fields: what LiteLLM's pricing reads of it."""
    return {key: value for key, value in info.items() if value is not None}


def _viewed(read: Callable[[Any, str | None, str], Any]) -> Callable[[Any, str | None, str], Any]:
    """``read`` (LiteLLM's ``_effective_model_info`` or the cached one) returning :func:`priced_view`,
    made once per info object the Router hands out (it keeps them until its model list changes)."""
    views: dict[int, tuple[Any, dict[str, Any]]] = {}

    def _effective_model_info(router: Any, deployment_id: str | None, model: str) -> Any:
        info = read(router, deployment_id, model)
        if not isinstance(info, Mapping):
            return info
        seen = views.get(id(info))
        if seen is None or seen[0] is not info:  # the entry holds the info: its id is not reused meanwhile
            if len(views) >= _VIEWS_KEPT:
                views.clear()
            seen = views[id(info)] = (info, priced_view(info))
        return seen[1]

    return _effective_model_info


def use_cached_deployment_info() -> bool:
    """Make LiteLLM's savings module read the Router's cached deployment info (where it does not
    already) as :func:`priced_view`, once per process; whether this call changed it."""
    try:
        from litellm.proxy.spend_tracking import savings
        from litellm.router import Router
    except Exception:  # an SDK-only install, or another LiteLLM: nothing computes the figure this way
        return False
    original = getattr(savings, "_effective_model_info", None)
    if original is None or getattr(original, _PATCHED, False):
        return False  # no such step, or done already

    def cached_read(router: Any, deployment_id: str | None, model: str) -> Any:
        cached = getattr(router, "cached_deployment_model_info", None)
        if deployment_id is None or cached is None:
            return original(router, deployment_id, model)
        try:
            return cached(deployment_id, model)
        except Exception:  # as LiteLLM's own: a dashboard figure must not fail the spend write
            logger.debug("savings: no deployment pricing for %s", model, exc_info=True)
            return None

    # LiteLLM 1.110+ reads the Router's cache itself (Router.registry): only the view is added there.
    patched = _viewed(original if hasattr(Router, "registry") else cached_read)
    setattr(patched, _PATCHED, True)
    patched.__wrapped__ = original  # type: ignore[attr-defined]  # LiteLLM's own, for tests
    savings._effective_model_info = patched
    return True
