"""The ridge solver behind the traffic model's fit: every penalty of one shifted-CG run matches a direct
solve, the sparse products (and row subsets) match dense ones; few labels never pull a fit below its prior."""

from __future__ import annotations

import numpy as np
import pytest

from litellm_router_plugin.learning.ridge import SparseRows, ridge_path


def problem(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, v = 90, 400
    dense = np.hstack([np.ones((n, 1)), rng.standard_normal((n, 3)), np.zeros((n, 1))])  # a zero column too
    matrix = np.where(rng.random((n, v)) < 0.05, rng.random((n, v)), 0.0)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return dense, matrix, rng.standard_normal(n)


def sparse_of(matrix: np.ndarray) -> SparseRows:
    rows, cols = np.nonzero(matrix)
    order = np.random.default_rng(0).permutation(len(rows))  # any order of coordinates
    return SparseRows.of(rows[order], cols[order], matrix[rows, cols][order], *matrix.shape)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_penalty_matches_a_direct_solve(seed: int) -> None:
    dense, matrix, y = problem(seed)
    penalties = [0.3, 1.0, 10.0, 100.0]
    for penalty, (a, b) in zip(penalties, ridge_path(dense, sparse_of(matrix), y, penalties), strict=True):
        x = np.hstack([dense, matrix])
        k = dense.shape[1]
        # Dense columns unpenalised (the zero column gets a negligible penalty to stay solvable).
        normal = x.T @ x + np.diag(np.r_[np.full(k, 1e-12), np.full(matrix.shape[1], penalty)])
        w = np.linalg.lstsq(normal, x.T @ y, rcond=None)[0]
        assert np.allclose(x @ w, dense @ a + matrix @ b, atol=1e-4)
        assert np.allclose(w[k:], b, atol=1e-4)


def test_sparse_products_and_row_subsets() -> None:
    _, matrix, _ = problem(3)
    matrix[[4, 50, 89]] = 0.0  # empty rows, the last one too
    sparse = sparse_of(matrix)
    w, r = np.arange(matrix.shape[1], dtype=float), np.arange(matrix.shape[0], dtype=float)
    assert np.allclose(sparse.dot(w), matrix @ w)
    assert np.allclose(sparse.tdot(r), matrix.T @ r)
    keep = np.array([1, 4, 7, 30, 89])
    part = sparse.take(keep)
    assert np.allclose(part.dot(w), matrix[keep] @ w)
    assert np.allclose(part.tdot(np.ones(len(keep))), matrix[keep].sum(axis=0))


def test_labels_that_say_nothing_keep_the_prior() -> None:
    """Few labels of pure noise: the fit keeps the base (no change), so it ranks unseen prompts as the base does."""
    import random

    from litellm_router_plugin.learning.fit import apgr, fit
    from tests.test_traffic import outcomes_of, synthetic

    base = fit(outcomes_of(synthetic(400, seed=1)))
    rng = random.Random(7)
    noise = [(p, float(rng.random() < 0.7), float(rng.random() < 0.8)) for p, _, _ in synthetic(60, seed=5)]
    fitted = fit(outcomes_of(noise), base=base, seed=0)
    unseen = outcomes_of(synthetic(400, seed=2))
    assert fitted.meta["candidate"] == "no_change"
    assert fitted.meta["penalty"] is None
    assert apgr(fitted, unseen) == pytest.approx(apgr(base, unseen), abs=1e-9)


def test_few_labels_of_unseen_subjects_stay_at_or_above_the_shipped_prior() -> None:
    """100 labels of the held-out MMLU subjects (which the shipped model never saw), three seeded splits: the
    fit with the shipped model as prior is, on average, no worse than the prior on the unseen rest."""
    import random
    import statistics

    from litellm_router_plugin.classify.traffic import SHIPPED_PATH, TrafficModel
    from litellm_router_plugin.evaluation import MMLU_DATASET
    from litellm_router_plugin.evaluation.bench_runs import bench_split
    from litellm_router_plugin.evaluation.routing_bench import load_dataset
    from litellm_router_plugin.learning.fit import apgr, fit
    from litellm_router_plugin.learning.outcomes import Outcome

    base = TrafficModel.load(SHIPPED_PATH)
    samples, _ = bench_split(load_dataset(MMLU_DATASET), "held-out")
    outcomes = [Outcome.of(s.prompt, weak=float(s.weak), strong=float(s.strong), source="file") for s in samples]
    gains = []
    for seed in range(3):
        order = list(range(len(outcomes)))
        random.Random(100 + seed).shuffle(order)
        labelled, unseen = [outcomes[i] for i in order[:100]], [outcomes[i] for i in order[100:]]
        gains.append(apgr(fit(labelled, base=base, seed=seed), unseen) - apgr(base, unseen))
    assert statistics.fmean(gains) >= -1e-9, gains
