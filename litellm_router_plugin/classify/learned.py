"""A learned local classifier: a small linear model over the heuristic's strength and the prompt's shape.

CPU only, pure Python at run time (no numpy, no torch): the heuristic plus a handful of structural
cues (``classify/features.py``). The weights ship inside the package (``classify/models/learned.json``),
are read on first use, and are reproduced bit for bit by ``litellm-router train`` (see
``evaluation/train.py`` and the README).

The model ranks prompts by the expected accuracy gained by sending them to the stronger model; its
``strength`` is that ranking mapped through the training prompts' quantiles onto 1-10, so a threshold
on it means the same share of traffic whatever the scale of the raw score. ``score`` and
``category`` (the tier family used when no strength thresholds are configured) come from the
heuristic, which knows everyday requests (a greeting, a proof) that routing outcome data lacks.

A model file written by ``litellm-router learn`` (a ``TrafficModel``, ``classify/traffic.py``) is
served the same way: ``classifier: {kind: learned, model: PATH}``.
"""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import math
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litellm_router_plugin.classify.base import ComplexityAnalysis
from litellm_router_plugin.classify.features import PromptShape
from litellm_router_plugin.classify.heuristic import HeuristicClassifier, analysis_of
from litellm_router_plugin.classify.traffic import FORMAT as TRAFFIC_FORMAT
from litellm_router_plugin.classify.traffic import TrafficModel
from litellm_router_plugin.errors import ConfigError

logger = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).parent / "models" / "learned.json"
"""The shipped model file."""
FORMAT = "litellm-router-plugin/learned-linear/3"
CLIP = 3.0
"""Standardised features but the heuristic's strength are clipped to +-CLIP, in training and serving alike."""

TIE_BREAK = 1e-6
"""Most the text's checksum adds to ``raw``: orders exact ties, far below any feature's effect."""
_HEURISTIC = HeuristicClassifier()

FEATURES: tuple[str, ...] = (
    "heuristic_strength",  # first: the one feature not clipped
    "option_overlap",
    "numeric_options",
    "first_person",
    "catch_all_option",
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


def features(prompt: str) -> list[float]:
    """Every feature, in ``FEATURES`` order."""
    strength, shape = _HEURISTIC.strength_shaped(prompt)
    return [strength, *shape.cues]


@dataclass(frozen=True, slots=True)
class LearnedModel:
    """The weights: ``raw = bias + sum(weights * clip((x - mean) / scale))`` over ``FEATURES``.

    The standardised features but the heuristic's strength are clipped to +-``CLIP``: a linear model
    must not extrapolate on prompts unlike any it was trained on.
    """

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    quantiles: tuple[float, ...]
    """Raw scores of the training prompts at evenly spaced quantiles, for the 1-10 strength."""
    meta: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Any) -> LearnedModel:
        """Validate a decoded model file."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a model of format {FORMAT!r}")
        if list(data["features"]) != list(FEATURES):
            raise ValueError("its features differ from this version's")
        mean, scale, weights = (tuple(float(x) for x in data[k]) for k in ("mean", "scale", "weights"))
        if not (len(mean) == len(scale) == len(weights) == len(FEATURES)) or any(s <= 0 for s in scale):
            raise ValueError("the weights have the wrong shape")
        quantiles = tuple(float(q) for q in data["quantiles"])
        if len(quantiles) < 2 or any(b < a for a, b in itertools.pairwise(quantiles)):
            raise ValueError("quantiles must be a non-decreasing list")
        bias = float(data["bias"])
        if not all(math.isfinite(v) for v in (*mean, *scale, *weights, *quantiles, bias)):
            raise ValueError("it holds a non-finite number")
        return cls(mean, scale, weights, bias, quantiles, dict(data.get("meta", {})))

    def raw(self, prompt: str) -> float:
        """The model's score: higher means more accuracy gained by the stronger model."""
        return self.raw_of(*_HEURISTIC.strength_shaped(prompt))

    def raw_of(self, heuristic_strength: float, shape: PromptShape) -> float:
        """``raw`` from the heuristic's strength, already computed, and the prompt's shape."""
        return self.raw_from([heuristic_strength, *shape.cues], shape.text)

    def raw_from(self, values: Sequence[float], text: str) -> float:
        """``raw`` from the features (``FEATURES`` order) of the stripped prompt ``text``."""
        total = self.bias + self.weights[0] * (values[0] - self.mean[0]) / self.scale[0]
        for x, m, s, w in zip(values[1:], self.mean[1:], self.scale[1:], self.weights[1:], strict=True):
            total += w * min(CLIP, max(-CLIP, (x - m) / s))
        # Different prompts whose features agree (two one-line requests of the same length, say) would
        # tie, and a threshold could not split them: a fixed, far smaller nudge from the text's crc32
        # orders them, the same way in every process.
        return total + TIE_BREAK * zlib.crc32(text.encode()) / 0xFFFFFFFF

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


def load_model(path: str | Path = MODEL_PATH) -> LearnedModel | TrafficModel:
    """Read and check a model file (either format); ``ModelFileError`` naming the file if it is missing or corrupt."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(file, "The learned model file does not exist.") from None
    except OSError as exc:
        raise ModelFileError(file, f"The learned model file cannot be read ({exc.strerror}).") from None
    try:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("format") == TRAFFIC_FORMAT:
            return TrafficModel.from_json(data)
        return LearnedModel.from_dict(data)
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
        self._model: LearnedModel | TrafficModel | None = None
        self._error: ModelFileError | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Shown in ``ComplexityAnalysis.classifier``."""
        return "learned"

    def load(self) -> LearnedModel | TrafficModel:
        """The model, read on first use; raises ``ModelFileError`` if the file is missing or corrupt."""
        model = self._model
        if model is not None:
            return model
        with self._lock:
            if self._model is None:
                self._model = load_model(self.model_path)
            return self._model

    def _loaded(self) -> LearnedModel | TrafficModel | None:
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
        model = self._loaded()
        if isinstance(model, TrafficModel):
            return model.classify(prompt)
        start = time.perf_counter()
        raw, cues, shape = self.fallback.scored(prompt)
        if model is None:
            reason = f"learned model unavailable: {self._error}"
            return analysis_of(raw, cues, self.fallback.name, start, fallback_reason=reason)
        # One analysis built, not the heuristic's copied (as the traffic model does).
        return analysis_of(raw, cues, self.name, start, model.strength_of(model.raw_of(raw, shape)))

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``; the same as :meth:`classify`."""
        return self.classify(prompt)
