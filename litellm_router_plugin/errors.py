"""Errors raised by litellm-router-plugin.

RouterPluginError
├── ConfigError            the configuration is wrong; the message names the field and the fix
│   └── UnknownModelError  a model has no price in LiteLLM's table nor in the config
└── NoDeploymentAvailable  every tier the request may use has no healthy deployment
"""

from __future__ import annotations

from collections.abc import Sequence


class RouterPluginError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(RouterPluginError, ValueError):
    """Invalid configuration: names the field, the value found and what to write instead."""

    def __init__(self, field: str, value: object, fix: str) -> None:
        self.field = field
        self.value = value
        self.fix = fix
        super().__init__(f"{field}: invalid value {value!r}. {fix}")


class UnknownModelError(ConfigError):
    """A model that has no price in LiteLLM's table and no custom price in the config."""

    def __init__(self, field: str, model: str, nearest: Sequence[str]) -> None:
        self.model = model
        self.nearest = list(nearest)
        hint = f"Nearest keys in litellm.model_cost: {', '.join(self.nearest)}. " if self.nearest else ""
        super().__init__(
            field,
            model,
            f"{hint}Use one of those names, or give the deployment a price with "
            "`input_cost_per_token` and `output_cost_per_token` in its litellm_params "
            "(0 for a local model), or list it under `custom_prices`.",
        )


class NoDeploymentAvailable(RouterPluginError):
    """Every tier the request may use has no healthy deployment."""

    def __init__(self, tiers: Sequence[str], reason: str) -> None:
        self.tiers = list(tiers)
        super().__init__(f"no healthy deployment in tiers {', '.join(self.tiers)}: {reason}")
