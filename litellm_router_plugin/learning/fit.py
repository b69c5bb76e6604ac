"""Training of a ``TrafficModel`` from outcomes (numpy, deterministic, seconds), and APGR to compare models.

Recipe: target the quality the stronger answer adds, ``strong - weak`` (a missing side: that side's
mean). Features: the prompt's TF-IDF over hashed words and word pairs (each row of
unit length), the dense cues standardised, and the base model's score (the prior: with few labels
the base carries the ranking, with many the n-grams take over). One ridge regression (``ridge.py``:
every penalty from one shifted conjugate-gradient run per fold); the penalty, and with a base whether
its score is a free column, a fixed offset the n-grams correct, or kept unchanged, are chosen by
internal cross-validated APGR on a seeded split. The base's weights are folded into the result, so
the served model is one linear model whatever its ancestry.
"""

from __future__ import annotations

import json
import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from litellm_router_plugin.classify.traffic import DENSE, FEATURISER, TrafficModel
from litellm_router_plugin.learning.metric import apgr_of
from litellm_router_plugin.learning.outcomes import Outcome

if TYPE_CHECKING:
    from litellm_router_plugin.learning.ridge import SparseRows

PENALTIES = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
"""Ridge penalties tried by internal cross-validation (the n-gram rows have unit length)."""
FIXED_PENALTIES = (300.0, 1000.0)
"""Further penalties for a correction of the prior: the path runs on toward "no change"."""
INNER_FOLDS = 3
INNER_REPEATS = 3
"""Repeats of the inner split (other seeds) below ``REPEAT_BELOW`` labels, where fits are cheap and one split noisy."""
REPEAT_BELOW = 1000
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
    """Training rows: dense block (standardised) and sparse TF-IDF block (unit rows)."""

    dense: Any  # n x k
    sparse: SparseRows
    buckets: list[int]
    idf: Any
    unseen_idf: float
    mean: Any
    scale: Any


def _vocabulary(outcomes: Sequence[Outcome], base: TrafficModel | None) -> tuple[Any, Any, float]:
    """Sorted buckets, their idf, and the idf of any other bucket. With a base, the base's own idf (its
    terms' idf, its unseen idf for every other bucket): the rows are then normalised exactly as the base
    reads them, so the prior column is the base's score and "no change" is the base itself."""
    np = _numpy()
    n = len(outcomes)
    seen = np.fromiter((b for o in outcomes for b, _ in o.features.hashed), dtype=np.int64)
    buckets, df = np.unique(seen, return_counts=True)  # each bucket once per row: counts are df
    kept = df >= (2 if n >= 1000 else 1)
    buckets, df = buckets[kept], df[kept]
    if base is None:
        return buckets, np.log((1 + n) / (1 + df)) + 1.0, math.log(1 + n) + 1.0
    idf = {int(b): base.unseen_idf for b in buckets} | {b: t[0] for b, t in base.terms.items()}
    ordered = sorted(idf)
    return np.array(ordered, dtype=np.int64), np.array([idf[b] for b in ordered]), base.unseen_idf


def _design(outcomes: Sequence[Outcome], base: TrafficModel | None) -> _Design:
    np = _numpy()
    from litellm_router_plugin.learning.ridge import SparseRows

    n = len(outcomes)
    buckets, idf, unseen = _vocabulary(outcomes, base)
    lengths = np.array([len(o.features.hashed) for o in outcomes], dtype=np.int64)
    flat = np.fromiter((x for o in outcomes for pair in o.features.hashed for x in pair), dtype=np.int64)
    seen, counts = flat[0::2], flat[1::2]
    rows = np.repeat(np.arange(n), lengths)
    column = np.searchsorted(buckets, seen).clip(max=len(buckets) - 1)  # never empty: rows hold n-grams
    known = buckets[column] == seen
    values = (1.0 + np.log(counts)) * np.where(known, idf[column], unseen)
    norm = np.sqrt(np.bincount(rows, weights=values * values, minlength=n))
    values = values / np.where(norm > 0, norm, 1.0)[rows]
    sparse = SparseRows.of(rows[known], column[known], values[known], n, len(buckets))
    dense = np.array([o.features.dense for o in outcomes], dtype=np.float64).reshape(n, len(DENSE))
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return _Design((dense - mean) / scale, sparse, [int(b) for b in buckets], idf, unseen, mean, scale)


def _prior(design: _Design, base: TrafficModel | None) -> Any:
    """The base model's score of each row but its bias (zeros without a base)."""
    np = _numpy()
    n = design.dense.shape[0]
    if base is None:
        return np.zeros(n)
    w = np.array([base.terms.get(b, (0.0, 0.0))[1] for b in design.buckets])
    raw_dense = design.dense * design.scale + design.mean
    return raw_dense @ np.array(base.dense_weights) + design.sparse.dot(w)


def _columns(design: _Design, prior: Any) -> Any:
    np = _numpy()
    n = design.dense.shape[0]
    return np.hstack([np.ones((n, 1)), design.dense, prior.reshape(n, 1)])


NO_CHANGE = math.inf
"""The penalty of "no change": the base as it is (a fixed prior, no correction)."""


def _candidates(fixed: bool, design: _Design, dense: Any, y: Any, prior: Any, folds: Any) -> dict[Any, Any]:
    """Out-of-fold predictions per (fixed, penalty): one shifted-CG path per fold serves every penalty."""
    np = _numpy()
    from litellm_router_plugin.learning.ridge import ridge_path

    columns = _fixed(dense) if fixed else _free(dense, prior)
    target = y - prior if fixed else y
    penalties = PENALTIES + FIXED_PENALTIES if fixed else PENALTIES
    out = {(fixed, p): np.zeros(len(y)) for p in penalties}
    for f in range(INNER_FOLDS):
        train, test = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        sparse_test = design.sparse.take(test)
        path = ridge_path(columns[train], design.sparse.take(train), target[train], penalties)
        for penalty, (a, b) in zip(penalties, path, strict=True):
            out[fixed, penalty][test] = columns[test] @ a + sparse_test.dot(b) + (prior[test] if fixed else 0.0)
    return out


def _apgr_or_half(pairs: Sequence[_Pair], scores: Any) -> float:
    try:
        return apgr_of(pairs, list(scores))
    except ValueError:  # no gap to recover in these rows
        return 0.5


def _choose_penalty(
    design: _Design, dense: Any, y: Any, prior: Any, seed: int
) -> tuple[tuple[bool, float], dict[str, float]]:
    """(prior fixed?, penalty) with the best mean APGR over the inner test folds (seeded, repeated splits).

    With a base model three ways are tried: its score as a free column (the labels weigh it), as a
    fixed offset the n-grams only correct (shrunk toward the base), and no change at all (the base
    itself). A correction is taken only when it beats no change by more than one standard error of
    their difference over the inner folds: with few labels the inner split is noisy, and a noisy
    winner would fall below the base it was meant to improve.
    """
    np = _numpy()
    n = len(y)
    pairs = [_Pair(0.0, float(t)) for t in y]  # APGR of ranking by the gain: weak 0, strong = gain
    has_base = bool(np.any(prior))
    per_fold: dict[tuple[bool, float], list[float]] = {}
    for repeat in range(INNER_REPEATS if n < REPEAT_BELOW else 1):
        order = list(range(n))
        random.Random(seed + repeat).shuffle(order)
        folds = np.empty(n, dtype=np.int64)
        folds[order] = np.arange(n) % INNER_FOLDS
        scores = {(True, NO_CHANGE): prior} if has_base else {}
        for fixed in (False, True) if has_base else (False,):
            scores |= _candidates(fixed, design, dense, y, prior, folds)
        for key, predicted in scores.items():
            for f in range(INNER_FOLDS):
                test = np.flatnonzero(folds == f)
                per_fold.setdefault(key, []).append(_apgr_or_half([pairs[i] for i in test], predicted[test]))
    # Mean APGR within each test fold: pooling the folds' predictions would rank rows of one fold against
    # another's, whose models' offsets differ (a fixed prior with a fold's intercept fell 0.03 below itself).
    found = {_label(*key): float(np.mean(v)) for key, v in per_fold.items()}
    eligible = [key for key in per_fold if not has_base or _clearly_better(per_fold[key], per_fold[True, NO_CHANGE])]
    # Ties: no change first, then the free column, then the larger penalty.
    ranked = sorted(eligible, key=lambda key: (key[1] != NO_CHANGE, key[0], -key[1]))
    return max(ranked, key=lambda key: found[_label(*key)]), found


def _clearly_better(candidate: list[float], baseline: list[float]) -> bool:
    """Mean fold-wise gain over ``baseline`` above one standard error of it (``baseline`` itself: True)."""
    np = _numpy()
    gain = np.array(candidate) - np.array(baseline)
    if not gain.any():
        return True
    return float(gain.mean()) > float(gain.std(ddof=1)) / math.sqrt(len(gain))


def candidate_of(has_base: bool, fixed: bool, penalty: float) -> str:
    """The way chosen, as the model's meta says it: ``no_change`` (the base kept as it is, no penalty),
    ``fixed_offset`` (the base's score corrected by the n-grams), ``free_prior`` (the base's score a
    column the labels weigh), or ``no_prior`` (fitted without a base)."""
    if not has_base:
        return "no_prior"
    return "no_change" if penalty == NO_CHANGE else "fixed_offset" if fixed else "free_prior"


def _label(fixed: bool, penalty: float) -> str:
    return "no change" if penalty == NO_CHANGE else f"{'fixed' if fixed else 'free'} {penalty}"


def _free(dense: Any, prior: Any) -> Any:
    """With a base, the intercept and the prior's column (its weight free): the base's cue weights stand
    in for unpenalised cue columns, which a few labels fit to noise. Without a base, every column."""
    if not prior.any():
        return dense
    columns = dense.copy()
    columns[:, 1:-1] = 0.0
    return columns


def _fixed(dense: Any) -> Any:
    """The intercept alone: with the prior as a fixed offset only the n-grams correct it (penalised, so
    the correction shrinks to the prior); free dense corrections fitted on a few labels would not."""
    columns = dense.copy()
    columns[:, 1:] = 0.0
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
    dense_weights, bias, terms, a = _folded(design, dense, y, prior, fixed, penalty, base)
    meta = {
        "outcomes": len(used),
        "candidate": candidate_of(base is not None, fixed, penalty),
        "penalty": None if penalty == NO_CHANGE else penalty,
        "inner_cv_apgr": {p: round(v, 4) for p, v in tried.items()},
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


def _folded(
    design: _Design, dense: Any, y: Any, prior: Any, fixed: bool, penalty: float, base: TrafficModel | None
) -> tuple[Any, float, dict[int, tuple[float, float]], float]:
    """The chosen fit with the base folded in: dense weights, bias, terms, and the prior's weight."""
    np = _numpy()
    if penalty == NO_CHANGE:
        w = np.zeros(dense.shape[1] + len(design.buckets))
    else:
        from litellm_router_plugin.learning.ridge import ridge_path

        columns, target = (_fixed(dense), y - prior) if fixed else (_free(dense, prior), y)
        w = np.concatenate(ridge_path(columns, design.sparse, target, [penalty])[0])
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
    return dense_weights, bias, terms, a


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
