"""RouteLLM's routing-quality metric: accuracy against the share of strong calls, PGR, APGR, CPT.

Each labelled item has the quality (0-1) of the weak and of the strong answer. A router scores each
item (higher: needs the strong model); sweeping its threshold traces quality against the share of
strong calls. PGR = (quality - weak) / (strong - weak); APGR is the area under PGR over the strong
share (random routing scores 0.5); CPT(x) is the strong share needed to reach PGR x. Ties between
scores move together and are interpolated linearly: exactly the mean over random tie-breaks.
(Moved here from ``evaluation/routing_bench.py`` so training code below the evaluation layer uses
the same code; ``routing_bench`` re-exports it.)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Labelled(Protocol):
    """Anything with the quality of the weak and of the strong answer (bools count as 0/1)."""

    @property
    def weak(self) -> float:
        """Quality of the cheaper answer, 0-1."""
        ...

    @property
    def strong(self) -> float:
        """Quality of the stronger answer, 0-1."""
        ...


@dataclass(frozen=True, slots=True)
class Point:
    """A point of the curve: share of strong calls and the accuracy it buys."""

    strong_share: float
    accuracy: float


def accuracy(samples: Sequence[Labelled], strong: Sequence[bool]) -> float:
    """Accuracy when ``strong[i]`` says which items go to the strong model."""
    return sum(s.strong if go else s.weak for s, go in zip(samples, strong, strict=True)) / len(samples)


def curve(samples: Sequence[Labelled], scores: Sequence[float]) -> list[Point]:
    """Accuracy against strong share as the threshold sweeps from above every score to below every one."""
    n = len(samples)
    order = sorted(range(n), key=lambda i: -scores[i])
    correct = float(sum(s.weak for s in samples))
    points = [Point(0.0, correct / n)]
    i = 0
    while i < n:
        j = i
        while j < n and scores[order[j]] == scores[order[i]]:  # a tie moves together
            s = samples[order[j]]
            correct += s.strong - s.weak
            j += 1
        points.append(Point(j / n, correct / n))
        i = j
    return points


def pgr(acc: float, weak: float, strong: float) -> float:
    """Performance gap recovered."""
    return (acc - weak) / (strong - weak)


def apgr(points: Sequence[Point], weak: float, strong: float) -> float:
    """Area under PGR over the strong share (trapezoids: ties interpolate linearly)."""
    area = 0.0
    for a, b in itertools.pairwise(points):
        mean_pgr = (pgr(a.accuracy, weak, strong) + pgr(b.accuracy, weak, strong)) / 2
        area += (b.strong_share - a.strong_share) * mean_pgr
    return area


def cpt(points: Sequence[Point], target: float, weak: float, strong: float) -> float:
    """The smallest strong share reaching PGR ``target`` (1.0 if never reached before all-strong)."""
    first = pgr(points[0].accuracy, weak, strong)
    if first >= target:
        return points[0].strong_share
    for a, b in itertools.pairwise(points):
        pa, pb = pgr(a.accuracy, weak, strong), pgr(b.accuracy, weak, strong)
        if pb >= target:
            return a.strong_share + (b.strong_share - a.strong_share) * (target - pa) / (pb - pa)
    return 1.0


def apgr_of(samples: Sequence[Labelled], scores: Sequence[float]) -> float:
    """APGR of ``scores`` on ``samples``; ``ValueError`` when weak and strong score alike (no gap)."""
    weak = sum(s.weak for s in samples) / len(samples)
    strong = sum(s.strong for s in samples) / len(samples)
    if strong == weak:
        raise ValueError("weak and strong answers score alike on these items: there is no gap to recover")
    return apgr(curve(samples, scores), weak, strong)
