"""Training of a ``TrafficModel`` from outcomes (numpy, deterministic, seconds), and APGR to compare models.

Recipe: target the quality the stronger answer adds, ``strong - weak`` (a missing side: that side's
mean). Features: the prompt's TF-IDF over hashed words and word pairs (each row of
unit length), the dense cues standardised, and the base model's score (the prior: with few labels
the base carries the ranking, with many the n-grams take over). One ridge regression, solved by
preconditioned conjugate gradients on the sparse rows; the penalty is chosen by internal
cross-validated APGR on a seeded split. The base's weights are folded into the result, so the served
model is one linear model whatever its ancestry.
"""

from __future__ import annotations

import json
import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from litellm_router_plugin.classify.traffic import DENSE, FEATURISER, TrafficModel
from litellm_router_plugin.learning.metric import apgr_of
from litellm_router_plugin.learning.outcomes import Outcome

PENALTIES = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
"""Ridge penalties tried by internal cross-validation (the n-gram rows have unit length)."""
INNER_FOLDS = 3
QUANTILES = 101
MIN_OUTCOMES = 10


class _Pair(NamedTuple):
    weak: float
    strong: float


def _numpy() -> Any:
    import numpy  # train time only; a litellm dependency

    return numpy


def usable(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The outcomes whose features this version reads (others are skipped, not misread)."""
    return [o for o in outcomes if o.features.version == FEATURISER]


def targets(outcomes: Sequence[Outcome]) -> list[float]:
    """``strong - weak`` per outcome, a missing side replaced by that side's mean (0.5 if never known)."""
    weaks = [o.weak for o in outcomes if o.weak is not None]
    strongs = [o.strong for o in outcomes if o.strong is not None]
    mw = sum(weaks) / len(weaks) if weaks else 0.5
    ms = sum(strongs) / len(strongs) if strongs else 0.5
    return [(ms if o.strong is None else o.strong) - (mw if o.weak is None else o.weak) for o in outcomes]


@dataclass
class _Design:
    """Training rows: dense block (standardised) and sparse TF-IDF block in coordinate form."""

    dense: Any  # n x k
    rows: Any
    cols: Any
    vals: Any
    n_terms: int
    buckets: list[int]
    idf: Any
    unseen_idf: float
    mean: Any
    scale: Any


def _vocabulary(outcomes: Sequence[Outcome], base: TrafficModel | None) -> tuple[list[int], dict[int, float], float]:
    n = len(outcomes)
    df: dict[int, int] = {}
    for o in outcomes:
        for b, _ in o.features.hashed:
            df[b] = df.get(b, 0) + 1
    min_df = 2 if n >= 1000 else 1
    idf = {b: math.log((1 + n) / (1 + d)) + 1.0 for b, d in df.items() if d >= min_df}
    if base is not None:
        idf.update({b: t[0] for b, t in base.terms.items()})
    return sorted(idf), idf, math.log(1 + n) + 1.0


def _design(outcomes: Sequence[Outcome], base: TrafficModel | None) -> _Design:
    np = _numpy()
    buckets, idf, unseen = _vocabulary(outcomes, base)
    index = {b: i for i, b in enumerate(buckets)}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, o in enumerate(outcomes):
        start = len(vals)
        norm = 0.0
        for b, count in o.features.hashed:
            tf = 1.0 + math.log(count)
            i = index.get(b)
            if i is None:
                norm += (tf * unseen) ** 2
                continue
            v = tf * idf[b]
            norm += v * v
            rows.append(r)
            cols.append(i)
            vals.append(v)
        if norm > 0:
            inv = 1.0 / math.sqrt(norm)
            for j in range(start, len(vals)):
                vals[j] *= inv
    dense = np.array([o.features.dense for o in outcomes], dtype=np.float64).reshape(len(outcomes), len(DENSE))
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return _Design(
        (dense - mean) / scale,
        np.array(rows, dtype=np.int64),
        np.array(cols, dtype=np.int64),
        np.array(vals, dtype=np.float64),
        len(buckets),
        buckets,
        np.array([idf[b] for b in buckets]),
        unseen,
        mean,
        scale,
    )


def _prior(design: _Design, base: TrafficModel | None) -> Any:
    """The base model's score of each row, in this design's feature space (zeros without a base)."""
    np = _numpy()
    n = design.dense.shape[0]
    if base is None:
        return np.zeros(n)
    w = np.array([base.terms.get(b, (0.0, 0.0))[1] for b in design.buckets])
    raw_dense = design.dense * design.scale + design.mean
    return raw_dense @ np.array(base.dense_weights) + np.bincount(
        design.rows, weights=design.vals * w[design.cols], minlength=n
    )


def _solve(d: Any, sp: tuple[Any, Any, Any, int], y: Any, penalty: float, x0: Any = None) -> Any:
    """Ridge by Jacobi-preconditioned conjugate gradients: dense columns (lightly penalised) then sparse."""
    np = _numpy()
    rows, cols, vals, v = sp
    n, k = d.shape
    pen = np.concatenate([np.full(k, 1e-3), np.full(v, penalty)])

    def xv(w: Any) -> Any:
        return d @ w[:k] + np.bincount(rows, weights=vals * w[k:][cols], minlength=n)

    def xtr(r: Any) -> Any:
        return np.concatenate([d.T @ r, np.bincount(cols, weights=vals * r[rows], minlength=v)])

    def op(w: Any) -> Any:
        return xtr(xv(w)) + pen * w

    diag = np.concatenate([(d * d).sum(axis=0), np.bincount(cols, weights=vals * vals, minlength=v)]) + pen
    b = xtr(y)
    w = np.zeros(k + v) if x0 is None else x0.copy()
    r = b - op(w)
    z = r / diag
    p = z.copy()
    rz = r @ z
    limit = 1e-8 * float(b @ b)
    for _ in range(400):
        if float(r @ r) <= limit:
            break
        q = op(p)
        alpha = rz / (p @ q)
        w += alpha * p
        r -= alpha * q
        z = r / diag
        rz_new = r @ z
        p = z + (rz_new / rz) * p
        rz = rz_new
    return w


def _columns(design: _Design, prior: Any) -> Any:
    np = _numpy()
    n = design.dense.shape[0]
    return np.hstack([np.ones((n, 1)), design.dense, prior.reshape(n, 1)])


def _subset(design: _Design, dense: Any, keep: Any) -> tuple[Any, tuple[Any, Any, Any, int]]:
    """Rows ``keep`` (sorted indices) of the dense columns and of the sparse block."""
    np = _numpy()
    position = np.full(dense.shape[0], -1, dtype=np.int64)
    position[keep] = np.arange(len(keep))
    mask = position[design.rows] >= 0
    return dense[keep], (position[design.rows[mask]], design.cols[mask], design.vals[mask], design.n_terms)


def _choose_penalty(
    design: _Design, dense: Any, y: Any, prior: Any, seed: int
) -> tuple[tuple[bool, float], dict[str, float]]:
    """(prior fixed?, penalty) with the best pooled out-of-fold APGR on a seeded split.

    With a base model two ways are tried: its score as a free column (the labels weigh it), or as a
    fixed offset the n-grams only correct (shrunk toward the base: what few labels need).
    """
    np = _numpy()
    n = len(y)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    fold = np.empty(n, dtype=np.int64)
    fold[order] = np.arange(n) % INNER_FOLDS
    pairs = [_Pair(0.0, float(t)) for t in y]  # APGR of ranking by the gain: weak 0, strong = gain
    modes = (False, True) if bool(np.any(prior)) else (False,)
    scores = {(m, p): np.zeros(n) for m in modes for p in PENALTIES}
    for fixed in modes:
        columns = _fixed(dense) if fixed else dense
        target = y - prior if fixed else y
        for f in range(INNER_FOLDS):
            train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            d_train, sp_train = _subset(design, columns, train)
            d_test, (rows, cols, vals, _) = _subset(design, columns, test)
            w = None
            for penalty in sorted(PENALTIES, reverse=True):  # warm start from the smoother solution
                w = _solve(d_train, sp_train, target[train], penalty, w)
                k = d_test.shape[1]
                sparse = np.bincount(rows, weights=vals * w[k:][cols], minlength=len(test))
                scores[fixed, penalty][test] = d_test @ w[:k] + sparse + (prior[test] if fixed else 0.0)
    found: dict[str, float] = {}
    for (fixed, penalty), predicted in scores.items():
        try:
            found[f"{'fixed' if fixed else 'free'} {penalty}"] = apgr_of(pairs, list(predicted))
        except ValueError:
            found[f"{'fixed' if fixed else 'free'} {penalty}"] = 0.5
    best = max(
        sorted(scores, key=lambda key: (key[0], -key[1])),
        key=lambda key: found[f"{'fixed' if key[0] else 'free'} {key[1]}"],
    )
    return best, found


def _fixed(dense: Any) -> Any:
    """The columns without the prior's (its weight is fixed at 1 as an offset)."""
    columns = dense.copy()
    columns[:, -1] = 0.0
    return columns


def fit(outcomes: Sequence[Outcome], *, base: TrafficModel | None = None, seed: int = 0) -> TrafficModel:
    """A ``TrafficModel`` trained on ``outcomes`` (``base``: the prior, folded in); same inputs, same model."""
    np = _numpy()
    used = usable(outcomes)
    if len(used) < MIN_OUTCOMES:
        raise ValueError(f"train on at least {MIN_OUTCOMES} outcomes of featuriser {FEATURISER!r}, got {len(used)}")
    if base is not None and base.featuriser != FEATURISER:
        raise ValueError(f"the base model reads features {base.featuriser!r}, not {FEATURISER!r}")
    y = np.array(targets(used))
    design = _design(used, base)
    prior = _prior(design, base)
    dense = _columns(design, prior)
    (fixed, penalty), tried = _choose_penalty(design, dense, y, prior, seed)
    if fixed:
        w = _solve(_fixed(dense), (design.rows, design.cols, design.vals, design.n_terms), y - prior, penalty)
    else:
        w = _solve(dense, (design.rows, design.cols, design.vals, design.n_terms), y, penalty)
    k = dense.shape[1]
    a = 1.0 if fixed else float(w[k - 1]) if base is not None else 0.0
    intercept, wd = float(w[0]), w[1 : k - 1]
    dense_weights = wd / design.scale
    bias = intercept - float(wd @ (design.mean / design.scale))
    if base is not None:
        dense_weights = dense_weights + a * np.array(base.dense_weights)
        bias += a * base.bias
    terms: dict[int, tuple[float, float]] = {}
    for j, bucket in enumerate(design.buckets):
        weight = float(w[k + j])
        if base is not None:
            weight += a * base.terms.get(bucket, (0.0, 0.0))[1]
        terms[bucket] = (_round(float(design.idf[j])), _round(weight))
    meta = {
        "outcomes": len(used),
        "penalty": penalty,
        "inner_cv_apgr": {p: round(v, 4) for p, v in tried.items()},
        "prior": "fixed offset" if fixed else "free column" if base is not None else None,
        "prior_weight": round(a, 6),
        "base": base.version if base is not None else None,
        "seed": seed,
    }
    model = TrafficModel(
        "",
        tuple(_round(float(x)) for x in dense_weights),
        _round(bias),
        terms,
        _round(design.unseen_idf),
        (0.0, 1.0),
        FEATURISER,
        meta,
    )
    raws = sorted(model.raw_of(o.features) for o in used)
    last = QUANTILES - 1
    quantiles = tuple(_round(raws[round(i * (len(raws) - 1) / last)]) for i in range(QUANTILES))
    model = TrafficModel("", model.dense_weights, model.bias, terms, model.unseen_idf, quantiles, FEATURISER, meta)
    return _versioned(model)


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _versioned(model: TrafficModel) -> TrafficModel:
    """``model`` with its version: a checksum of its content, so equal models have equal versions."""
    data = model.to_json()
    data.pop("version")
    digest = zlib.crc32(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    return TrafficModel(
        f"tm-{digest:08x}",
        model.dense_weights,
        model.bias,
        model.terms,
        model.unseen_idf,
        model.quantiles,
        model.featuriser,
        model.meta,
    )


def apgr(model_or_scores: TrafficModel | Sequence[float], outcomes: Sequence[Outcome]) -> float:
    """RouteLLM's APGR of a model (or of one score per outcome) on the outcomes with both sides known.

    Ties between scores count as broken at random (the exact mean over tie-breaks). ``ValueError``
    when no outcome has both sides or the two sides score alike.
    """
    if isinstance(model_or_scores, TrafficModel):
        scores = [model_or_scores.raw_of(o.features) for o in outcomes]
    else:
        scores = list(model_or_scores)
        if len(scores) != len(outcomes):
            raise ValueError(f"give one score per outcome: {len(scores)} scores, {len(outcomes)} outcomes")
    keep = [i for i, o in enumerate(outcomes) if o.weak is not None and o.strong is not None]
    if not keep:
        raise ValueError("no outcome has both the weak and the strong quality")
    pairs = [_Pair(float(outcomes[i].weak or 0.0), float(outcomes[i].strong or 0.0)) for i in keep]
    return apgr_of(pairs, [scores[i] for i in keep])


def cross_validated_apgr(
    outcomes: Sequence[Outcome], folds: int = 5, base: TrafficModel | None = None, *, seed: int = 0
) -> float:
    """Mean APGR over ``folds`` seeded folds of models fitted on the other folds: a candidate's figure."""
    used = list(usable(outcomes))
    if len(used) < folds * 2:
        raise ValueError(f"cross-validation needs at least {folds * 2} outcomes, got {len(used)}")
    order = list(range(len(used)))
    random.Random(seed).shuffle(order)
    figures = []
    for f in range(folds):
        test = [used[i] for j, i in enumerate(order) if j % folds == f]
        train = [used[i] for j, i in enumerate(order) if j % folds != f]
        try:
            figures.append(apgr(fit(train, base=base, seed=seed), test))
        except ValueError:
            continue  # a fold without a gap to recover says nothing
    if not figures:
        raise ValueError("no fold has outcomes with a gap between weak and strong")
    return sum(figures) / len(figures)
