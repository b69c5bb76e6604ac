"""``litellm-router bench learning``: replay a labelled stream through learning.

The stream (outcomes in a seeded random order) is revealed label by label; after each of a few label
counts a model is fitted on the labels seen so far and scored by APGR on the rest (never seen). In
the same run, on the same rest: the static default (the shipped model), the heuristic, LiteLLM's
complexity router and a plain TF-IDF ridge (word unigrams, sklearn's ``TfidfVectorizer`` and
``Ridge(alpha=1)`` defaults re-done in numpy), the reference of issue 22.
"""

from __future__ import annotations

import random
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litellm_router_plugin.classify.traffic import TrafficModel
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.learning.fit import apgr, fit
from litellm_router_plugin.learning.outcomes import Outcome

LABEL_COUNTS = (100, 250, 500, 1000, 2000, 5000)
_WORDS = re.compile(r"(?u)\b\w\w+\b")  # sklearn's default token pattern


def plain_tfidf_ridge(train: Sequence[tuple[str, float]], test: Sequence[str]) -> list[float]:
    """The reference: TF-IDF of word unigrams (smooth idf, unit rows) and ridge, penalty 1, with intercept."""
    import numpy as np

    train_docs = [_WORDS.findall(p.lower()) for p, _ in train]
    vocab: dict[str, int] = {}
    for doc in train_docs:
        for w in doc:
            vocab.setdefault(w, len(vocab))
    df = np.zeros(len(vocab))
    for doc in train_docs:
        for w in set(doc):
            df[vocab[w]] += 1
    idf = np.log((1 + len(train)) / (1 + df)) + 1

    def matrix(docs: Sequence[list[str]]) -> Any:
        x = np.zeros((len(docs), len(vocab)))
        for i, doc in enumerate(docs):
            for w in doc:
                j = vocab.get(w)
                if j is not None:
                    x[i, j] += 1
        x *= idf
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        norms[norms == 0] = 1
        return x / norms

    x = matrix(train_docs)
    y = np.array([t for _, t in train])
    mean = x.mean(axis=0)
    centred = x - mean
    # Dual form: n x n, cheaper than the vocabulary's size squared.
    alpha = np.linalg.solve(centred @ centred.T + np.eye(len(train)), y - y.mean())
    weights = centred.T @ alpha
    scores: list[float] = []
    for start in range(0, len(test), 2000):  # bounded memory: the vocabulary can be tens of thousands wide
        docs = [_WORDS.findall(p.lower()) for p in test[start : start + 2000]]
        scores.extend(float(v) for v in (matrix(docs) - mean) @ weights)
    return scores


@dataclass
class Row:
    """APGR on the unseen rest after ``labels`` labels, per router (mean over seeds)."""

    labels: int
    unseen: int
    apgr: dict[str, float] = field(default_factory=dict)
    spread: dict[str, float] = field(default_factory=dict)
    """Standard deviation over seeds."""


def replay(
    outcomes: Sequence[Outcome],
    prompts: Sequence[str],
    *,
    base: TrafficModel | None,
    static: Mapping[str, Callable[[str], float]],
    label_counts: Sequence[int] = LABEL_COUNTS,
    seeds: int = 1,
    reference: bool = True,
    min_unseen: int = 500,
) -> list[Row]:
    """The learning curve: per label count, the learned model and every static router on the unseen rest."""
    counts = [n for n in label_counts if n + min_unseen <= len(outcomes)]
    if not counts:
        raise ConfigError(
            "outcomes", len(outcomes), f"Replay needs more than {min(label_counts) + min_unseen} outcomes."
        )
    static_scores = {name: [f(p) for p in prompts] for name, f in static.items()}
    results: dict[int, dict[str, list[float]]] = {n: {} for n in counts}
    for seed in range(seeds):
        order = list(range(len(outcomes)))
        random.Random(seed).shuffle(order)
        for n in counts:
            seen, rest = order[:n], order[n:]
            unseen = [outcomes[i] for i in rest]
            figures = results[n]
            learned = fit([outcomes[i] for i in seen], base=None, seed=seed)
            figures.setdefault("learned (no prior)", []).append(apgr(learned, unseen))
            if base is not None:
                prior = fit([outcomes[i] for i in seen], base=base, seed=seed)
                figures.setdefault("learned (shipped model as prior)", []).append(apgr(prior, unseen))
            if reference:
                train = [(prompts[i], _gain(outcomes[i])) for i in seen]
                scores = plain_tfidf_ridge(train, [prompts[i] for i in rest])
                figures.setdefault("plain TF-IDF ridge (reference)", []).append(apgr(scores, unseen))
            for name, scores_all in static_scores.items():
                figures.setdefault(name, []).append(apgr([scores_all[i] for i in rest], unseen))
    return [
        Row(
            n,
            len(outcomes) - n,
            {k: statistics.fmean(v) for k, v in results[n].items()},
            {k: statistics.pstdev(v) for k, v in results[n].items()},
        )
        for n in counts
    ]


def _gain(outcome: Outcome) -> float:
    return (outcome.strong or 0.0) - (outcome.weak or 0.0)


def markdown(rows: Sequence[Row], title: str) -> str:
    """The curve as a Markdown table (APGR, with the spread over seeds when there are several)."""
    names = list(rows[0].apgr)
    lines = [title, "", "| labels | unseen | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for r in rows:
        cells = [f"{r.apgr[k]:.3f}" + (f" ± {r.spread[k]:.3f}" if r.spread.get(k) else "") for k in names]
        lines.append(f"| {r.labels} | {r.unseen} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: Sequence[Row], title: str, path: str | Path) -> Path:
    """APGR on the unseen rest against the number of labels (PNG); static routers as flat lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=120)
    labels = [r.labels for r in rows]
    for name in rows[0].apgr:
        ys = [r.apgr[name] for r in rows]
        learned = name.startswith(("learned (no prior)", "learned (shipped", "plain"))
        ax.plot(labels, ys, marker="o" if learned else None, linestyle="-" if learned else "--", label=name)
    ax.axhline(0.5, color="grey", linewidth=0.7, linestyle=":", label="random (0.5)")
    ax.set_xscale("log")
    ax.set_xlabel("labels seen (log scale)")
    ax.set_ylabel("APGR on the unseen rest")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.grid(alpha=0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
