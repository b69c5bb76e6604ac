"""Calibration: the classifier threshold that sends a chosen share (or cost) of traffic to the strongest tier."""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.routing.planner import Planner


@dataclass(frozen=True, slots=True)
class Calibration:
    """The threshold found, and what it does on the sample."""

    threshold: float
    strong_share: float
    cost_per_1k: float


def read_prompts(path: str | Path) -> list[str]:
    """Prompts from JSON lines ``{"prompt": ...}``, or from a routing dataset (see ``load_dataset``)."""
    source = Path(path)
    if source.is_file() and source.suffix == ".jsonl":
        rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        if rows and all(isinstance(r, dict) and isinstance(r.get("prompt"), str) for r in rows):
            return [r["prompt"] for r in rows]
    from litellm_router_plugin.evaluation.routing_bench import load_dataset

    return [s.prompt for s in load_dataset(source)]


def calibrate_threshold(
    planner: Planner,
    prompts: Sequence[str],
    *,
    strong_share: float | None = None,
    max_cost_per_1k: float | None = None,
) -> Calibration:
    """The threshold on the local classifier's strength meeting ``strong_share`` or ``max_cost_per_1k``."""
    if not prompts:
        raise ConfigError("sample", 0, "Calibrate on at least one prompt.")
    if len(planner.tier_map.tiers) < 2:
        raise ConfigError("tiers", len(planner.tier_map.tiers), "Calibration needs at least two tiers.")
    strengths = sorted((planner.local.strength(p) for p in prompts), reverse=True)
    n = len(strengths)
    max_tokens = planner.config.default_max_tokens
    tokens = [planner.count_tokens([{"role": "user", "content": p}], p) for p in prompts]
    below = planner.tier_map.tiers[-2].deployments
    strong_cost = sum(planner.tier_map.strongest_estimate(t, max_tokens) for t in tokens) / n
    weak_cost = sum(min(d.price.estimate(t, max_tokens) for d in below) for t in tokens) / n

    def per_1k(share: float) -> float:
        return 1000 * (share * strong_cost + (1 - share) * weak_cost)

    if strong_share is not None:
        if not 0 <= strong_share <= 1 or math.isnan(strong_share):
            raise ConfigError("strong_share", strong_share, "Give a share between 0 and 1, e.g. 0.3.")
        k = round(strong_share * n)
    else:
        assert max_cost_per_1k is not None
        if not max_cost_per_1k > 0:
            raise ConfigError("max_cost_per_1k_requests", max_cost_per_1k, "Give a positive amount in USD.")
        k = max((k for k in range(n + 1) if per_1k(k / n) <= max_cost_per_1k), default=0)
    # Prompts at or above the threshold go strong: put it just above the (k+1)-th strength.
    if k == 0:
        threshold = strengths[0] + 1.0
    elif k >= n:
        threshold = strengths[-1]
    else:
        threshold = (strengths[k - 1] + strengths[k]) / 2 if strengths[k - 1] != strengths[k] else strengths[k - 1]
    share = sum(s >= threshold for s in strengths) / n
    return Calibration(threshold, share, per_1k(share))


def write_threshold(config_path: str | Path, threshold: float) -> None:
    """Set ``classifier.strong_threshold`` in a YAML or JSON config file, changing nothing else.

    YAML is read with ``ruamel.yaml`` to find where the value goes, and edited as text: one line
    changed or added, every comment, quote and indent kept. Only where no line can take it (flow
    style, an empty file) is the document written back by ruamel's round trip (comments still kept).
    """
    path = Path(config_path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    value = round(threshold, 4)
    if path.suffix == ".json":
        data = json.loads(text) if text.strip() else {}
        _target(data, path).setdefault("classifier", {})["strong_threshold"] = value
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    yaml = YAML()  # round-trip mode
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    try:
        data = yaml.load(text) if text.strip() else CommentedMap()
    except YAMLError as exc:
        raise ConfigError("config", str(path), f"Not valid YAML: {exc}") from exc
    target = _target(data, path)
    classifier = target.get("classifier")
    if classifier is not None and not isinstance(classifier, dict):
        raise ConfigError("classifier", str(path), "It must be a mapping of classifier settings.")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"

    def block(mapping: Any) -> TypeGuard[CommentedMap]:
        return isinstance(mapping, CommentedMap) and len(mapping) > 0 and not mapping.fa.flow_style()

    if isinstance(classifier, CommentedMap) and "strong_threshold" in classifier:
        # A second calibration: replace the value where it stands.
        line, column = classifier.lc.value("strong_threshold")
        head, tail = lines[line][:column], lines[line][column:]
        lines[line] = head + re.sub(r"^[^\s,}#]+", str(value), tail, count=1)
    elif block(classifier):
        line, column = classifier.lc.key(next(iter(classifier)))
        lines.insert(line, f"{' ' * column}strong_threshold: {value}\n")
    elif classifier is None and block(target):
        line, column = target.lc.key(next(iter(target)))
        lines.insert(line, f"{' ' * column}classifier:\n{' ' * (column + 2)}strong_threshold: {value}\n")
    else:
        if classifier is None:
            classifier = target["classifier"] = CommentedMap()
        classifier["strong_threshold"] = value
        buffer = io.StringIO()
        yaml.dump(data, buffer)
        lines = [buffer.getvalue()]
    path.write_text("".join(lines), encoding="utf-8")


def _target(data: object, path: Path) -> dict[str, Any]:
    """The mapping holding the settings: the document, or its ``router_plugin`` key."""
    target = data.get("router_plugin", data) if isinstance(data, dict) else None
    if not isinstance(target, dict):
        raise ConfigError("config", str(path), "The file must hold a mapping of settings.")
    return target
