"""Strength -> tier: per-boundary thresholds on a classifier's continuous strength (pure functions).

``tier_thresholds`` holds one strength per boundary between consecutive tiers, ascending: a prompt
whose strength is below ``t[0]`` goes to the cheapest tier, one at or above ``t[i - 1]`` and below
``t[i]`` to tier ``i``, one at or above ``t[-1]`` to the strongest. ``litellm-router calibrate``
finds them on a sample of prompts, for a wanted share of traffic per tier or a cost cap.
The older ``strong_threshold`` (one boundary: strongest tier or not) keeps its meaning.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

from litellm_router_plugin.errors import ConfigError


def tier_index(strength: float, thresholds: Sequence[float]) -> int:
    """Index of the tier (0 = cheapest) that ``strength`` falls in."""
    return bisect.bisect_right(thresholds, strength)


def strength_route(
    strength: float, category_rank: int, tiers: int, *, thresholds: Sequence[float] | None, strong: float | None
) -> tuple[int, str] | None:
    """The tier rank the thresholds choose and why, or ``None`` when no threshold applies."""
    if tiers < 2:
        return None
    if thresholds:
        rank = tier_index(strength, thresholds)
        return rank, f"strength {strength:.2f} in tier band {rank} of {len(thresholds) + 1}"
    if strong is not None:
        if strength >= strong:
            return tiers - 1, f"strength {strength:.2f} >= threshold {strong:g}"
        if category_rank == tiers - 1:
            return tiers - 2, f"strength {strength:.2f} < threshold {strong:g}"
    return None


def _cut(ordered: Sequence[float], k: int) -> float:
    """A threshold sending the ``k`` highest of ``ordered`` (descending) up: between the k-th and (k+1)-th."""
    n = len(ordered)
    if k <= 0:
        return ordered[0] + 1.0
    if k >= n:
        return ordered[-1]
    upper, lower = ordered[k - 1], ordered[k]
    return (upper + lower) / 2 if upper != lower else upper


def thresholds_for_shares(strengths: Sequence[float], shares: Sequence[float]) -> list[float]:
    """Thresholds sending ``shares[i]`` of ``strengths`` to tier ``i`` (cheapest first; shares sum to 1)."""
    if not strengths:
        raise ConfigError("sample", 0, "Calibrate on at least one prompt.")
    if len(shares) < 2 or any(not 0 <= s <= 1 or math.isnan(s) for s in shares) or abs(sum(shares) - 1) > 1e-6:
        raise ConfigError("tier_shares", list(shares), "Give one share per tier, each 0-1, summing to 1.")
    ordered = sorted(strengths, reverse=True)
    n = len(ordered)
    cuts = []
    above = 0.0
    # Boundary i (between tier i and i+1) sends everything of tiers i+1.. up: the top share above it.
    for share in reversed(shares[1:]):
        above += share
        cuts.append(_cut(ordered, round(above * n)))
    thresholds = list(reversed(cuts))
    for i in range(1, len(thresholds)):  # equal strengths can make neighbours cross; keep them ascending
        thresholds[i] = max(thresholds[i], thresholds[i - 1])
    return thresholds


def shares_for_cost_cap(
    tiers: int, cost_of: Callable[[Sequence[float]], float], cap: float, *, steps: int = 1000
) -> list[float]:
    """The largest share ``f`` of traffic above the cheapest tier, spread evenly over the others, within ``cap``.

    ``cost_of(shares)`` is the expected cost per 1,000 requests of a share vector; cost grows with ``f``.
    """
    if not cap > 0 or math.isnan(cap):
        raise ConfigError("max_cost_per_1k_requests", cap, "Give a positive amount in USD.")

    def shares(f: float) -> list[float]:
        return [1 - f] + [f / (tiers - 1)] * (tiers - 1)

    best = 0
    for i in range(steps + 1):
        if cost_of(shares(i / steps)) <= cap:
            best = i
    return shares(best / steps)
