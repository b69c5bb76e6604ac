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
from litellm_router_plugin.routing.thresholds import shares_for_cost_cap, thresholds_for_shares, tier_index

THRESHOLD_DECIMALS = 9
"""Decimals of a written threshold: enough to keep apart, nearly always, the strengths of two prompts
the learned classifier tells apart only by its tie-break (typically 1e-8 to 1e-7 apart)."""


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


@dataclass(frozen=True, slots=True)
class TierCalibration:
    """Per-boundary thresholds found, and what they do on the sample."""

    thresholds: list[float]
    shares: list[float]
    """Share of the sample each tier gets, cheapest first."""
    cost_per_1k: float


def calibrate_tiers(
    planner: Planner,
    prompts: Sequence[str],
    *,
    shares: Sequence[float] | None = None,
    max_cost_per_1k: float | None = None,
) -> TierCalibration:
    """Thresholds on the local classifier's strength for every tier boundary.

    ``shares``: the wanted share of traffic per tier, cheapest first. ``max_cost_per_1k``: the largest
    share above the cheapest tier, spread evenly over the other tiers, whose estimated cost fits.
    """
    tiers = planner.tier_map.tiers
    if not prompts:
        raise ConfigError("sample", 0, "Calibrate on at least one prompt.")
    if len(tiers) < 2:
        raise ConfigError("tiers", len(tiers), "Calibration needs at least two tiers.")
    strengths = [planner.local.strength(p) for p in prompts]
    max_tokens = planner.config.default_max_tokens
    tokens = [planner.count_tokens([{"role": "user", "content": p}], p) for p in prompts]
    # Mean cost of one request on each tier's cheapest deployment.
    tier_cost = [
        sum(min(d.price.estimate(t, max_tokens) for d in tier.deployments) for t in tokens) / len(tokens)
        for tier in tiers
    ]

    def per_1k(wanted: Sequence[float]) -> float:
        return 1000 * sum(share * cost for share, cost in zip(wanted, tier_cost, strict=True))

    if shares is None:
        if max_cost_per_1k is None:
            raise ConfigError("calibrate", None, "Give the wanted shares per tier or a cost cap.")
        shares = shares_for_cost_cap(len(tiers), per_1k, max_cost_per_1k)
    if len(shares) != len(tiers):
        raise ConfigError("tier_shares", list(shares), f"Give one share per tier ({len(tiers)}), cheapest first.")
    thresholds = thresholds_for_shares(strengths, shares)
    counts = [0] * len(tiers)
    for s in strengths:
        counts[tier_index(s, thresholds)] += 1
    got = [c / len(strengths) for c in counts]
    return TierCalibration(thresholds, got, per_1k(got))


def write_tier_thresholds(config_path: str | Path, thresholds: Sequence[float]) -> bool:
    """Set ``classifier.tier_thresholds`` in a YAML or JSON config file, and remove the
    ``strong_threshold`` they supersede; ``True`` when one was removed. Nothing else changes."""
    _write_classifier_setting(config_path, "tier_thresholds", [round(t, THRESHOLD_DECIMALS) for t in thresholds])
    return drop_classifier_setting(config_path, "strong_threshold")


def write_threshold(config_path: str | Path, threshold: float) -> bool:
    """Set ``classifier.strong_threshold`` in a YAML or JSON config file, and remove the
    ``tier_thresholds`` that would otherwise still decide (they take precedence); ``True`` when
    they were removed. Nothing else changes.

    YAML is read with ``ruamel.yaml`` to find where the value goes, and edited as text: one line
    changed or added, every comment, quote and indent kept. Only where no line can take it (flow
    style, an empty file, a block-style list to replace) is the document written back by ruamel's
    round trip (comments still kept).
    """
    _write_classifier_setting(config_path, "strong_threshold", round(threshold, THRESHOLD_DECIMALS))
    return drop_classifier_setting(config_path, "tier_thresholds")


def drop_classifier_setting(config_path: str | Path, key: str) -> bool:
    """Remove ``classifier.<key>`` from a YAML or JSON config file (its line, or a round trip that
    keeps comments where it spans lines); ``True`` when it was there."""
    path = Path(config_path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        classifier = _target(data, path).get("classifier")
        if not isinstance(classifier, dict) or key not in classifier:
            return False
        del classifier[key]
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return True
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    data = yaml.load(text)
    classifier = _target(data, path).get("classifier")
    if not isinstance(classifier, CommentedMap) or key not in classifier:
        return False
    old = classifier[key]
    if len(classifier) > 1 and (not isinstance(old, list) or (isinstance(old, CommentedSeq) and old.fa.flow_style())):
        lines = text.splitlines(keepends=True)
        del lines[classifier.lc.key(key)[0]]  # one line: key and value
        path.write_text("".join(lines), encoding="utf-8")
        return True
    del classifier[key]
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return True


def _yaml_scalar(value: float | list[float]) -> str:
    return "[" + ", ".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)


def _write_classifier_setting(config_path: str | Path, key: str, value: float | list[float]) -> None:
    path = Path(config_path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if path.suffix == ".json":
        data = json.loads(text) if text.strip() else {}
        _target(data, path).setdefault("classifier", {})[key] = value
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
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

    old = classifier.get(key) if isinstance(classifier, CommentedMap) else None
    one_line = not isinstance(old, list) or (isinstance(old, CommentedSeq) and old.fa.flow_style())
    shown = _yaml_scalar(value)
    if isinstance(classifier, CommentedMap) and key in classifier and one_line:
        # A second calibration: replace the value where it stands.
        line, column = classifier.lc.value(key)
        head, tail = lines[line][:column], lines[line][column:]
        lines[line] = head + re.sub(r"^(\[[^\]]*\]|[^\s,}#]+)", shown, tail, count=1)
    elif block(classifier) and key not in classifier:
        line, column = classifier.lc.key(next(iter(classifier)))
        lines.insert(line, f"{' ' * column}{key}: {shown}\n")
    elif classifier is None and block(target):
        line, column = target.lc.key(next(iter(target)))
        lines.insert(line, f"{' ' * column}classifier:\n{' ' * (column + 2)}{key}: {shown}\n")
    else:
        if classifier is None:
            classifier = target["classifier"] = CommentedMap()
        classifier[key] = value
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
