"""The one place that imports litellm, and the explicit switch to its bundled (offline) price map.

Importing this package leaves LiteLLM's price-map source alone: a proxy or application that wants
LiteLLM's live map keeps it. Offline, deterministic prices are an explicit choice: set LiteLLM's own
``LITELLM_LOCAL_MODEL_COST_MAP=True`` before anything imports litellm (the tests and the demos do),
or call :func:`use_bundled_price_map` once litellm is loaded.
"""

from __future__ import annotations

import litellm

# litellm prints a provider banner to stdout on every lookup error; our errors carry the context.
litellm.suppress_debug_info = True

OFFLINE_ENV = "LITELLM_LOCAL_MODEL_COST_MAP"
"""LiteLLM's switch to its bundled price map (read by litellm when it is imported)."""


def use_bundled_price_map() -> None:
    """Use the price map bundled with the installed LiteLLM from now on (offline, deterministic),
    the way litellm loads it when ``LITELLM_LOCAL_MODEL_COST_MAP=True`` was set before its import."""
    import os

    from litellm.litellm_core_utils import get_model_cost_map as loader

    os.environ[OFFLINE_ENV] = "True"  # the loader reads it; also keeps later reloads on the bundled map
    if loader.get_model_cost_map_source_info()["is_env_forced"]:
        return  # litellm already loaded the bundled map
    loader.adopt_model_cost_map(loader.get_model_cost_map(url=litellm.model_cost_map_url))


__all__ = ["OFFLINE_ENV", "litellm", "use_bundled_price_map"]
