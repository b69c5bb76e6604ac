"""Loaded by the LiteLLM proxy through `litellm_settings.callbacks` and `general_settings.custom_auth`."""

import os
from pathlib import Path

from litellm_router_plugin.integrations.proxy import CONFIG_ENV, ProxyRouterPlugin, demo_custom_auth

# The PluginConfig: $LITELLM_ROUTER_PLUGIN_CONFIG, or plugin.yaml beside this file.
plugin = ProxyRouterPlugin(os.environ.get(CONFIG_ENV) or Path(__file__).with_name("plugin.yaml"))

# Replace with your own key scheme: an async (request, api_key) -> UserAPIKeyAuth.
custom_auth = demo_custom_auth
