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
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice, repeat
from operator import and_, mul, xor
from pathlib import Path
from typing import Any

from litellm_router_plugin.classify.base import ComplexityAnalysis
from litellm_router_plugin.classify.heuristic import analysis_of, score_text

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

_TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
_WORD_TAG, _PAIR_TAG = b"w", 0x9E3779B1
_MASK = BUCKETS - 1


def _bucket(data: bytes) -> int:
    return zlib.crc32(data) & (BUCKETS - 1)


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
            features = cls(str(data["version"]), hashed, tuple(float(x) for x in data["dense"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not prompt features: {exc}") from None
        if not all(0 <= b < BUCKETS and c >= 1 for b, c in hashed):
            raise ValueError("not prompt features: a bucket out of range or a count below 1")
        return features


class _TermFrequency(dict[int, float]):
    """Count -> ``1 + log(count)``, filled on first sight (counts are small integers)."""

    def __missing__(self, count: int) -> float:
        tf = self[count] = 1.0 + math.log(count)
        return tf


_TF = _TermFrequency()


def _counts(tokens: list[str]) -> Counter[int]:
    """Hashed word and word-pair counts of a prompt's tokens, each bucket in the order first seen."""
    words = list(map(_TOKEN_IDS.__getitem__, tokens))
    counts = Counter(words)  # counted in C
    # Word pairs: the two words' buckets mixed, ((a * tag) ^ b) & mask (no second hash of text); the
    # chained maps keep the loop in C.
    counts.update(map(and_, map(xor, map(mul, words, repeat(_PAIR_TAG)), islice(words, 1, None)), repeat(_MASK)))
    return counts


@dataclass(frozen=True, slots=True)
class _Read:
    """One reading of a prompt: the heuristic's strength and cues, the n-gram counts, the dense cues."""

    heuristic: float
    cues: list[str]
    counts: Counter[int]
    dense: tuple[float, ...]


def _read(prompt: str) -> _Read:
    """Split the stripped prompt once: its tokens feed the heuristic's word gates and the n-grams."""
    text = prompt.strip()
    low = text.lower()
    tokens = _TOKEN.findall(low)
    # The tokens hold every \w+ word of ``low`` made of a-z (the gates' words), as the gates need.
    heuristic, cues, shape = score_text(text, low, set(tokens))
    return _Read(heuristic, cues, _counts(tokens), (heuristic, *shape.cues, math.log1p(len(text))))


def featurise(prompt: str) -> PromptFeatures:
    """The features of ``prompt`` (stripped), as every ``TrafficModel`` of this version reads them."""
    read = _read(prompt)
    return PromptFeatures(FEATURISER, tuple(read.counts.items()), read.dense)


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
    _tables: tuple[array[float], array[float]] | None = field(init=False, repr=False, compare=False)
    """Per bucket (all ``BUCKETS``): idf squared (unseen: ``unseen_idf`` squared) and idf * weight (unseen: 0),
    built on first use. Flat arrays: scoring is bound by memory reads, and an array index reads one place
    where a dict lookup of a large model reads three or four (4x faster on MMLU prompts)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tables", None)

    def _built(self) -> tuple[array[float], array[float]]:
        tables = self._tables
        if tables is None:  # two threads may both build it: the same content, either kept
            squares = array("d", [self.unseen_idf * self.unseen_idf]) * BUCKETS
            weighted = array("d", [0.0]) * BUCKETS
            for bucket, (idf, weight) in self.terms.items():
                squares[bucket] = idf * idf
                weighted[bucket] = idf * weight
            tables = (squares, weighted)
            object.__setattr__(self, "_tables", tables)
        return tables

    @property
    def name(self) -> str:
        """Shown in ``ComplexityAnalysis.classifier``."""
        return "learned"

    def raw_of(self, features: PromptFeatures) -> float:
        """The model's score (higher: the stronger model adds more); ``ValueError`` for another featuriser."""
        if features.version != self.featuriser:
            raise ValueError(f"features of version {features.version!r}; this model reads {self.featuriser!r}")
        buckets, counts = zip(*features.hashed, strict=True) if features.hashed else ((), ())
        return self._raw(buckets, counts, features.dense, hash(features.hashed))

    def _raw(self, buckets: Collection[int], counts: Collection[int], dense: tuple[float, ...], key: int) -> float:
        """``raw`` from the n-grams' buckets and counts (same order), the dense cues and the features' hash."""
        total = self.bias
        for w, x in zip(self.dense_weights, dense, strict=True):
            total += w * x
        squares_of, weighted_of = self._built()
        # Per n-gram in C (maps over array reads); buckets the model never saw read unseen idf, no weight.
        squares: Iterable[float] = map(squares_of.__getitem__, buckets)
        weighted: Iterable[float] = map(weighted_of.__getitem__, buckets)
        if counts and max(counts) > 1:  # tf = 1 + log(count) (exactly 1.0 for most n-grams)
            tfs = list(map(_TF.__getitem__, counts))
            squares = map(mul, map(mul, tfs, tfs), squares)
            weighted = map(mul, tfs, weighted)
        dot, norm = sum(weighted), sum(squares)  # in the n-grams' order: the same sums everywhere
        if norm > 0:
            total += dot / math.sqrt(norm)
        # Prompts with identical features would tie: a fixed, far smaller nudge orders them alike everywhere
        # (hashes of ints are the same in every process).
        return total + TIE_BREAK * (key % 1_000_003) / 1_000_003

    def _strength_read(self, read: _Read) -> float:
        counts = read.counts
        raw = self._raw(counts.keys(), counts.values(), read.dense, hash(tuple(counts.items())))
        return quantile_strength(self.quantiles, raw)

    def strength_of(self, features: PromptFeatures) -> float:
        """1-10: how much the prompt of these features needs a stronger model."""
        return quantile_strength(self.quantiles, self.raw_of(features))

    def strength(self, prompt: str) -> float:
        """1-10: how much ``prompt`` needs a stronger model (the same as ``strength_of(featurise(prompt))``)."""
        return self._strength_read(_read(prompt))

    def classify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``: strength from this model; score and category (tier family) from the heuristic."""
        start = time.perf_counter()
        read = _read(prompt)
        return analysis_of(read.heuristic, read.cues, self.name, start, self._strength_read(read))

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
        if not all(0 <= b < BUCKETS for b in terms):
            raise ValueError(f"a term's bucket is outside 0-{BUCKETS - 1}")
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
