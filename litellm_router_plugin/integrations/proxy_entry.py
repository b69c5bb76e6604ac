"""The proxy's entry point in the installed package: nothing beside the proxy's config file is needed.

    litellm_settings:
      callbacks: ["litellm_router_plugin.integrations.proxy_entry.plugin"]

The plugin's configuration comes from ``$LITELLM_ROUTER_PLUGIN_CONFIG`` (a YAML or JSON file); without
it, the default tiers. LiteLLM imports this module when it loads its config, so the plugin is made then.
"""

from __future__ import annotations

from litellm_router_plugin.integrations.proxy import ProxyRouterPlugin

plugin = ProxyRouterPlugin()
"""The one ``CustomLogger`` LiteLLM's proxy loads from ``litellm_settings.callbacks``."""

__all__ = ["plugin"]
