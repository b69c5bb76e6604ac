"""A cascade's per-request settings (config and client overrides), its cost cap, and the errors that
end a step."""

from __future__ import annotations

import math
from dataclasses import dataclass

from litellm_router_plugin.config import CascadeConfig, CheckName, RequestOverrides
from litellm_router_plugin.errors import ConfigError, RouterPluginError
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
    def of(cls, config: CascadeConfig, overrides: RequestOverrides) -> Settings:
        """``config`` with a request's overrides (``max_cost_usd`` may only lower the configured cap)."""
        cap, asked = config.max_cost_usd, overrides.max_cost_usd
        if asked is not None:
            cap = asked if cap is None else min(cap, asked)
        return cls(
            overrides.checks if overrides.checks is not None else tuple(config.checks),
            _or(overrides.consistency_threshold, config.consistency_threshold),
            _or(overrides.logprob_threshold, config.logprob_threshold),
            _or(overrides.verifier_threshold, config.verifier_threshold),
            cap,
            config.sample_temperature,
        )


def _or(value: float | None, default: float) -> float:
    return float(value if value is not None else default)


def cascade_requested(config: CascadeConfig, overrides: RequestOverrides, stream: bool) -> bool:
    """Whether a request for the alias cascades: ``metadata.router.cascade`` if given, else ``cascade.enabled``.

    A stream cannot be checked before it is sent: it cascades only when asked explicitly, and then
    it is refused (``ConfigError``)."""
    asked = overrides.cascade
    if stream:
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
