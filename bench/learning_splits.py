"""Random question splits of the shipped MMLU outcomes: the traffic model against a plain TF-IDF ridge and the
heuristic, on the same unseen questions (issue 22's regime), and against its prior where that is fair.

    PYTHONPATH=. python bench/learning_splits.py 100,250,500,1000,5000 0,1,2             # all questions
    PYTHONPATH=. python bench/learning_splits.py 100,250,500,1000,2000 0,1,2 held-out    # with the prior

Each seed shuffles the pool (seed 100 + s), trains on the first N and scores the rest. ``all`` (the
default): the 14,037 questions, no prior (the shipped traffic.json trained on most of them, so it would
be scored on its own training questions). ``held-out``: the 3,971 questions of the 12 held-out subjects,
which traffic.json never saw: the prior itself, the fit with the prior (``learn``'s default) and without.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from typing import Any

from litellm_router_plugin.classify.heuristic import HeuristicClassifier
from litellm_router_plugin.classify.traffic import SHIPPED_PATH, TrafficModel
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.evaluation.bench_runs import bench_split
from litellm_router_plugin.evaluation.learning_bench import plain_tfidf_ridge
from litellm_router_plugin.evaluation.routing_bench import load_dataset
from litellm_router_plugin.learning.fit import apgr, fit
from litellm_router_plugin.learning.outcomes import Outcome


def one_split(
    samples: list[Any], outcomes: list[Outcome], order: list[int], n: int, base: Any, seed: int
) -> dict[str, Any]:
    """APGR on the unseen rest of every router after the first ``n`` labels of ``order``."""
    seen, rest = order[:n], order[n:]
    unseen = [outcomes[i] for i in rest]
    labelled = [outcomes[i] for i in seen]
    out: dict[str, Any] = {}
    if base is not None:
        out["prior (traffic.json)"] = apgr([base.raw_of(o.features) for o in unseen], unseen)
        start = time.perf_counter()
        model = fit(labelled, base=base, seed=seed)
        out["fit time with prior"] = time.perf_counter() - start
        out["ours, with prior"] = apgr(model, unseen)
        out["choice with prior"] = f"{model.meta['candidate']} {model.meta['penalty'] or ''}".strip()
    start = time.perf_counter()
    model = fit(labelled, seed=seed)
    out["fit time"] = time.perf_counter() - start
    out["ours, no prior"] = apgr(model, unseen)
    train = [(samples[i].prompt, float(samples[i].strong) - float(samples[i].weak)) for i in seen]
    out["plain TF-IDF ridge"] = apgr(plain_tfidf_ridge(train, [samples[i].prompt for i in rest]), unseen)
    out["heuristic"] = apgr([HeuristicClassifier().strength(samples[i].prompt) for i in rest], unseen)
    return out


def main(label_counts: list[int], seeds: list[int], pool: str) -> None:
    samples = load_dataset(MMLU_DATASET)
    if pool == "held-out":
        samples, _ = bench_split(samples, "held-out")
    base = TrafficModel.load(SHIPPED_PATH) if pool == "held-out" else None
    outcomes = [
        Outcome.of(s.prompt, weak=float(s.weak), strong=float(s.strong), source="file", at=0.0) for s in samples
    ]
    figures: dict[int, dict[str, list[float]]] = {n: {} for n in label_counts}
    for seed in seeds:
        order = list(range(len(samples)))
        random.Random(100 + seed).shuffle(order)
        for n in label_counts:
            got = one_split(samples, outcomes, order, n, base, seed)
            print(f"seed {seed} labels {n} unseen {len(samples) - n}: {got}", flush=True)
            for k, v in got.items():
                if isinstance(v, float):
                    figures[n].setdefault(k, []).append(v)
    names = [k for k in figures[label_counts[0]] if not k.startswith("fit time")]
    print(f"\npool {pool} ({len(samples)} questions), seeds {seeds}: mean (min-max) APGR on the unseen rest\n")
    print("| labels | " + " | ".join(names) + " | fit s (median) |")
    print("|---|" + "---|" * (len(names) + 1))
    for n in label_counts:
        cells = [f"{statistics.fmean(v):.3f} ({min(v):.3f}-{max(v):.3f})" for v in (figures[n][k] for k in names)]
        times = figures[n]["fit time"] + figures[n].get("fit time with prior", [])
        print(f"| {n:,} | " + " | ".join(cells) + f" | {statistics.median(times):.1f} |")


if __name__ == "__main__":
    main(
        [int(x) for x in sys.argv[1].split(",")],
        [int(x) for x in sys.argv[2].split(",")],
        sys.argv[3] if len(sys.argv) > 3 else "all",
    )
