"""The one place that imports litellm, so its process-wide settings are made first.

LiteLLM fetches its price map from the network at import time and may swap it later from a
background thread; prices must be deterministic and offline, so we default to the bundled copy.
A user who wants the live map sets ``LITELLM_LOCAL_MODEL_COST_MAP=False`` before importing us.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # must follow the environment default above

# litellm prints a provider banner to stdout on every lookup error; our errors carry the context.
litellm.suppress_debug_info = True

__all__ = ["litellm"]
