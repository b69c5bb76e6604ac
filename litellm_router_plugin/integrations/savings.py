"""LiteLLM's savings figure of a routed request, priced from the Router's cached deployment info.

The decision names a savings baseline (``routing.decision.litellm_routing_decision``), so LiteLLM's
logging prices every routed request twice more, at the served and at the baseline deployment. In
LiteLLM 1.108 that goes through ``Router.get_deployment_model_info``, which deep-copies the
model's whole price-map entry (~180 keys) on every call: ~0.3 ms of CPU a request, the largest
cost the plugin caused in a proxy worker (issue 25). LiteLLM 1.110 reads the Router's cached copy
instead (``registry().deployment_model_info(..., cached=True)``); on a LiteLLM that still calls
the uncached one, :func:`use_cached_deployment_info` makes its savings module do the same, with the
Router's own ``cached_deployment_model_info`` (cleared by LiteLLM whenever its model list changes).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_PATCHED = "_lrp_cached_deployment_info"


def use_cached_deployment_info() -> bool:
    """Make LiteLLM's savings module read the Router's cached deployment info, where it does not
    already (once per process); whether it now does so because of this call."""
    try:
        from litellm.proxy.spend_tracking import savings
        from litellm.router import Router
    except Exception:  # an SDK-only install, or another LiteLLM: nothing computes the figure this way
        return False
    original = getattr(savings, "_effective_model_info", None)
    if original is None or getattr(original, _PATCHED, False) or hasattr(Router, "registry"):
        return False  # no such step, done already, or a LiteLLM (1.110+) that caches it itself

    def _effective_model_info(router: Any, deployment_id: str | None, model: str) -> Any:
        cached = getattr(router, "cached_deployment_model_info", None)
        if deployment_id is None or cached is None:
            return original(router, deployment_id, model)
        try:
            return cached(deployment_id, model)
        except Exception:  # as LiteLLM's own: a dashboard figure must not fail the spend write
            logger.debug("savings: no deployment pricing for %s", model, exc_info=True)
            return None

    setattr(_effective_model_info, _PATCHED, True)
    _effective_model_info.__wrapped__ = original  # type: ignore[attr-defined]  # LiteLLM's own, for tests
    savings._effective_model_info = _effective_model_info
    return True
