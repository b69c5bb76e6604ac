"""Loaded by the LiteLLM proxy through `litellm_settings.callbacks` and `general_settings.custom_auth`."""

import hashlib
import os
import secrets
from pathlib import Path

import yaml
from fastapi import HTTPException, Request
from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth

from litellm_router_plugin.integrations.proxy import CONFIG_ENV, ProxyRouterPlugin

HERE = Path(__file__).parent

# The PluginConfig: $LITELLM_ROUTER_PLUGIN_CONFIG, or plugin.yaml beside this file. A mistake in it
# stops the proxy with one `error:` line naming the field and the fix (for_proxy), before it serves.
plugin = ProxyRouterPlugin.for_proxy(os.environ.get(CONFIG_ENV) or HERE / "plugin.yaml")

# DEMO ONLY. Replace with your own key scheme (an async (request, api_key) -> UserAPIKeyAuth), or drop
# `custom_auth` from config.yaml and use LiteLLM's virtual keys (they need its database).
# Keys are those listed in demo_keys.yaml (or $LRP_DEMO_KEYS); every other key is refused.
DEMO_KEYS: dict[str, dict[str, str]] = yaml.safe_load(
    Path(os.environ.get("LRP_DEMO_KEYS") or HERE / "demo_keys.yaml").read_text(encoding="utf-8")
)["keys"]


async def custom_auth(request: Request, api_key: str | None) -> UserAPIKeyAuth:
    """Who is calling: the user and team of a listed key, or the admin (the master key, which opens
    /router/dashboard's data). The plugin keeps the key only as a hash."""
    from litellm.proxy import proxy_server

    master = proxy_server.master_key
    if api_key and isinstance(master, str) and secrets.compare_digest(api_key, master):
        return UserAPIKeyAuth(
            api_key=hashlib.sha256(api_key.encode()).hexdigest(), user_role=LitellmUserRoles.PROXY_ADMIN
        )
    identity = DEMO_KEYS.get(api_key or "")
    if identity is None:
        raise HTTPException(401, detail="Invalid API key: not one of the demo keys listed in demo_keys.yaml.")
    digest = hashlib.sha256(api_key.encode()).hexdigest()  # type: ignore[union-attr]  # listed, hence a str
    return UserAPIKeyAuth(api_key=digest, user_id=identity.get("user"), team_id=identity.get("team"))
