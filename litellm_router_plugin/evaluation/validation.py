"""How well routers carry over to subjects they never saw: subject-grouped folds and random subject draws.

The closing figure of the benchmark is one fixed draw of held-out subjects, and one draw is noisy
(a single large subject can decide it). These figures retrain the learned classifier without the
subjects it is measured on, every time:

- ``folds``: the development subjects in 5 subject-grouped folds (the folds every choice was made
  on); each fold is scored by a model trained on the other four; APGR per fold (mean) and over all
  out-of-fold scores pooled.
- ``draws``: ``n`` random draws of 12 subjects out of all of them (held-out subjects included); each
  draw is scored by a model trained on the remaining subjects; mean APGR, its 10th-90th percentiles,
  and how often each router scores at least as well as LiteLLM's default complexity router.

Fixed scorers (the heuristic, LiteLLM's routers, prompt length) are not retrained: the heuristic's
weights were chosen on the development folds, so on them it is in-sample for that choice.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litellm_router_plugin.evaluation.baselines import FINAL_SUBJECTS, subject_folds, subject_split
from litellm_router_plugin.evaluation.routing_bench import Sample, accuracy, apgr, cpt, curve
from litellm_router_plugin.evaluation.train import DATA_FAULTS, TrainParams, featurise, fit

LEARNED = "learned (ours, retrained without the measured subjects)"
REFERENCE = "LiteLLM complexity_router (default heuristic)"
DEFAULT_PARAMS = TrainParams()


@dataclass(frozen=True, slots=True)
class Figure:
    """One router's figures over several splits."""

    name: str
    apgr: float
    """Mean over splits."""
    apgr_low: float
    """Folds: the pooled APGR; draws: the 10th percentile."""
    apgr_high: float
    """Folds: unused (same as pooled); draws: the 90th percentile."""
    cpt50: float
    """Folds: pooled CPT(50%); draws: mean CPT(50%)."""
    at_least_reference: float | None = None
    """Draws: share of draws at least as good as LiteLLM's default router on APGR."""


def _measure(samples: Sequence[Sample], scores: Sequence[float]) -> tuple[float, float]:
    weak = accuracy(samples, [False] * len(samples))
    strong = accuracy(samples, [True] * len(samples))
    points = curve(samples, scores)
    return apgr(points, weak, strong), cpt(points, 0.5, weak, strong)


class _Learned:
    """Retrains the learned classifier on any subset, from features computed once."""

    def __init__(self, samples: Sequence[Sample], params: TrainParams) -> None:
        from litellm_router_plugin.classify.learned import LearnedModel

        self.samples, self.params, self._model = samples, params, LearnedModel
        self.matrix = featurise([s.prompt for s in samples])

    def scores(self, train: Sequence[int], test: Sequence[int]) -> list[float]:
        model = self._model.from_dict(fit([self.samples[i] for i in train], self.params, self.matrix[list(train)]))
        return [model.raw_from(list(self.matrix[i]), self.samples[i].prompt.strip()) for i in test]


def _usable(samples: Sequence[Sample]) -> list[Sample]:
    return [s for s in samples if s.group not in DATA_FAULTS]


def fold_figures(
    samples: Sequence[Sample], scorers: Mapping[str, Callable[[str], float]], params: TrainParams = DEFAULT_PARAMS
) -> list[Figure]:
    """Out-of-fold figures on the development subjects (the benchmark's held-out subjects left out)."""
    # Split and fold first, drop the data-fault subject after: the folds stay those every choice was made on.
    dev, _ = subject_split(samples, lambda s: s.group)
    fold_of = dict(zip(map(id, dev), subject_folds([s.group for s in dev]), strict=True))
    dev = _usable(dev)
    members: dict[int, list[int]] = {}
    for i, s in enumerate(dev):
        members.setdefault(fold_of[id(s)], []).append(i)
    learned = _Learned(dev, params)
    oof = [0.0] * len(dev)
    for k, test in members.items():
        train = [i for other, idx in members.items() if other != k for i in idx]
        for i, score in zip(test, learned.scores(train, test), strict=True):
            oof[i] = score
    columns = {LEARNED: oof, **{name: [scorer(s.prompt) for s in dev] for name, scorer in scorers.items()}}
    figures = []
    for name, scores in columns.items():
        per_fold = [_measure([dev[i] for i in idx], [scores[i] for i in idx])[0] for idx in members.values()]
        pooled, pooled_cpt = _measure(dev, scores)
        figures.append(Figure(name, statistics.fmean(per_fold), pooled, pooled, pooled_cpt))
    return figures


def draw_figures(
    samples: Sequence[Sample],
    scorers: Mapping[str, Callable[[str], float]],
    *,
    draws: int = 50,
    seed: int = 0,
    params: TrainParams = DEFAULT_PARAMS,
) -> list[Figure]:
    """Figures over ``draws`` random draws of 12 subjects, the learned classifier retrained without them."""
    usable = _usable(samples)
    groups = sorted({s.group for s in usable})
    learned = _Learned(usable, params)
    fixed = {name: [scorer(s.prompt) for s in usable] for name, scorer in scorers.items()}
    rng = random.Random(seed)
    results: dict[str, list[tuple[float, float]]] = {LEARNED: [], **{name: [] for name in fixed}}
    for _ in range(draws):
        held = set(rng.sample(groups, FINAL_SUBJECTS))
        test = [i for i, s in enumerate(usable) if s.group in held]
        train = [i for i, s in enumerate(usable) if s.group not in held]
        measured = [usable[i] for i in test]
        results[LEARNED].append(_measure(measured, learned.scores(train, test)))
        for name, scores in fixed.items():
            results[name].append(_measure(measured, [scores[i] for i in test]))
    reference = [a for a, _ in results.get(REFERENCE, [])]
    figures = []
    for name, runs in results.items():
        apgrs = sorted(a for a, _ in runs)
        wins = sum(a >= r for (a, _), r in zip(runs, reference, strict=True)) / draws if reference else None
        figures.append(
            Figure(
                name,
                statistics.fmean(apgrs),
                apgrs[int(0.1 * (draws - 1))],
                apgrs[int(0.9 * (draws - 1))],
                statistics.fmean(c for _, c in runs),
                wins,
            )
        )
    return figures


def markdown(kind: str, figures: Sequence[Figure], detail: str) -> str:
    """The figures as a Markdown table (``kind``: folds or draws)."""
    if kind == "folds":
        head = ["| router | APGR, mean of 5 folds | APGR, pooled | CPT(50%), pooled |", "|---|---|---|---|"]
        rows = [f"| {f.name} | {f.apgr:.3f} | {f.apgr_low:.3f} | {f.cpt50:.1%} |" for f in figures]
    else:
        head = [
            "| router | APGR, mean | APGR, 10th-90th pct | CPT(50%), mean | draws >= LiteLLM default |",
            "|---|---|---|---|---|",
        ]
        rows = [
            f"| {f.name} | {f.apgr:.3f} | {f.apgr_low:.3f}-{f.apgr_high:.3f} | {f.cpt50:.1%} | "
            f"{'' if f.at_least_reference is None else f'{f.at_least_reference:.0%}'} |"
            for f in figures
        ]
    return "\n".join([detail, "", *head, *rows])


def as_dicts(figures: Sequence[Figure]) -> list[dict[str, Any]]:
    """Plain data for the JSON results."""
    return [
        {k: getattr(f, k) for k in ("name", "apgr", "apgr_low", "apgr_high", "cpt50", "at_least_reference")}
        for f in figures
    ]
