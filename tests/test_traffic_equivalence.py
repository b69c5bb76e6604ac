"""The traffic model's fast serving path gives what the plain reading gives: the same features, the same
raw score and strength, the same analysis; the heuristic reads the same from the shared tokens."""

from __future__ import annotations

import math
import re
import sys
from collections import Counter

import pytest

from litellm_router_plugin.classify import HeuristicClassifier
from litellm_router_plugin.classify.heuristic import score_text
from litellm_router_plugin.classify.traffic import (
    BUCKETS,
    FEATURISER,
    SHIPPED_PATH,
    PromptFeatures,
    TrafficModel,
    featurise,
    quantile_strength,
)
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.evaluation.routing_bench import load_dataset
from litellm_router_plugin.tools.demo import DEMO_PROMPTS

HEURISTIC = HeuristicClassifier()
_TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
EDGES = [
    "",
    "   ",
    "hi",
    "Hello!!! ok",
    "café naïve résumé über_x x86 python3 C++ c++11 3+4=7 snake_case_name",
    "a a a a b b b a b a b the the the",
    "İstanbul ΣΑΣ ß ſ " * 3,
    "def f(x):\n    return x**2\n" * 20,
    "why why why why? what if? A. yes\nB. no\nC. none of the above\nD. I think so",
    "Prove that sqrt(2) is irrational; then design a step-by-step plan, and compare SELECT a FROM b WHERE c = 1.",
]


def prompts() -> list[str]:
    mmlu = [s.prompt for s in load_dataset(MMLU_DATASET)[::10]]
    return [*DEMO_PROMPTS, *EDGES, *mmlu]


def reference_features(prompt: str) -> PromptFeatures:
    """The featuriser as first written: the heuristic on its own, then one tokenisation, a crc32 per word."""
    import itertools
    import zlib

    strength, shape = HEURISTIC.strength_shaped(prompt)
    text = shape.text
    words = [zlib.crc32(b"w" + t.encode()) & (BUCKETS - 1) for t in _TOKEN.findall(text.lower())]
    counts = Counter(words)
    counts.update(((a * 0x9E3779B1) ^ b) & (BUCKETS - 1) for a, b in itertools.pairwise(words))
    return PromptFeatures(FEATURISER, tuple(counts.items()), (strength, *shape.cues, math.log1p(len(text))))


def reference_raw(model: TrafficModel, features: PromptFeatures) -> float:
    """The raw score as first written: one loop over the n-grams, a dict lookup each."""
    total = model.bias
    for w, x in zip(model.dense_weights, features.dense, strict=True):
        total += w * x
    unseen = model.unseen_idf * model.unseen_idf
    dot = norm = 0.0
    for bucket, count in features.hashed:
        term = model.terms.get(bucket)
        tf = 1.0 + math.log(count)
        if term is None:
            norm += tf * tf * unseen
        else:
            norm += tf * tf * (term[0] * term[0])
            dot += tf * (term[0] * term[1])
    if norm > 0:
        total += dot / math.sqrt(norm)
    return total + 1e-9 * (hash(features.hashed) % 1_000_003) / 1_000_003


def same(a: float, b: float) -> bool:
    """Bit for bit on Python 3.11 (sum() adds in order); within rounding where sum() compensates (3.12+)."""
    return a == b if sys.version_info < (3, 12) else math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@pytest.fixture(scope="module")
def model() -> TrafficModel:
    return TrafficModel.load(SHIPPED_PATH)


def test_the_fast_path_scores_every_prompt_as_the_reference_does(model: TrafficModel) -> None:
    for prompt in prompts():
        features = featurise(prompt)
        assert features == reference_features(prompt), prompt[:80]
        raw = reference_raw(model, features)
        assert same(model.raw_of(features), raw), prompt[:80]
        assert same(model.strength(prompt), quantile_strength(model.quantiles, raw)), prompt[:80]


def test_the_analysis_is_the_heuristics_with_the_learned_strength(model: TrafficModel) -> None:
    for prompt in [*DEMO_PROMPTS, *EDGES]:
        got, base = model.classify(prompt), HEURISTIC.classify(prompt)
        strength = model.strength(prompt)
        assert (got.score, got.category, got.classifier) == (base.score, base.category, "learned")
        assert got.strength == strength
        assert got.reasoning == f"learned strength {strength:.2f}; heuristic: {base.reasoning}"
        assert (got.fallback_reason, got.cached) == (None, False)


def test_the_heuristic_reads_the_same_from_the_traffic_tokens() -> None:
    """The shared tokens hold every gate word the heuristic's own word split holds, so nothing changes."""
    for prompt in prompts():
        text = prompt.strip()
        low = text.lower()
        assert score_text(text, low, set(_TOKEN.findall(low))) == HEURISTIC._score(prompt), prompt[:80]


def test_buckets_out_of_range_are_refused(model: TrafficModel) -> None:
    features = featurise("What is the capital of Australia?").to_json()
    for bad in ([BUCKETS, 1], [-1, 1], [5, 0]):
        with pytest.raises(ValueError, match="out of range"):
            PromptFeatures.from_json({**features, "hashed": [bad]})
    data = model.to_json()
    data["terms"] = [[BUCKETS, 1.0, 0.5]]
    with pytest.raises(ValueError, match="outside"):
        TrafficModel.from_json(data)
