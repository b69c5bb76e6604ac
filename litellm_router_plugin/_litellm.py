"""The one place that imports litellm, so its process-wide settings are made first.

LiteLLM fetches its price map from the network at import time and may swap it later from a
background thread; prices must be deterministic and offline, so we default to the bundled copy.
A user who wants the live map sets ``LITELLM_LOCAL_MODEL_COST_MAP=False`` before importing us.
"""

from __future__ import annotations

import os
import sys

_OFFLINE_ENV = "LITELLM_LOCAL_MODEL_COST_MAP"
_imported_before_us = "litellm" in sys.modules

os.environ.setdefault(_OFFLINE_ENV, "True")  # also set by the package's __init__; repeated for direct imports

import litellm  # noqa: E402  (must follow the environment default above)

# litellm prints a provider banner to stdout on every lookup error; our errors carry the context.
litellm.suppress_debug_info = True


def _use_bundled_price_map() -> None:
    """Adopt the bundled price map when litellm was imported before us and loaded another one.

    The environment default above is read by litellm at its own import; if that happened first
    (``import litellm`` before ``import litellm_router_plugin``), load the bundled map now, the way
    litellm itself does when the variable is set (its loader reads the variable we just set).
    """
    from litellm.litellm_core_utils import get_model_cost_map as loader

    if os.environ[_OFFLINE_ENV].lower() != "true" or loader.get_model_cost_map_source_info()["is_env_forced"]:
        return  # the user asked for the live map, or litellm already loaded the bundled one
    loader.adopt_model_cost_map(loader.get_model_cost_map(url=litellm.model_cost_map_url))


if _imported_before_us:
    _use_bundled_price_map()

__all__ = ["litellm"]
