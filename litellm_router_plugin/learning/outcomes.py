"""One labelled outcome of routing: how well a cheaper and a stronger model answered one prompt.

The prompt is kept as hashed features only (``classify.traffic.featurise``): a training set of
outcomes holds no text unless ``learning.store_prompts`` asks for it.
"""

from __future__ import annotations

import json
import math
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from litellm_router_plugin.classify.traffic import PromptFeatures, featurise
from litellm_router_plugin.errors import ConfigError

Source = Literal["shadow", "feedback", "cascade", "file"]
SOURCES: tuple[Source, ...] = get_args(Source)
DEFAULT_WEAK = "weak"
DEFAULT_STRONG = "strong"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The quality (0-1) of the cheaper and of the stronger answer to one prompt; at least one is known."""

    features: PromptFeatures
    prompt: str | None
    """Kept only when ``learning.store_prompts`` is on; None otherwise."""
    weak_model: str
    weak: float | None
    strong_model: str
    strong: float | None
    source: Source
    time: float

    def __post_init__(self) -> None:
        if self.weak is None and self.strong is None:
            raise ValueError("an outcome needs the quality of at least one answer (weak or strong)")
        for name in ("weak", "strong"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a quality between 0 and 1, got {value!r}")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")

    @classmethod
    def of(
        cls,
        prompt: str,
        *,
        weak: float | None,
        strong: float | None,
        source: Source,
        weak_model: str = DEFAULT_WEAK,
        strong_model: str = DEFAULT_STRONG,
        keep_prompt: bool = False,
        at: float | None = None,
    ) -> Outcome:
        """An outcome for ``prompt``, featurised here; the text kept only if ``keep_prompt``."""
        return cls(
            featurise(prompt),
            prompt if keep_prompt else None,
            weak_model,
            None if weak is None else float(weak),
            strong_model,
            None if strong is None else float(strong),
            source,
            _time.time() if at is None else at,
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able data; ``prompt`` only when kept."""
        data: dict[str, Any] = {
            "features": self.features.to_json(),
            "weak_model": self.weak_model,
            "weak": self.weak,
            "strong_model": self.strong_model,
            "strong": self.strong,
            "source": self.source,
            "time": self.time,
        }
        if self.prompt is not None:
            data["prompt"] = self.prompt
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        """Read ``to_json``'s output back; ``ValueError`` if it is malformed."""
        try:
            weak, strong = data.get("weak"), data.get("strong")
            return cls(
                PromptFeatures.from_json(data["features"]),
                data.get("prompt"),
                str(data["weak_model"]),
                None if weak is None else float(weak),
                str(data["strong_model"]),
                None if strong is None else float(strong),
                data["source"],
                float(data["time"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an outcome: {exc}") from None


def _quality(row: dict[str, Any], key: str, where: str) -> float:
    value = row.get(key)
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
        raise ConfigError(
            f"{where} {key!r}", value, "Give the answer's quality as a number from 0 to 1 (or true/false)."
        )
    return float(value)


def read_jsonl(path: str | Path, *, keep_prompts: bool = False) -> list[Outcome]:
    """Outcomes from JSON lines ``{"prompt": str, "weak": float, "strong": float}`` (optional
    ``weak_model``, ``strong_model``); a ``ConfigError`` names the line of any bad input."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("outcomes", str(file), f"Cannot read the file ({exc}).") from None
    stamp = file.stat().st_mtime
    outcomes = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{file.name} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(where, line[:80], f"Not JSON ({exc.msg}); write one object a line.") from None
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
            raise ConfigError(where, line[:80], 'Each line needs a "prompt" string, "weak" and "strong" qualities.')
        models = {k: row.get(k, d) for k, d in (("weak_model", DEFAULT_WEAK), ("strong_model", DEFAULT_STRONG))}
        if not all(isinstance(m, str) for m in models.values()):
            raise ConfigError(where, models, "weak_model and strong_model must be strings.")
        outcomes.append(
            Outcome.of(
                row["prompt"],
                weak=_quality(row, "weak", where),
                strong=_quality(row, "strong", where),
                source="file",
                weak_model=models["weak_model"],
                strong_model=models["strong_model"],
                keep_prompt=keep_prompts,
                at=stamp,
            )
        )
    if not outcomes:
        raise ConfigError("outcomes", str(file), "The file holds no outcomes.")
    return outcomes
