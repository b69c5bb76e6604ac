"""Training of the learned classifier (numpy, at train time only): ``litellm-router train``.

Recipe (deterministic, no random state at all): features as in ``classify/learned.py``; target the
accuracy gained by the strong model, ``strong_correct - weak_correct`` (-1, 0 or 1); weighted least
squares with L2 penalties, each subject weighted by 1/sqrt(its size) so a few large subjects do not
decide everything; full-batch Adam from zero for a fixed number of steps; weights rounded to 6
significant digits so the file is the same on any machine whose float arithmetic agrees to 1e-6.
The default training set is the development subjects of the shipped MMLU data (the held-out
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

from litellm_router_plugin.classify.learned import (
    CLIP,
    DENSE_FEATURES,
    FORMAT,
    LearnedModel,
    dense_features,
    encode_weights,
    hashed_features,
)
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.evaluation.routing_bench import Sample


@dataclass(frozen=True, slots=True)
class TrainParams:
    """The recipe's knobs (defaults: the ones chosen on subject-grouped folds, see README)."""

    hash_dim: int = 1 << 14
    l2_hashed: float = 1e-3
    l2_dense: float = 1e-3
    steps: int = 300
    learning_rate: float = 0.01
    balance_subjects: bool = True
    use_hashed: bool = True
    quantiles: int = 101
    within_subject: bool = True
    """Centre the target within each subject: learn what makes a prompt harder than its neighbours,
    not which subjects are hard (which does not carry over to unseen subjects)."""
    ensemble_weight: float | None = 0.3
    """Serve ``z(heuristic strength) + ensemble_weight * z(learned score)`` (z: standardised on the
    training prompts); ``None`` serves the learned score alone. The heuristic orders subjects and
    kinds of request, the learned part orders prompts within them."""


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


@dataclass
class Features:
    """A feature matrix: dense rows and the hashed part in compressed sparse rows."""

    dense: Any
    index: Any
    value: Any
    row: Any
    rows: int


def featurise(prompts: Sequence[str], hash_dim: int) -> Features:
    """Features of every prompt (the same functions the classifier runs at serving time)."""
    np = _numpy()
    dense = np.array([dense_features(p) for p in prompts], dtype=np.float64).reshape(len(prompts), len(DENSE_FEATURES))
    hashed = [hashed_features(p, hash_dim) for p in prompts]
    lengths = [len(h) for h in hashed]
    index = np.fromiter((k for h in hashed for k in h), dtype=np.int64, count=sum(lengths))
    value = np.fromiter((v for h in hashed for v in h.values()), dtype=np.float64, count=sum(lengths))
    row = np.repeat(np.arange(len(prompts), dtype=np.int64), lengths)
    return Features(dense, index, value, row, len(prompts))


def fit(
    samples: Sequence[Sample], params: TrainParams = TrainParams(), features: Features | None = None
) -> dict[str, Any]:
    """Train on ``samples``; returns the model file's content (a JSON-ready dict)."""
    np = _numpy()
    if len(samples) < 10:
        raise ConfigError("train", len(samples), "Train on at least 10 samples.")
    feats = features if features is not None else featurise([s.prompt for s in samples], params.hash_dim)
    n, dim = feats.rows, params.hash_dim
    y = np.array([float(s.strong) - float(s.weak) for s in samples])
    if params.within_subject:
        groups = [s.group for s in samples]
        totals: dict[str, list[float]] = {}
        for g, target in zip(groups, y, strict=True):
            totals.setdefault(g, []).append(float(target))
        y = y - np.array([sum(totals[g]) / len(totals[g]) for g in groups])
    if params.balance_subjects:
        sizes = Counter(s.group for s in samples)
        weight = np.array([1.0 / math.sqrt(sizes[s.group]) for s in samples])
    else:
        weight = np.ones(n)
    weight = weight / weight.sum()
    mean = feats.dense.mean(axis=0)
    scale = feats.dense.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    # Rounded as in the file, so training sees exactly the features serving computes.
    mean = np.array([_round(m) for m in mean])
    scale = np.array([_round(s) for s in scale])
    z_dense = (feats.dense - mean) / scale
    z_dense[:, 1:] = np.clip(z_dense[:, 1:], -CLIP, CLIP)  # as LearnedModel.raw: all but the heuristic

    w_dense = np.zeros(z_dense.shape[1])
    w_hash = np.zeros(dim)
    bias = float(np.dot(weight, y))
    moments = [[np.zeros_like(w_dense), np.zeros_like(w_dense)], [np.zeros(dim), np.zeros(dim)], [0.0, 0.0]]
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def predict(wd: Any, wh: Any, b: float) -> Any:
        out = z_dense @ wd + b
        if params.use_hashed:
            out = out + np.bincount(feats.row, weights=feats.value * wh[feats.index], minlength=n)
        return out

    for step in range(1, params.steps + 1):
        residual = (predict(w_dense, w_hash, bias) - y) * weight
        grads = [
            z_dense.T @ residual + params.l2_dense * w_dense,
            (
                np.bincount(feats.index, weights=feats.value * residual[feats.row], minlength=dim)
                + params.l2_hashed * w_hash
            )
            if params.use_hashed
            else np.zeros(dim),
            float(residual.sum()),
        ]
        for k, grad in enumerate(grads):
            m, v = moments[k]
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            moments[k] = [m, v]
            update = params.learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
            if k == 0:
                w_dense = w_dense - update
            elif k == 1:
                w_hash = w_hash - update
            else:
                bias = bias - float(update)

    if params.ensemble_weight is not None:
        # One linear model again: alpha * (learned - mu) / sigma, plus the standardised heuristic.
        learned = predict(w_dense, w_hash, bias)
        mu, sigma = float(learned.mean()), float(learned.std()) or 1.0
        alpha = params.ensemble_weight / sigma
        w_dense, w_hash, bias = w_dense * alpha, w_hash * alpha, (bias - mu) * alpha
        w_dense[DENSE_FEATURES.index("heuristic_strength")] += 1.0
    rounded_dense = [_round(w) for w in w_dense]
    rounded_hash = encode_weights([_round(w) for w in w_hash])
    model: dict[str, Any] = {
        "format": FORMAT,
        "dense_features": list(DENSE_FEATURES),
        "hash_dim": dim,
        "dense_mean": [_round(m) for m in mean],
        "dense_scale": [_round(s) for s in scale],
        "dense_weights": rounded_dense,
        "hashed_weights": rounded_hash,
        "bias": _round(bias),
        "quantiles": [0.0, 1.0],
        "meta": {
            "target": "strong_correct - weak_correct",
            "samples": n,
            "subjects": sorted({s.group for s in samples}),
            "params": {k: getattr(params, k) for k in TrainParams.__slots__},
        },
    }
    # Quantiles of the served (rounded) model's raw scores over the training prompts.
    served = LearnedModel.from_dict(model)
    raws = sorted(served.raw(s.prompt) for s in samples)
    last = params.quantiles - 1
    model["quantiles"] = [_round(raws[round(i * (len(raws) - 1) / last)]) for i in range(params.quantiles)]
    return model


def write_model(model: dict[str, Any], path: str | Path) -> Path:
    """Write ``model`` as canonical JSON (sorted keys, one line per weight list) to ``path``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    return out
