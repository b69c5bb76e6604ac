"""``python -m litellm_router_plugin.cli``: the same as ``litellm-router``."""

from __future__ import annotations

from litellm_router_plugin.cli import app

app()
