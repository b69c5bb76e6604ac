"""The traffic model: a linear model over a prompt's hashed words and word pairs, and its shape.

Serving is pure Python: ``featurise`` turns a prompt into ``PromptFeatures`` (hashed word and word-pair counts and
a few dense cues, no text), and a ``TrafficModel`` scores them with one dot product over TF-IDF
weights. Training (numpy) is in ``learning/fit.py``. The model ranks prompts by the quality the
stronger model is expected to add; ``strength`` maps that rank through the training prompts'
quantiles onto 1-10, so tier thresholds keep meaning a share of traffic.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import re
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litellm_router_plugin.classify.base import ComplexityAnalysis
from litellm_router_plugin.classify.features import PromptShape
from litellm_router_plugin.classify.heuristic import HeuristicClassifier

FEATURISER = "words-pairs-hash/2"
"""Version of ``featurise``: features of another version are skipped, never misread."""
FORMAT = "litellm-router-plugin/traffic-linear/1"
SHIPPED_PATH = Path(__file__).parent / "models" / "traffic.json"
"""The shipped traffic model (trained on the shipped MMLU outcomes' development subjects): the default
prior of ``litellm-router learn``; serve it with ``classifier: {kind: learned, model: PATH}``."""
BUCKETS = 1 << 20
"""Hash space of the n-grams (crc32, the same in every process)."""
DENSE: tuple[str, ...] = (
    "heuristic_strength",
    "option_overlap",
    "numeric_options",
    "first_person",
    "catch_all_option",
    "log_length",
)
"""The dense features, in ``PromptFeatures.dense`` order."""
TIE_BREAK = 1e-9
"""Most the features' checksum adds to a raw score: orders exact ties, far below any feature's effect."""

_HEURISTIC = HeuristicClassifier()
_TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
_WORD_TAG, _PAIR_TAG = b"w", 0x9E3779B1
_MASK = BUCKETS - 1


def _bucket(data: bytes) -> int:
    return zlib.crc32(data) & (BUCKETS - 1)


def with_learned_strength(
    base: ComplexityAnalysis, classifier: str, strength: float, start: float
) -> ComplexityAnalysis:
    """The heuristic's analysis ``base`` carrying a learned ``strength`` (score and category stay the
    heuristic's); ``start``: the ``time.perf_counter()`` the rating began at."""
    return base.model_copy(
        update={
            "classifier": classifier,
            "strength": strength,
            "reasoning": f"learned strength {strength:.2f}; heuristic: {base.reasoning}",
            "latency_ms": (time.perf_counter() - start) * 1000,
        }
    )


class _TokenIds(dict[str, int]):
    """Token -> bucket, filled on first sight (tokens repeat across prompts; bounded below)."""

    def __missing__(self, token: str) -> int:
        if len(self) >= _CACHE_SIZE:
            self.clear()
        bucket = self[token] = _bucket(_WORD_TAG + token.encode())
        return bucket


_CACHE_SIZE = 1 << 17
_TOKEN_IDS = _TokenIds()


@dataclass(frozen=True, slots=True)
class PromptFeatures:
    """What the model reads of a prompt: hashed n-gram counts and dense cues; no text."""

    version: str
    hashed: tuple[tuple[int, int], ...]
    """(bucket, count) pairs, each bucket once, in the order first seen in the prompt."""
    dense: tuple[float, ...]
    """The ``DENSE`` features, in order."""

    def to_json(self) -> dict[str, Any]:
        """Plain data for a store or a file."""
        return {"version": self.version, "hashed": [list(p) for p in self.hashed], "dense": list(self.dense)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PromptFeatures:
        """Read ``to_json``'s output back; ``ValueError`` if it is malformed."""
        try:
            hashed = tuple((int(b), int(c)) for b, c in data["hashed"])
            return cls(str(data["version"]), hashed, tuple(float(x) for x in data["dense"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not prompt features: {exc}") from None


def _shaped_features(text: str, heuristic_strength: float, shape: PromptShape) -> PromptFeatures:
    words = list(map(_TOKEN_IDS.__getitem__, _TOKEN.findall(text.lower())))
    counts = Counter(words)  # counted in C
    # Word pairs: the two words' buckets mixed (no second hash of text).
    counts.update([((a * _PAIR_TAG) ^ b) & _MASK for a, b in itertools.pairwise(words)])
    dense = (heuristic_strength, *shape.cues, math.log1p(len(text)))
    return PromptFeatures(FEATURISER, tuple(counts.items()), dense)


def featurise(prompt: str) -> PromptFeatures:
    """The features of ``prompt`` (stripped), as every ``TrafficModel`` of this version reads them."""
    strength, shape = _HEURISTIC.strength_shaped(prompt)
    return _shaped_features(shape.text, strength, shape)


def quantile_strength(quantiles: tuple[float, ...], raw: float) -> float:
    """Where ``raw`` falls among the training prompts' raw scores, as 1 (lowest) to 10 (highest)."""
    q = quantiles
    last = len(q) - 1
    if raw <= q[0]:
        # Beyond the ends keep ordering, squashed into the last step.
        return 1.0 + 9.0 * (0.5 / last) * (1.0 / (1.0 + (q[0] - raw)))
    if raw >= q[-1]:
        return 10.0 - 9.0 * (0.5 / last) * (1.0 / (1.0 + (raw - q[-1])))
    i = bisect.bisect_right(q, raw) - 1
    span = q[i + 1] - q[i]
    fraction = (raw - q[i]) / span if span > 0 else 0.5
    position = (i + fraction) / last
    return 1.0 + 9.0 * (0.5 / last + position * (1 - 1.0 / last))


@dataclass(frozen=True, slots=True)
class TrafficModel:
    """``raw = bias + dense_weights . dense + sum_j weight_j * tfidf_j``; ``strength`` = raw's training quantile.

    ``tfidf_j = (1 + log count_j) * idf_j / norm`` with ``norm`` the Euclidean norm over every n-gram
    of the prompt; buckets the model never saw weigh ``unseen_idf`` in the norm and nothing in the sum.
    """

    version: str
    dense_weights: tuple[float, ...]
    bias: float
    terms: Mapping[int, tuple[float, float]]
    """bucket -> (idf, weight)."""
    unseen_idf: float
    quantiles: tuple[float, ...]
    featuriser: str = FEATURISER
    meta: Mapping[str, Any] = field(default_factory=dict)
    _fast: dict[int, tuple[float, float]] = field(init=False, repr=False, compare=False)
    """bucket -> (idf squared, idf * weight): what scoring reads."""
    _unseen2: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fast = {b: (idf * idf, idf * w) for b, (idf, w) in self.terms.items()}
        object.__setattr__(self, "_fast", fast)
        object.__setattr__(self, "_unseen2", self.unseen_idf * self.unseen_idf)

    @property
    def name(self) -> str:
        """Shown in ``ComplexityAnalysis.classifier``."""
        return "learned"

    def raw_of(self, features: PromptFeatures) -> float:
        """The model's score (higher: the stronger model adds more); ``ValueError`` for another featuriser."""
        if features.version != self.featuriser:
            raise ValueError(f"features of version {features.version!r}; this model reads {self.featuriser!r}")
        total = self.bias
        for w, x in zip(self.dense_weights, features.dense, strict=True):
            total += w * x
        get, unseen = self._fast.get, self._unseen2
        dot = norm = 0.0
        for bucket, count in features.hashed:
            term = get(bucket)
            if count == 1:  # most n-grams: tf 1
                if term is None:
                    norm += unseen
                else:
                    norm += term[0]
                    dot += term[1]
                continue
            tf = 1.0 + math.log(count)
            if term is None:
                norm += tf * tf * unseen
            else:
                norm += tf * tf * term[0]
                dot += tf * term[1]
        if norm > 0:
            total += dot / math.sqrt(norm)
        # Prompts with identical features would tie: a fixed, far smaller nudge orders them alike everywhere
        # (hashes of ints are the same in every process).
        return total + TIE_BREAK * (hash(features.hashed) % 1_000_003) / 1_000_003

    def strength_of(self, features: PromptFeatures) -> float:
        """1-10: how much the prompt of these features needs a stronger model."""
        return quantile_strength(self.quantiles, self.raw_of(features))

    def strength(self, prompt: str) -> float:
        """1-10: how much ``prompt`` needs a stronger model."""
        return self.strength_of(featurise(prompt))

    def classify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``: strength from this model; score and category (tier family) from the heuristic."""
        start = time.perf_counter()
        base, shape = _HEURISTIC.classify_shaped(prompt)
        heuristic = base.strength if base.strength is not None else _HEURISTIC.strength(prompt)
        strength = quantile_strength(self.quantiles, self.raw_of(_shaped_features(shape.text, heuristic, shape)))
        return with_learned_strength(base, self.name, strength, start)

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``; the same as :meth:`classify`."""
        return self.classify(prompt)

    def to_json(self) -> dict[str, Any]:
        """The model file's content (buckets sorted, so equal models give equal files)."""
        return {
            "format": FORMAT,
            "version": self.version,
            "featuriser": self.featuriser,
            "dense": list(DENSE),
            "dense_weights": list(self.dense_weights),
            "bias": self.bias,
            "terms": [[b, idf, w] for b, (idf, w) in sorted(self.terms.items())],
            "unseen_idf": self.unseen_idf,
            "quantiles": list(self.quantiles),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, data: Any) -> TrafficModel:
        """Validate a decoded model file; ``ValueError`` saying what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a model of format {FORMAT!r}")
        if list(data.get("dense", ())) != list(DENSE):
            raise ValueError("its dense features differ from this version's")
        try:
            dense = tuple(float(x) for x in data["dense_weights"])
            terms = {int(b): (float(idf), float(w)) for b, idf, w in data["terms"]}
            quantiles = tuple(float(q) for q in data["quantiles"])
            bias, unseen = float(data["bias"]), float(data["unseen_idf"])
            version, featuriser = str(data["version"]), str(data["featuriser"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed field: {exc}") from None
        if len(dense) != len(DENSE):
            raise ValueError("dense_weights has the wrong length")
        if len(quantiles) < 2 or any(b < a for a, b in itertools.pairwise(quantiles)):
            raise ValueError("quantiles must be a non-decreasing list of two or more")
        numbers = (*dense, *quantiles, bias, unseen, *(v for t in terms.values() for v in t))
        if not all(math.isfinite(v) for v in numbers):
            raise ValueError("it holds a non-finite number")
        return cls(version, dense, bias, terms, unseen, quantiles, featuriser, dict(data.get("meta", {})))

    @classmethod
    def load(cls, path: str | Path) -> TrafficModel:
        """Read a model file; ``OSError`` if unreadable, ``ValueError`` if not a valid model."""
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def save(self, path: str | Path) -> Path:
        """Write the model as canonical JSON (sorted keys); never over the file shipped in the package
        unless that is the path given."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
        return out
