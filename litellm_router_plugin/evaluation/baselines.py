"""Peers to beat, measured in the same run as our classifiers, and honest subject-grouped splits.

LiteLLM ships a ``complexity_router`` with two local, free classifiers: its default weighted
keyword scorer (``heuristic``) and ``heuristic_v2`` (tier success rates by request type and prompt
cohort). Both are called in-process from the installed litellm, with no router, no network and no
LLM call. Each baseline is a ``Scorer``: prompt in, a float out, higher meaning "needs the strong
model", so the benchmark ranks them exactly as it ranks ours.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from litellm_router_plugin.errors import ConfigError

Scorer = Callable[[str], float]
"""Prompt -> strength (higher: needs the stronger model)."""

T = TypeVar("T")

FINAL_SUBJECTS = 12
"""Subjects kept out of every choice made during development, for the closing figure."""
FINAL_SEED = 13
FOLD_SEED = 7


def prompt_length(prompt: str) -> float:
    """ "A longer prompt is harder": the length in characters."""
    return float(len(prompt))


def litellm_complexity_scorer(kind: Literal["heuristic", "heuristic_v2"] = "heuristic") -> Scorer:
    """LiteLLM's ``complexity_router`` local classifier as a scorer.

    ``heuristic``: its weighted dimension score (what it compares with its tier boundaries).
    ``heuristic_v2``: one minus its predicted success probability on the cheapest tier.
    """
    from litellm_router_plugin._litellm import litellm  # noqa: F401  (offline price map before litellm loads)

    try:
        from litellm.router_strategy.adaptive_router.classifier import classify_prompt
        from litellm.router_strategy.complexity_router.complexity_router import ComplexityRouter
    except ImportError as exc:  # pragma: no cover - pinned litellm has it
        raise ConfigError("baseline", kind, "This litellm has no complexity_router; install litellm>=1.108.") from exc

    if kind == "heuristic":
        router = ComplexityRouter("baseline", None, derive_savings_baseline=False)

        def weighted(prompt: str) -> float:
            return float(router.classify(prompt)[1])

        return weighted
    router = ComplexityRouter("baseline", None, {"classifier_type": "heuristic_v2"}, derive_savings_baseline=False)
    predictor = router._tier_success_predictor
    if predictor is None:  # pragma: no cover - the config above always builds it
        raise ConfigError("baseline", kind, "litellm did not build its heuristic_v2 predictor.")

    def cheapest_tier_failure(prompt: str) -> float:
        return 1.0 - float(predictor.predict(prompt, classify_prompt(prompt)).probabilities[1])

    return cheapest_tier_failure


def subject_split(
    items: Sequence[T], group: Callable[[T], str], *, final: int = FINAL_SUBJECTS, seed: int = FINAL_SEED
) -> tuple[list[T], list[T]]:
    """(development, final): ``final`` whole groups drawn with a fixed seed go to the final set."""
    groups = sorted({group(item) for item in items})
    if len(groups) <= final:
        raise ConfigError("groups", len(groups), f"A subject split needs more than {final} groups.")
    held = set(random.Random(seed).sample(groups, final))
    return [i for i in items if group(i) not in held], [i for i in items if group(i) in held]


def subject_folds(groups: Sequence[str], k: int = 5, *, seed: int = FOLD_SEED) -> list[int]:
    """Fold number of each item (0..k-1) such that no group is in two folds."""
    names = sorted(set(groups))
    if len(names) < k:
        raise ConfigError("groups", len(names), f"{k} folds need at least {k} groups.")
    random.Random(seed).shuffle(names)
    fold_of = {name: i % k for i, name in enumerate(names)}
    return [fold_of[g] for g in groups]
