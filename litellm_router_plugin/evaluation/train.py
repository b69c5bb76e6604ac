"""Training of the learned classifier (numpy, at train time only): ``litellm-router train``.

Recipe (deterministic, no random state at all): the features of ``classify/learned.py``; target the
accuracy gained by the strong model, ``strong_correct - weak_correct`` (-1, 0 or 1); ridge regression
of the target on the standardised, clipped structural features, solved in closed form, each subject
weighted by 1/sqrt(its size) so a few large subjects do not decide everything. Served:
``z(ridge score) + heuristic_weight * z(heuristic strength)``, folded into one linear model; weights
rounded to 6 significant digits so the file is the same on any machine whose float arithmetic agrees
to 1e-6. The default training set is the development subjects of the shipped MMLU data (the held-out
subjects of the benchmark are never used).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litellm_router_plugin.classify.learned import CLIP, FEATURES, FORMAT, LearnedModel, features
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.evaluation.routing_bench import Sample

DATA_FAULTS = ("high_school_mathematics",)
"""Subjects left out of training: in RouteLLM's MMLU outcomes GPT-4 scores 3% on high-school
mathematics (against 32% for the weak model), a grading fault in the source data, not difficulty."""


@dataclass(frozen=True, slots=True)
class TrainParams:
    """The recipe's knobs (defaults: the ones chosen on subject-grouped folds, see README)."""

    l2: float = 0.03
    """Ridge penalty on the standardised structural features (subject weights sum to 1)."""
    heuristic_weight: float = 0.2
    """Weight of the standardised heuristic strength beside the standardised ridge score."""
    quantiles: int = 101
    exclude_subjects: tuple[str, ...] = DATA_FAULTS


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy comes with litellm's dependencies
        raise ConfigError(
            "train", "numpy", "Install the train extra: pip install 'litellm-router-plugin[train]'."
        ) from exc
    return numpy


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def featurise(prompts: Sequence[str]) -> Any:
    """The feature matrix of ``prompts`` (the same function the classifier runs at serving time)."""
    np = _numpy()
    return np.array([features(p) for p in prompts], dtype=np.float64).reshape(len(prompts), len(FEATURES))


def fit(samples: Sequence[Sample], params: TrainParams = TrainParams(), matrix: Any = None) -> dict[str, Any]:
    """Train on ``samples`` (``matrix``: their features, if already computed); returns the model file's content."""
    np = _numpy()
    keep = [i for i, s in enumerate(samples) if s.group not in params.exclude_subjects]
    if len(keep) < 10:
        raise ConfigError("train", len(keep), "Train on at least 10 samples.")
    used = [samples[i] for i in keep]
    x = (matrix if matrix is not None else featurise([s.prompt for s in samples]))[keep]
    y = np.array([float(s.strong) - float(s.weak) for s in used])
    sizes = Counter(s.group for s in used)
    weight = np.array([1.0 / math.sqrt(sizes[s.group]) for s in used])
    weight = weight / weight.sum()
    # Rounded as in the file, so training sees exactly the features serving computes.
    mean = np.array([_round(m) for m in weight @ x])
    scale = np.sqrt(weight @ (x - mean) ** 2)
    scale = np.array([_round(s) if s > 1e-12 else 1.0 for s in scale])
    z = np.clip((x - mean) / scale, -CLIP, CLIP)

    # Ridge on the structural features (all but the heuristic, which joins afterwards at a fixed weight).
    design = np.hstack([z[:, 1:], np.ones((len(used), 1))])
    penalty = np.diag([params.l2] * (design.shape[1] - 1) + [0.0])
    coef = np.linalg.solve(design.T @ (design * weight[:, None]) + penalty, design.T @ (weight * y))
    ridge = design @ coef
    sd = float(ridge.std()) or 1.0
    weights = [params.heuristic_weight, *(coef[:-1] / sd)]
    # z(ridge) + w * z(heuristic): the heuristic's z is (x0 - mean0) / scale0, so its weight is w itself.
    bias = (float(coef[-1]) - float(ridge.mean())) / sd
    model: dict[str, Any] = {
        "format": FORMAT,
        "features": list(FEATURES),
        "mean": [float(m) for m in mean],
        "scale": [float(s) for s in scale],
        "weights": [_round(w) for w in weights],
        "bias": _round(bias),
        "quantiles": [0.0, 1.0],
        "meta": {
            "target": "strong_correct - weak_correct",
            "samples": len(used),
            "subjects": sorted(sizes),
            "params": {k: getattr(params, k) for k in TrainParams.__slots__},
        },
    }
    # Quantiles of the served (rounded) model's raw scores over the training prompts.
    served = LearnedModel.from_dict(model)
    raws = sorted(served.raw(s.prompt) for s in used)
    last = params.quantiles - 1
    model["quantiles"] = [_round(raws[round(i * (len(raws) - 1) / last)]) for i in range(params.quantiles)]
    return model


def write_model(model: dict[str, Any], path: str | Path) -> Path:
    """Write ``model`` as canonical JSON (sorted keys) to ``path``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    return out
