"""Cascade vs always-strong vs routed: accuracy and cost on a labelled arithmetic set.

The fake upstream (on loopback) answers wrongly on a known share of questions per model
(``cascade_eval.WRONG_RATES``); prices are LiteLLM's for the three models. Run: ``make bench-cascade``.
"""

from __future__ import annotations

import argparse
import asyncio

from litellm_router_plugin.tools.cascade_eval import WRONG_RATES, compare
from litellm_router_plugin.tools.fake_upstream import FakeUpstream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with FakeUpstream() as upstream:
        rows = asyncio.run(compare(upstream, n=args.questions, seed=args.seed))
    rates = ", ".join(f"{m} {r:.0%}" for m, r in WRONG_RATES.items())
    print(f"{args.questions} questions (seed {args.seed}); wrong answers: {rates}")
    strong = next(r for r in rows if r.strategy == "always-strong")
    print(f"{'strategy':<14} {'accuracy':>8} {'cost USD':>10} {'vs strong':>9} {'calls':>5}  final tiers")
    for r in rows:
        share = r.cost_usd / strong.cost_usd if strong.cost_usd else 0.0
        tiers = ", ".join(f"{t} {c}" for t, c in r.final_tiers.items())
        print(f"{r.strategy:<14} {r.accuracy:>8.1%} {r.cost_usd:>10.6f} {share:>9.1%} {r.calls:>5}  {tiers}")


if __name__ == "__main__":
    main()
