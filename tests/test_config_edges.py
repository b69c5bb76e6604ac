"""Config mistakes a new user makes (issue 26): misspelt fields, empty files, time zones, YAML errors;
``calibrate`` runs that supersede each other."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from litellm_router_plugin import ConfigError, Planner, PluginConfig
from litellm_router_plugin.cli import app
from litellm_router_plugin.pipeline.policy_rules import parse_policy
from tests.test_calibration import PROMPTS, sample_file

runner = CliRunner()
THREE = {
    "tiers": [
        {"name": "cheap", "deployments": ["gpt-4o-mini"]},
        {"name": "mid", "deployments": ["gpt-4o"]},
        {"name": "strong", "deployments": ["claude-sonnet-4-5"]},
    ]
}


def test_a_misspelt_field_is_named_not_the_field_it_hides() -> None:
    with pytest.raises(ConfigError) as caught:
        PluginConfig.load({"tiers": [{"name": "cheap", "deploymnets": ["gpt-4o-mini"]}]})
    assert caught.value.field == "tiers[0].deploymnets"
    assert "fix its spelling; known fields: name, deployments" in str(caught.value)


def test_an_empty_config_file_is_an_error(tmp_path: Path) -> None:
    for text in ("", "# only a comment\n"):
        empty = tmp_path / "plugin.yaml"
        empty.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match="The file is empty"):
            PluginConfig.load(empty)
    result = runner.invoke(app, ["route", "Hi!", "--config", str(empty)])
    assert result.exit_code == 2
    assert result.output.startswith("error: config: invalid value")


@pytest.mark.parametrize("command", [["route", "Hi!"], ["stats"]])
def test_an_unknown_time_zone_is_refused_at_load(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "plugin.yaml"
    config.write_text("budgets:\n  timezone: Mars/Olympus\n", encoding="utf-8")
    result = runner.invoke(app, [*command, "--config", str(config)])
    assert result.exit_code == 2
    assert result.output.startswith("error: budgets.timezone: invalid value 'Mars/Olympus'. Not an IANA time zone")
    assert PluginConfig.load({"budgets": {"timezone": "Europe/Paris"}}).budgets.timezone == "Europe/Paris"


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "plugin.yaml"
    broken.write_text("tiers: [\n  a: b\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        PluginConfig.load(broken)
    assert f'in "{broken}", line' in str(caught.value)
    assert "<unicode string>" not in str(caught.value)
    with pytest.raises(ConfigError, match=r'in "policy\.yaml", line'):
        parse_policy("tiers: [\n", "policy.yaml")


def test_calibrate_strong_share_replaces_the_tier_thresholds_it_supersedes(tmp_path: Path) -> None:
    config = tmp_path / "plugin.yaml"
    config.write_text("# mine\n" + yaml.safe_dump(THREE), encoding="utf-8")
    sample = str(sample_file(tmp_path))
    first = runner.invoke(app, ["calibrate", "-c", str(config), "--tier-shares", "0.5,0.3,0.2", "--sample", sample])
    assert first.exit_code == 0, first.output
    assert PluginConfig.load(config).classifier.tier_thresholds
    second = runner.invoke(app, ["calibrate", "-c", str(config), "--strong-share", "0.0", "--sample", sample])
    assert second.exit_code == 0, second.output
    assert "0.0% of 10 sample prompts go to the strongest tier" in second.stdout
    assert "classifier.tier_thresholds removed" in second.stderr
    written = PluginConfig.load(config)
    assert not written.classifier.tier_thresholds
    assert config.read_text(encoding="utf-8").startswith("# mine\n")  # comments kept
    planner = Planner(written)
    routed = [planner.route(planner.local.classify(p)).tiers[0].name for p in PROMPTS]
    assert "strong" not in routed  # what the command reported is what routing does
    third = runner.invoke(app, ["calibrate", "-c", str(config), "--tier-shares", "0.5,0.3,0.2", "--sample", sample])
    assert "classifier.strong_threshold removed" in third.stderr
    assert PluginConfig.load(config).classifier.strong_threshold is None


def test_a_threshold_decision_tells_one_story() -> None:
    planner = Planner(PluginConfig.load({**THREE, "classifier": {"tier_thresholds": [100.0, 200.0]}}))
    route = planner.route(planner.local.classify("Prove rigorously that there are infinitely many primes."))
    assert route.tiers[0].name == "cheap"
    assert route.reason.startswith("strength ")
    assert "in tier band 0 of 3: cheap (category " in route.reason
    assert "-> strong" not in route.reason  # no second tier named as if chosen
