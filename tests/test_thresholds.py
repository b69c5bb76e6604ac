"""Strength -> tier thresholds: the pure mapping, calibration to shares or a cost cap, and routing by them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from litellm_router_plugin import ConfigError, Planner, PluginConfig
from litellm_router_plugin.cli import app
from litellm_router_plugin.evaluation.calibration import calibrate_tiers
from litellm_router_plugin.routing.thresholds import (
    shares_for_cost_cap,
    strength_route,
    thresholds_for_shares,
    tier_index,
)
from tests.test_calibration import PROMPTS, sample_file


def test_tier_index_puts_a_strength_on_the_threshold_in_the_upper_tier() -> None:
    thresholds = [2.0, 5.0, 8.0]
    assert [tier_index(s, thresholds) for s in (0.0, 1.99, 2.0, 4.9, 5.0, 7.99, 8.0, 11.0)] == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize(
    "shares", [[0.25, 0.25, 0.25, 0.25], [0.7, 0.2, 0.08, 0.02], [0.0, 0.5, 0.5, 0.0], [1, 0, 0, 0]]
)
def test_thresholds_hit_the_wanted_shares(shares: list[float]) -> None:
    strengths = [i * 0.37 % 10 for i in range(1000)]  # distinct values
    thresholds = thresholds_for_shares(strengths, shares)
    assert thresholds == sorted(thresholds)
    counts = [0, 0, 0, 0]
    for s in strengths:
        counts[tier_index(s, thresholds)] += 1
    assert [c / 1000 for c in counts] == pytest.approx(shares, abs=0.002)


def test_bad_shares_are_refused() -> None:
    with pytest.raises(ConfigError, match="summing to 1"):
        thresholds_for_shares([1.0, 2.0], [0.5, 0.6])
    with pytest.raises(ConfigError, match="at least one prompt"):
        thresholds_for_shares([], [0.5, 0.5])


def test_cost_cap_spreads_the_largest_affordable_share() -> None:
    cost = [1.0, 2.0, 3.0]  # per 1k requests on each tier

    def cost_of(shares: list[float]) -> float:
        return sum(s * c for s, c in zip(shares, cost, strict=True))

    shares = shares_for_cost_cap(3, cost_of, 1.5)
    assert cost_of(shares) <= 1.5
    assert shares[1] == pytest.approx(shares[2])
    assert shares[0] == pytest.approx(2 / 3, abs=0.002)  # 1 + f * 1.5 = 1.5


def test_strength_route_keeps_the_strong_threshold_meaning() -> None:
    assert strength_route(7.0, 1, 4, thresholds=None, strong=None) is None
    assert strength_route(7.0, 1, 4, thresholds=None, strong=6.0) == (3, "strength 7.00 >= threshold 6")
    assert strength_route(5.0, 3, 4, thresholds=None, strong=6.0) == (2, "strength 5.00 < threshold 6")
    assert strength_route(5.0, 1, 4, thresholds=None, strong=6.0) is None
    assert strength_route(5.0, 3, 4, thresholds=[2, 4, 6], strong=1.0) == (2, "strength 5.00 in tier band 2 of 4")
    assert strength_route(5.0, 0, 1, thresholds=[], strong=1.0) is None


def test_planner_routes_every_tier_by_its_thresholds() -> None:
    planner = Planner(PluginConfig.load({"classifier": {"tier_thresholds": [2.0, 4.0, 7.0]}}))
    names = planner.tier_map.names
    for prompt in PROMPTS:
        analysis = planner.local.classify(prompt)
        assert analysis.strength is not None
        expected = names[tier_index(analysis.strength, [2.0, 4.0, 7.0])]
        route = planner.route(analysis)
        assert route.tiers[0].name == expected
        assert "tier band" in route.reason


def test_thresholds_must_match_the_tiers() -> None:
    with pytest.raises(ConfigError, match="one threshold per boundary"):
        PluginConfig.load({"classifier": {"tier_thresholds": [1.0, 2.0]}})
    with pytest.raises(ConfigError, match="ascending"):
        PluginConfig.load({"classifier": {"tier_thresholds": [3.0, 2.0, 4.0]}})


def test_calibrate_tiers_and_the_command(tmp_path: Path) -> None:
    planner = Planner(PluginConfig())
    result = calibrate_tiers(planner, PROMPTS, shares=[0.4, 0.3, 0.2, 0.1])
    assert result.shares == pytest.approx([0.4, 0.3, 0.2, 0.1])
    dearer = calibrate_tiers(planner, PROMPTS, shares=[0.1, 0.2, 0.3, 0.4])
    assert dearer.cost_per_1k > result.cost_per_1k
    capped = calibrate_tiers(planner, PROMPTS, max_cost_per_1k=result.cost_per_1k)
    assert capped.cost_per_1k <= result.cost_per_1k

    config = tmp_path / "plugin.yaml"
    config.write_text(yaml.safe_dump({"alias": "auto"}))
    sample = sample_file(tmp_path)
    out = CliRunner().invoke(
        app, ["calibrate", "--config", str(config), "--tier-shares", "0.4,0.3,0.2,0.1", "--sample", str(sample)]
    )
    assert out.exit_code == 0, out.output
    assert "simple 40.0%, moderate 30.0%, complex 20.0%, reasoning 10.0%" in out.output
    written = PluginConfig.load(config)
    assert written.classifier.tier_thresholds == pytest.approx(result.thresholds, abs=1e-6)
    tuned = Planner(written)
    routed = [tuned.route(tuned.local.classify(p)).tiers[0].name for p in PROMPTS]
    assert [routed.count(n) for n in tuned.tier_map.names] == [4, 3, 2, 1]
    bad = CliRunner().invoke(
        app, ["calibrate", "--config", str(config), "--tier-shares", "0.5,0.5", "--sample", str(sample)]
    )
    assert bad.exit_code == 2
    assert "one share per tier" in bad.output


def test_tier_thresholds_are_written_in_place_keeping_comments(tmp_path: Path) -> None:
    from litellm_router_plugin.evaluation.calibration import write_tier_thresholds

    config = tmp_path / "plugin.yaml"
    config.write_text("# my config\nalias: auto  # keep\nclassifier:\n  kind: heuristic\n")
    write_tier_thresholds(config, [1.5, 3.25, 7.0])
    write_tier_thresholds(config, [2.0, 4.0, 8.0])  # a second calibration replaces the first
    text = config.read_text()
    assert "# my config" in text
    assert "alias: auto  # keep" in text
    assert text.count("tier_thresholds") == 1
    assert PluginConfig.load(config).classifier.tier_thresholds == [2.0, 4.0, 8.0]
