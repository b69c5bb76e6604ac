"""What every section of the configuration shares: strict frozen models, durations, the override key."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

OVERRIDES_KEY = "router"
"""Request metadata key of our per-request settings: ``{"tier", "min_tier", "max_tier", "cascade",
"max_cost_usd", "user", ...}``."""


class ConfigWarning(UserWarning):
    """A valid setting that is probably not what was meant (``daily: 0``, ``per_request`` above ``daily``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_SECONDS = 86_400.0
"""Upper bound of every duration setting: a day. Durations become integer milliseconds in the store."""


def _seconds(value: float | None, *, allow_zero: bool = False) -> float | None:
    """A duration must be a finite number of seconds within (0, a day]; ``.inf`` would overflow later."""
    if value is None:
        return None
    low_ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and low_ok and value <= MAX_SECONDS):
        raise ValueError(
            f"must be a finite number of seconds, {'0' if allow_zero else 'above 0'} to {MAX_SECONDS:.0f} "
            "(a day); write e.g. 30"
        )
    return value


_PRICE_KEYS = ("input_cost_per_token", "output_cost_per_token")
