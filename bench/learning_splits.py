"""Random question splits of the shipped MMLU outcomes: the traffic model (no prior) against a plain
TF-IDF ridge and the heuristic, on the same unseen questions (issue 22's regime: 500 and 5,000 labels).

    PYTHONPATH=. python bench/learning_splits.py 500,5000 0,1,2

Each seed shuffles all 14,037 questions (seed 100 + s), trains on the first N and scores the rest.
No prior: the shipped traffic model trained on most of these questions.
"""

from __future__ import annotations

import random
import sys
import time

from litellm_router_plugin.classify.heuristic import HeuristicClassifier
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.evaluation.learning_bench import plain_tfidf_ridge
from litellm_router_plugin.evaluation.routing_bench import load_dataset
from litellm_router_plugin.learning.fit import apgr, fit
from litellm_router_plugin.learning.outcomes import Outcome


def main(label_counts: list[int], seeds: list[int]) -> None:
    samples = load_dataset(MMLU_DATASET)
    outcomes = [
        Outcome.of(s.prompt, weak=float(s.weak), strong=float(s.strong), source="file", at=0.0) for s in samples
    ]
    heuristic = [HeuristicClassifier().strength(s.prompt) for s in samples]
    for seed in seeds:
        order = list(range(len(samples)))
        random.Random(100 + seed).shuffle(order)
        for n in label_counts:
            seen, rest = order[:n], order[n:]
            unseen = [outcomes[i] for i in rest]
            start = time.perf_counter()
            model = fit([outcomes[i] for i in seen], seed=seed)
            seconds = time.perf_counter() - start
            train = [(samples[i].prompt, float(samples[i].strong) - float(samples[i].weak)) for i in seen]
            plain = plain_tfidf_ridge(train, [samples[i].prompt for i in rest])
            static = apgr([heuristic[i] for i in rest], unseen)
            print(
                f"seed {seed} labels {n} unseen {len(rest)}: ours {apgr(model, unseen):.4f} "
                f"plain-tfidf-ridge {apgr(plain, unseen):.4f} heuristic {static:.4f} "
                f"(fit {seconds:.0f}s, penalty {model.meta['penalty']})",
                flush=True,
            )


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1].split(",")], [int(x) for x in sys.argv[2].split(",")])
