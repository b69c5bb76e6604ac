"""Model versions: a candidate compared with the current model, its tier thresholds, and the registry.

A version is a ``TrafficModel`` with the tier thresholds re-calibrated for it (so each tier keeps its
share of traffic) and the figures that decided it. Versions live in the store; the current one is
the head of the promotion history, which every worker reads before its requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from litellm_router_plugin.classify.traffic import DENSE, TrafficModel
from litellm_router_plugin.learning.fit import apgr, cross_validated_apgr, fit
from litellm_router_plugin.learning.outcomes import Outcome
from litellm_router_plugin.routing.thresholds import thresholds_for_shares, tier_index
from litellm_router_plugin.state.learning import LearningState

HEURISTIC = DENSE.index("heuristic_strength")
"""Index of the heuristic's strength among the features' dense values: the baseline's score when no
learned model is current (the configured classifier cannot be re-run on hashed features)."""


@dataclass(frozen=True, slots=True)
class Version:
    """A stored model version: the model, its thresholds (one per tier boundary) and how it was decided."""

    model: TrafficModel
    thresholds: list[float] | None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The model's own version (a checksum of its content)."""
        return self.model.version

    def to_body(self) -> str:
        """The stored form."""
        return json.dumps({"model": self.model.to_json(), "thresholds": self.thresholds, "info": self.info})

    @classmethod
    def from_body(cls, body: str) -> Version:
        """Read the stored form back; ``ValueError`` when it is not a version."""
        data = json.loads(body)
        thresholds = data.get("thresholds")
        return cls(TrafficModel.from_json(data["model"]), thresholds, dict(data.get("info") or {}))


@dataclass(frozen=True, slots=True)
class Comparison:
    """Candidate against current: cross-validated APGR of the candidate, APGR of the current model."""

    candidate_apgr: float
    current_apgr: float
    current: str
    """The current model's version, or ``heuristic`` when none is learned yet."""
    margin: float
    outcomes: int

    @property
    def promote(self) -> bool:
        """Whether the candidate beats the current model by the margin."""
        return self.candidate_apgr >= self.current_apgr + self.margin

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the version's info and the log."""
        return {
            "candidate_apgr": round(self.candidate_apgr, 4),
            "current_apgr": round(self.current_apgr, 4),
            "compared_with": self.current,
            "margin": self.margin,
            "outcomes": self.outcomes,
            "promote": self.promote,
        }


def labelled(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Outcomes with both answers rated (those APGR can use)."""
    return [o for o in outcomes if o.weak is not None and o.strong is not None]


def compare(
    outcomes: Sequence[Outcome], current: TrafficModel | None, *, folds: int, margin: float, seed: int = 0
) -> Comparison:
    """The candidate's cross-validated APGR (trained from ``current``) against the current model's APGR
    on the same outcomes (the heuristic's strength when no model is current)."""
    rated = labelled(outcomes)
    candidate = cross_validated_apgr(outcomes, folds=folds, base=current, seed=seed)
    scores = [current.raw_of(o.features) if current is not None else o.features.dense[HEURISTIC] for o in rated]
    now = apgr(scores, rated)
    return Comparison(candidate, now, current.version if current is not None else "heuristic", margin, len(rated))


def shares_of(strengths: Sequence[float], thresholds: Sequence[float]) -> list[float]:
    """The share of ``strengths`` each tier receives under ``thresholds``."""
    counts = [0] * (len(thresholds) + 1)
    for s in strengths:
        counts[tier_index(s, thresholds)] += 1
    return [c / len(strengths) for c in counts]


def recalibrate(
    model: TrafficModel,
    outcomes: Sequence[Outcome],
    *,
    shares: Sequence[float] | None,
    current: Version | None,
    thresholds: Sequence[float] | None,
) -> list[float] | None:
    """Thresholds giving each tier its share under ``model``: ``shares`` when configured, else the
    shares the current model and thresholds give on the same outcomes; ``None`` when neither is known."""
    features = [o.features for o in outcomes]
    if shares is None and current is not None and current.thresholds:
        shares = shares_of([current.model.strength_of(f) for f in features], current.thresholds)
    elif shares is None and thresholds:
        shares = shares_of([f.dense[HEURISTIC] for f in features], thresholds)
    if shares is None or not features:
        return None
    return [round(t, 9) for t in thresholds_for_shares([model.strength_of(f) for f in features], shares)]


def train(
    outcomes: Sequence[Outcome],
    current: Version | None,
    *,
    folds: int,
    margin: float,
    shares: Sequence[float] | None,
    thresholds: Sequence[float] | None,
) -> tuple[Version, Comparison]:
    """A candidate version trained on ``outcomes`` (CPU-bound: run it in a thread) and its comparison."""
    base = current.model if current is not None else None
    comparison = compare(outcomes, base, folds=folds, margin=margin)
    model = fit(outcomes, base=base)
    cut = recalibrate(model, outcomes, shares=shares, current=current, thresholds=thresholds)
    info = {"created": round(time.time(), 3), **comparison.as_dict()}
    return Version(model, cut, info), comparison


class Registry:
    """Model versions in the store: publish, promote, roll back, list."""

    def __init__(self, state: LearningState) -> None:
        self.state = state

    async def publish(self, version: Version) -> None:
        """Store a version (every worker can then promote or adopt it)."""
        await self.state.put_model(version.version, version.to_body())

    async def get(self, version: str) -> Version | None:
        """A stored version."""
        body = await self.state.model(version)
        return Version.from_body(body) if body is not None else None

    async def current(self) -> Version | None:
        """The current version (``None``: the configured classifier routes)."""
        name = await self.state.current()
        return await self.get(name) if name is not None else None

    async def promote(self, version: str) -> tuple[str, str | None]:
        """Make ``version`` current: ``('ok' | 'unknown' | 'current', previous)``."""
        return await self.state.promote(version)

    async def rollback(self) -> tuple[str | None, str | None]:
        """Back to the version promoted before the current one: ``(dropped, now current)``."""
        return await self.state.rollback()

    async def listing(self) -> list[dict[str, Any]]:
        """Every stored version with its figures, newest first; ``current`` marks the one in use."""
        history = await self.state.history()
        rows = []
        for name, body in (await self.state.models()).items():
            stored = Version.from_body(body)
            fitted = {k: stored.model.meta[k] for k in ("candidate", "penalty") if k in stored.model.meta}
            rows.append({"version": name, "current": bool(history) and history[0] == name, **fitted, **stored.info})
        return sorted(rows, key=lambda r: -float(r.get("created", 0)))
