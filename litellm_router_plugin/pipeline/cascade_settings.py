"""A cascade's per-request settings (config and client overrides), its cost cap, and the errors that
end a step."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litellm_router_plugin.config import OVERRIDES_KEY, CascadeConfig, CheckName
from litellm_router_plugin.errors import (
    ConfigError,
    RouterPluginError,
    checked_amount,
)
from litellm_router_plugin.guards.breaker import counts_as_failure


@dataclass(frozen=True, slots=True)
class Settings:
    """The cascade settings of one request: the config, overridden by ``metadata.router``."""

    checks: tuple[CheckName, ...]
    consistency_threshold: float
    logprob_threshold: float
    verifier_threshold: float
    max_cost_usd: float | None
    sample_temperature: float | None

    @classmethod
    def of(cls, config: CascadeConfig, overrides: Mapping[str, Any]) -> Settings:
        """``config`` with a request's overrides (``max_cost_usd`` may only lower the configured cap)."""
        cap = config.max_cost_usd
        asked = overrides.get("max_cost_usd")
        if asked is not None:
            asked = checked_amount(f"metadata.{OVERRIDES_KEY}.max_cost_usd", asked)
            cap = asked if cap is None else min(cap, asked)
        checks = overrides.get("checks", config.checks)
        allowed = ("consistency", "logprobs", "verifier")
        if not isinstance(checks, list | tuple) or any(c not in allowed for c in checks):
            raise ConfigError(f"metadata.{OVERRIDES_KEY}.checks", checks, f"Give a list of: {', '.join(allowed)}.")
        return cls(
            tuple(checks),
            _fraction(overrides, "consistency_threshold", config.consistency_threshold),
            _fraction(overrides, "logprob_threshold", config.logprob_threshold),
            _fraction(overrides, "verifier_threshold", config.verifier_threshold),
            cap,
            config.sample_temperature,
        )


def _fraction(overrides: Mapping[str, Any], key: str, default: float) -> float:
    value = overrides.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"metadata.{OVERRIDES_KEY}.{key}", value, "Use a number between 0 and 1.")
    return float(value)


def overrides_of(request: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request's ``metadata.router`` mapping (empty when absent)."""
    metadata = request.get("metadata")
    raw = metadata.get(OVERRIDES_KEY) if isinstance(metadata, Mapping) else None
    return raw if isinstance(raw, Mapping) else {}


def cascade_requested(config: CascadeConfig, request: Mapping[str, Any]) -> bool:
    """Whether this request cascades: ``metadata.router.cascade`` if given, else ``cascade.enabled``.

    A stream cannot be checked before it is sent: it cascades only when asked explicitly, and then
    it is refused (``ConfigError``)."""
    asked = overrides_of(request).get("cascade")
    if asked is not None and not isinstance(asked, bool):
        raise ConfigError(f"metadata.{OVERRIDES_KEY}.cascade", asked, "Use true or false.")
    if request.get("stream"):
        if asked:
            raise ConfigError("stream", True, "A cascade checks whole answers; send stream: false to cascade.")
        return False
    return bool(config.enabled if asked is None else asked)


# -- the cost cap ------------------------------------------------------------------------------
@dataclass(slots=True)
class CostCap:
    """``max_cost_usd`` of one request: charged so far, plus the worst case of calls in flight."""

    limit: float | None
    spent: float = 0.0
    outstanding: float = 0.0

    def available(self) -> float:
        """What a new call may still cost."""
        return math.inf if self.limit is None else self.limit - self.spent - self.outstanding

    def take(self, estimate: float) -> bool:
        """Reserve ``estimate`` if it fits."""
        if estimate > self.available() + 1e-12:
            return False
        self.outstanding += estimate
        return True

    def release(self, estimate: float, charged: float) -> None:
        """A call ended: drop its reservation and count what it was charged."""
        self.outstanding -= estimate
        self.spent += charged


class CapReached(RouterPluginError):
    """No deployment of the tier fits what is left of ``max_cost_usd``: the call is not made."""

    def __init__(self, tier: str, available: float, cheapest: float) -> None:
        self.tier = tier
        self.available = available
        self.cheapest = cheapest
        super().__init__(
            f"max_cost_usd: the {tier} tier's cheapest call may cost ${cheapest:.6f}, "
            f"${max(available, 0):.6f} is left of the cap"
        )


class TierFailed(RouterPluginError):
    """Every deployment of a tier failed (errors, open breakers); ``cause`` is the last error."""

    def __init__(self, tier: str, cause: BaseException) -> None:
        self.tier = tier
        self.cause = cause
        super().__init__(f"tier {tier} failed: {type(cause).__name__}: {cause}")


def is_transient(error: BaseException) -> bool:
    """429, 5xx, timeouts and connection errors of a provider (never our own refusals)."""
    return not isinstance(error, RouterPluginError) and counts_as_failure(error)
