"""Errors raised by litellm-router-plugin.

RouterPluginError
├── ConfigError            the configuration is wrong; the message names the field and the fix
│   └── UnknownModelError  a model has no price in LiteLLM's table nor in the config
└── NoDeploymentAvailable  every tier the request may use has no healthy deployment
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class RouterPluginError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(RouterPluginError, ValueError):
    """Invalid configuration: names the field, the value found and what to write instead."""

    status_code = 400  # a bad per-request override is the client's error, and not worth a retry

    def __init__(self, field: str, value: object, fix: str) -> None:
        self.field = field
        self.value = value
        self.fix = fix
        super().__init__(f"{field}: invalid value {value!r}. {fix}")


def checked_amount(field: str, value: object, unit: str = "USD", example: str = "0.10") -> float:
    """``value`` as a float if it is a finite, non-negative number; else a ``ConfigError`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, value, f"Write a number of {unit}, e.g. {example}.")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(field, value, f"Write a finite, non-negative number of {unit}.")
    return float(value)


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

    status_code = 503
    num_retries = 0  # LiteLLM's Router would only back off and plan the same again

    def __init__(self, tiers: Sequence[str], reason: str) -> None:
        self.tiers = list(tiers)
        super().__init__(f"no healthy deployment in tiers {', '.join(self.tiers)}: {reason}")


class StoreUnavailableError(RouterPluginError):
    """The shared store (Redis) cannot be reached; under fail-closed nothing is called."""

    status_code = 503  # LiteLLM's Router may retry it: the store may be back in a moment

    def __init__(self, store: str, cause: BaseException) -> None:
        self.store = store
        self.cause = cause
        super().__init__(
            f"{store} is unreachable ({type(cause).__name__}: {cause}); request refused because "
            "on_store_error='fail_closed'. Check the store, or set on_store_error='fail_open' to admit "
            "unaccounted requests while it is down."
        )


class BudgetExceededError(RouterPluginError):
    """A request would push a budget over its limit; nothing was called."""

    status_code = 429
    # LiteLLM's Router reads an exception's num_retries as the retries it deserves: a refusal, none.
    num_retries = 0

    def __init__(self, scope: str, limit: str, limit_usd: float, spent_usd: float, held_usd: float, asked_usd: float):
        self.scope = scope
        self.limit = limit
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.held_usd = held_usd
        self.asked_usd = asked_usd
        if limit == "per_request":
            detail = f"asked ${asked_usd:.6f} > per-request limit ${limit_usd:.6f}"
        else:
            detail = (
                f"spent ${spent_usd:.6f} + held ${held_usd:.6f} + asked ${asked_usd:.6f} "
                f"> {limit} limit ${limit_usd:.6f}"
            )
        super().__init__(f"budget exceeded for {scope}: {detail}")


class CircuitBreakerOpen(RouterPluginError):
    """Every candidate deployment's circuit breaker is open; no network call was made."""

    status_code = 503
    num_retries = 0  # fail fast with retry_after rather than LiteLLM backing off into the probe window

    def __init__(self, names: list[str], retry_after: float) -> None:
        self.names = names
        self.retry_after = retry_after
        super().__init__(f"circuit breaker open for {', '.join(names)}; retry after {retry_after:.1f}s")
