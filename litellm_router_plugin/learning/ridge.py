"""Ridge regression for the traffic model's fit, for many penalties at once (numpy, deterministic).

The model: ``target ~ dense @ a + sparse @ b`` with ``a`` unpenalised (a handful of dense columns: the
intercept, the standardised cues, the prior) and ``penalty * |b|^2`` on the sparse TF-IDF block (tens of
thousands of columns, a few hundred non-zeros a row). The dense columns are projected out exactly
(``P = I - Q Q^T``, ``Q`` an orthonormal basis of their span), leaving plain ridge on ``P @ sparse``, solved
in the dual, ``(P S S^T P + penalty I) alpha = P target``, by conjugate gradients *shifted* across the
penalties: one Krylov sequence (two sparse products a step) serves every penalty, then ``b = S^T P alpha``
and ``a = dense^+ (target - S b)``. TF-IDF rows have unit length, so ``S S^T`` is a few large eigenvalues
(common words) over a bulk near 1: a few dozen steps reach 1e-6.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

TOLERANCE = 1e-6
"""Stop when the smallest penalty's residual is this small relative to the target's (projected) norm."""
MAX_STEPS = 1000


def _segment_sums(products: Any, starts: Any, size: int) -> Any:
    """Sums of ``products`` over the segments ``starts[i]:starts[i + 1]`` (``size + 1`` starts; empty ones 0)."""
    out = np.zeros(size)
    full = starts[:-1] < starts[1:]
    if products.size:
        out[full] = np.add.reduceat(products, starts[:-1][full])
    return out


@dataclass(frozen=True)
class SparseRows:
    """A sparse matrix held both by rows and by columns (products in sequential sums, no scattering)."""

    n: int
    v: int
    row_starts: Any
    row_cols: Any
    row_vals: Any
    col_starts: Any
    col_rows: Any
    col_vals: Any

    @classmethod
    def of(cls, rows: Any, cols: Any, vals: Any, n: int, v: int) -> SparseRows:
        """From coordinates (any order); duplicates are kept as separate entries (they add)."""
        by_row = np.lexsort((cols, rows))
        by_col = np.lexsort((rows, cols))
        row_starts = np.searchsorted(rows[by_row], np.arange(n + 1))
        col_starts = np.searchsorted(cols[by_col], np.arange(v + 1))
        return cls(n, v, row_starts, cols[by_row], vals[by_row], col_starts, rows[by_col], vals[by_col])

    def take(self, keep: Any) -> SparseRows:
        """The rows ``keep`` (increasing indices), in that order."""
        position = np.full(self.n, -1, dtype=np.int64)
        position[keep] = np.arange(len(keep))
        lengths = np.diff(self.row_starts)
        rows = np.repeat(np.arange(self.n), lengths)
        mask = position[rows] >= 0
        return SparseRows.of(position[rows[mask]], self.row_cols[mask], self.row_vals[mask], len(keep), self.v)

    def dot(self, w: Any) -> Any:
        """``S @ w``."""
        return _segment_sums(self.row_vals * w[self.row_cols], self.row_starts, self.n)

    def tdot(self, r: Any) -> Any:
        """``S^T @ r``."""
        return _segment_sums(self.col_vals * r[self.col_rows], self.col_starts, self.v)


def _basis(dense: Any) -> tuple[Any, Any]:
    """An orthonormal basis of the dense columns' span and the pseudo-inverse of ``dense``."""
    u, s, vt = np.linalg.svd(dense, full_matrices=False)
    keep = s > 1e-10 * (s[0] if s.size else 0.0)
    q = u[:, keep]
    return q, vt[keep].T @ (q.T / s[keep, None])


def _shifted_cg(apply: Any, rhs: Any, shifts: Any) -> Any:
    """Solutions of ``(A + shift I) x = rhs`` for every shift (rows of the result), ``A`` symmetric PSD.

    Conjugate gradients on the smallest shift; the others follow from the same residuals (their Krylov
    spaces are the same), each through its own scalars ``zeta``, ``alpha``, ``beta``."""
    base = float(shifts.min())
    delta = shifts - base
    m = len(shifts)
    x, p = np.zeros((m, rhs.size)), np.tile(rhs, (m, 1))
    zeta, zeta_old = np.ones(m), np.ones(m)
    r, pb = rhs.copy(), rhs.copy()
    rr, alpha_old, beta_old = float(rhs @ rhs), 1.0, 0.0
    limit = (TOLERANCE**2) * rr
    for _ in range(MAX_STEPS):
        if rr <= limit:
            break
        q = apply(pb) + base * pb
        alpha = rr / float(pb @ q)
        denominator = alpha * beta_old * (zeta_old - zeta) + zeta_old * alpha_old * (1.0 + alpha * delta)
        zeta_new = zeta * zeta_old * alpha_old / denominator
        x += (alpha * zeta_new / zeta)[:, None] * p
        r -= alpha * q
        rr_new = float(r @ r)
        beta = rr_new / rr
        p = zeta_new[:, None] * r + (beta * (zeta_new / zeta) ** 2)[:, None] * p
        pb = r + beta * pb
        zeta_old, zeta, alpha_old, beta_old, rr = zeta, zeta_new, alpha, beta, rr_new
    return x


def ridge_path(dense: Any, sparse: SparseRows, target: Any, penalties: Sequence[float]) -> list[tuple[Any, Any]]:
    """``(a, b)`` per penalty: ``a`` the dense weights (unpenalised), ``b`` the sparse ones."""
    q, pinv = _basis(dense)

    def project(x: Any) -> Any:
        return x - q @ (q.T @ x)

    def apply(alpha: Any) -> Any:
        return project(sparse.dot(sparse.tdot(project(alpha))))

    alphas = _shifted_cg(apply, project(target), np.asarray(penalties, dtype=np.float64))
    out = []
    for alpha in alphas:
        b = sparse.tdot(project(alpha))
        out.append((pinv @ (target - sparse.dot(b)), b))
    return out
