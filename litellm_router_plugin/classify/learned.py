"""A learned local classifier: a linear model over prompt-structure features and hashed word n-grams.

CPU only, pure Python at run time (no numpy, no torch): about a hundred dictionary look-ups a prompt.
The weights ship inside the package (``classify/models/learned.json``), are read on first use, and are
reproduced bit for bit by ``litellm-router train`` (see ``evaluation/train.py`` and the README).

The model ranks prompts by the expected accuracy gained by sending them to the stronger model; its
``strength`` is that ranking mapped through the training prompts' quantiles onto 1-10, so a threshold
on it means the same share of traffic whatever the scale of the raw score. ``score`` and
``category`` (the tier family used when no strength thresholds are configured) come from the
heuristic, which knows everyday requests (a greeting, a proof) that routing outcome data lacks.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import logging
import math
import re
import sys
import threading
import time
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litellm_router_plugin.classify.base import ComplexityAnalysis
from litellm_router_plugin.classify.heuristic import HeuristicClassifier
from litellm_router_plugin.errors import ConfigError

logger = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).parent / "models" / "learned.json"
"""The shipped model file."""
FORMAT = "litellm-router-plugin/learned-linear/2"
CLIP = 3.0
"""Standardised dense features are clipped to +-CLIP, in training and serving alike."""

_TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
_OPTION = re.compile(r"^[ \t]*\(?[A-Ha-h][.)][ \t]+(\S.*)$", re.M)
_MATH_CHARS = frozenset("=+*/^<>()[]{}|\\$%")
_HEURISTIC = HeuristicClassifier()

DENSE_FEATURES: tuple[str, ...] = (
    "heuristic_strength",  # first: the one feature not clipped
    "log_chars",
    "log_stem_chars",
    "log_option_chars",
    "digit_share",
    "math_share",
    "mean_word_length",
    "upper_share",
    "questions",
    "log_lines",
    "code_block",
)


class ModelFileError(ConfigError):
    """The learned model file is missing, unreadable or not a model of this format."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            "classifier.model_path",
            str(path),
            f"{problem} Rebuild it with `litellm-router train --out {path}`, or set classifier.kind: heuristic.",
        )
        self.path = path


def dense_features(prompt: str) -> list[float]:
    """The structural features, in ``DENSE_FEATURES`` order."""
    text = prompt.strip()
    n = max(1, len(text))
    options = _OPTION.findall(text)
    stem = text
    option_chars = 0.0
    if len(options) >= 2:
        option_chars = sum(len(o) for o in options) / len(options)
        first = _OPTION.search(text)
        stem = text[: first.start()] if first else text
    words = text.split()
    return [
        _HEURISTIC.strength(text),
        math.log1p(len(text)),
        math.log1p(len(stem)),
        math.log1p(option_chars),
        sum(c.isdigit() for c in text) / n,
        sum(c in _MATH_CHARS for c in text) / n,
        sum(len(w) for w in words) / max(1, len(words)),
        sum(c.isupper() for c in text) / n,
        float(min(text.count("?"), 5)),
        math.log1p(text.count("\n")),
        1.0 if "```" in text else 0.0,
    ]


def hashed_features(prompt: str, dim: int) -> dict[int, float]:
    """Word unigrams and bigrams hashed into ``dim`` buckets: sublinear counts, L2-normalised."""
    tokens = _TOKEN.findall(prompt.lower())
    counts: dict[int, int] = {}
    previous = ""
    for token in tokens:
        for gram in (token, f"{previous} {token}") if previous else (token,):
            # crc32, not hash(): stable across processes, so training and serving agree.
            bucket = zlib.crc32(gram.encode()) % dim
            counts[bucket] = counts.get(bucket, 0) + 1
        previous = token
    if not counts:
        return {}
    values = {k: 1.0 + math.log(v) for k, v in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values()))
    return {k: v / norm for k, v in values.items()}


def encode_weights(values: Sequence[float]) -> str:
    """Doubles as base64 of their little-endian bytes: exact, and fast to read (no JSON number per weight)."""
    packed = array("d", values)
    if sys.byteorder == "big":  # pragma: no cover - the file is little-endian everywhere
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def decode_weights(text: str) -> array[float]:
    """The inverse of :func:`encode_weights`."""
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) % 8:
        raise ValueError("hashed weights are not a whole number of doubles")
    packed = array("d")
    packed.frombytes(raw)
    if sys.byteorder == "big":  # pragma: no cover
        packed.byteswap()
    return packed


@dataclass(frozen=True, slots=True)
class LearnedModel:
    """The weights: ``raw = bias + sum(dense_weights * clip((x - mean) / scale)) + sum(hashed weights)``.

    The standardised dense features but the heuristic's strength are clipped to +-``CLIP``: everyday
    prompts (a greeting, one line) lie far outside the training data, and a linear model must not
    extrapolate on them.
    """

    hash_dim: int
    dense_mean: tuple[float, ...]
    dense_scale: tuple[float, ...]
    dense_weights: tuple[float, ...]
    hashed_weights: array[float]
    """One weight per bucket."""
    bias: float
    quantiles: tuple[float, ...]
    """Raw scores of the training prompts at evenly spaced quantiles, for the 1-10 strength."""
    meta: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Any) -> LearnedModel:
        """Validate a decoded model file."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a model of format {FORMAT!r}")
        if list(data["dense_features"]) != list(DENSE_FEATURES):
            raise ValueError("its dense features differ from this version's")
        dim = int(data["hash_dim"])
        n = len(DENSE_FEATURES)
        mean, scale, weights = (
            tuple(float(x) for x in data[k]) for k in ("dense_mean", "dense_scale", "dense_weights")
        )
        if not (len(mean) == len(scale) == len(weights) == n) or any(s <= 0 for s in scale):
            raise ValueError("dense weights have the wrong shape")
        hashed = decode_weights(str(data["hashed_weights"]))
        if len(hashed) != dim:
            raise ValueError("there must be one hashed weight per bucket (hash_dim)")
        quantiles = tuple(float(q) for q in data["quantiles"])
        if len(quantiles) < 2 or any(b < a for a, b in itertools.pairwise(quantiles)):
            raise ValueError("quantiles must be a non-decreasing list")
        values = [*mean, *scale, *weights, *hashed, *quantiles, float(data["bias"])]
        if not all(math.isfinite(v) for v in values):
            raise ValueError("it holds a non-finite number")
        return cls(dim, mean, scale, weights, hashed, float(data["bias"]), quantiles, dict(data.get("meta", {})))

    def raw(self, prompt: str) -> float:
        """The model's score: higher means more accuracy gained by the stronger model."""
        total = self.bias
        features = dense_features(prompt)
        # The heuristic's strength (first) is not clipped: it is built for everyday prompts.
        total += self.dense_weights[0] * (features[0] - self.dense_mean[0]) / self.dense_scale[0]
        for x, m, s, w in zip(
            features[1:], self.dense_mean[1:], self.dense_scale[1:], self.dense_weights[1:], strict=True
        ):
            total += w * min(CLIP, max(-CLIP, (x - m) / s))
        weights = self.hashed_weights
        for k, v in hashed_features(prompt, self.hash_dim).items():
            total += weights[k] * v
        return total

    def strength(self, prompt: str) -> float:
        """``raw`` mapped onto 1-10 through the training quantiles (linear between them, so no new ties)."""
        return self.strength_of(self.raw(prompt))

    def strength_of(self, raw: float) -> float:
        """Where ``raw`` falls among the training prompts, as 1 (lowest) to 10 (highest)."""
        q = self.quantiles
        last = len(q) - 1
        if raw <= q[0]:
            # Beyond the ends keep ordering, squashed into the last step.
            return 1.0 + 9.0 * (0.5 / last) * (1.0 / (1.0 + (q[0] - raw)))
        if raw >= q[-1]:
            return 10.0 - 9.0 * (0.5 / last) * (1.0 / (1.0 + (raw - q[-1])))
        i = bisect.bisect_right(q, raw) - 1
        span = q[i + 1] - q[i]
        fraction = (raw - q[i]) / span if span > 0 else 0.5
        position = (i + fraction) / last  # 0..1
        return 1.0 + 9.0 * (0.5 / last + position * (1 - 1.0 / last))


def load_model(path: str | Path = MODEL_PATH) -> LearnedModel:
    """Read and check a model file; ``ModelFileError`` naming the file if it is missing or corrupt."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(file, "The learned model file does not exist.") from None
    except OSError as exc:
        raise ModelFileError(file, f"The learned model file cannot be read ({exc.strerror}).") from None
    try:
        return LearnedModel.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(file, f"The learned model file is corrupt: {exc}.") from None


class LearnedClassifier:
    """Rates prompts with the shipped (or a given) linear model; the heuristic answers if it cannot load.

    The file is read on the first call, once per instance (thread-safe). A missing or corrupt file is
    logged once as a ``ModelFileError`` naming the file; every answer then comes from the heuristic,
    with ``fallback_reason`` set. ``load()`` raises that error instead, for callers that must know.
    """

    def __init__(self, model_path: str | Path | None = None, *, fallback: HeuristicClassifier | None = None) -> None:
        self.model_path = Path(model_path) if model_path is not None else MODEL_PATH
        self.fallback = fallback or _HEURISTIC
        self._model: LearnedModel | None = None
        self._error: ModelFileError | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Shown in ``ComplexityAnalysis.classifier``."""
        return "learned"

    def load(self) -> LearnedModel:
        """The model, read on first use; raises ``ModelFileError`` if the file is missing or corrupt."""
        model = self._model
        if model is not None:
            return model
        with self._lock:
            if self._model is None:
                self._model = load_model(self.model_path)
            return self._model

    def _loaded(self) -> LearnedModel | None:
        if self._model is not None:
            return self._model
        if self._error is not None:
            return None
        try:
            return self.load()
        except ModelFileError as exc:
            self._error = exc
            logger.error("learned classifier unavailable, the heuristic answers instead: %s", exc)
            return None

    def strength(self, prompt: str) -> float:
        """1-10: how much the prompt needs a stronger model (the heuristic's strength if the model is unavailable)."""
        model = self._loaded()
        return self.fallback.strength(prompt) if model is None else model.strength(prompt)

    def classify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` synchronously."""
        start = time.perf_counter()
        base = self.fallback.classify(prompt)
        model = self._loaded()
        if model is None:
            return base.model_copy(update={"fallback_reason": f"learned model unavailable: {self._error}"})
        strength = model.strength(prompt)
        return base.model_copy(
            update={
                "classifier": self.name,
                "strength": strength,
                "reasoning": f"learned strength {strength:.2f}; heuristic: {base.reasoning}",
                "latency_ms": (time.perf_counter() - start) * 1000,
            }
        )

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``; the same as :meth:`classify`."""
        return self.classify(prompt)
