from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from litellm_router_plugin import ConfigError, Planner, PluginConfig
from litellm_router_plugin.cli import app
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.evaluation.calibration import calibrate_threshold, write_threshold
from tests.conftest import TWO_TIERS, user

PROMPTS = [
    "Hi!",
    "Thanks",
    "What is the capital of Peru?",
    "Summarise this article about tides in three sentences.",
    "Write a Python function that merges two sorted lists, with unit tests.",
    "Write a SQL query with a window function ranking customers by revenue.",
    "Prove that there are infinitely many primes.",
    "Design a step-by-step migration plan and evaluate the trade-offs.",
    "Explain why the sky is blue.",
    "Translate 'hello' to French.",
]


def sample_file(tmp_path: Path) -> Path:
    """PROMPTS as a calibration sample: JSON lines of {"prompt": ...}."""
    sample = tmp_path / "prompts.jsonl"
    sample.write_text("\n".join(json.dumps({"prompt": p}) for p in PROMPTS))
    return sample


@pytest.mark.parametrize("share", [0.0, 0.3, 0.5, 1.0])
def test_threshold_sends_the_asked_share_to_the_strongest_tier(share: float) -> None:
    planner = Planner(PluginConfig.load(TWO_TIERS))
    result = calibrate_threshold(planner, PROMPTS, strong_share=share)
    assert result.strong_share == pytest.approx(share, abs=0.1)
    tuned = Planner(PluginConfig.load({**TWO_TIERS, "classifier": {"strong_threshold": result.threshold}}))
    routed = [tuned.route(tuned.local.classify(p)).tiers[0].name for p in PROMPTS]
    assert routed.count("strong") / len(PROMPTS) == pytest.approx(result.strong_share)


def test_max_cost_per_1k_requests_picks_the_largest_share_that_fits() -> None:
    planner = Planner(PluginConfig.load(TWO_TIERS))
    cheapest = calibrate_threshold(planner, PROMPTS, strong_share=0.0).cost_per_1k
    dearest = calibrate_threshold(planner, PROMPTS, strong_share=1.0).cost_per_1k
    budget = cheapest + (dearest - cheapest) * 0.45
    result = calibrate_threshold(planner, PROMPTS, max_cost_per_1k=budget)
    assert result.cost_per_1k <= budget
    assert result.strong_share == pytest.approx(0.4)


def test_bad_calibration_input() -> None:
    planner = Planner(PluginConfig.load(TWO_TIERS))
    with pytest.raises(ConfigError, match="strong_share"):
        calibrate_threshold(planner, PROMPTS, strong_share=1.5)
    with pytest.raises(ConfigError, match="sample"):
        calibrate_threshold(planner, [], strong_share=0.5)


def test_calibrate_command_writes_the_config(tmp_path: Path) -> None:
    config = tmp_path / "plugin.yaml"
    config.write_text(yaml.safe_dump(TWO_TIERS))
    sample = sample_file(tmp_path)
    result = CliRunner().invoke(
        app, ["calibrate", "--config", str(config), "--strong-share", "0.3", "--sample", str(sample)]
    )
    assert result.exit_code == 0, result.output
    assert "30.0% of 10 sample prompts go to the strongest tier" in result.output
    written = PluginConfig.load(config)
    assert written.classifier.strong_threshold is not None
    assert [t.name for t in written.tiers] == ["cheap", "strong"]
    hard = Planner(written).route(Planner(written).local.classify(PROMPTS[6]))
    assert hard.tiers[0].name == "strong"
    assert Planner(written).route(Planner(written).local.classify("Hi!")).tiers[0].name == "cheap"
    assert CliRunner().invoke(app, ["calibrate", "--config", str(config)]).exit_code == 2


async def test_the_threshold_is_used_in_routing() -> None:
    planner = Planner(PluginConfig.load({**TWO_TIERS, "classifier": {"strong_threshold": 100.0}}))
    decision = await planner.decide(user("Prove rigorously that sqrt(2) is irrational."))
    assert decision.tier == "cheap"
    assert "< threshold 100: cheap" in decision.reason


def test_calibrate_edits_only_the_threshold_and_keeps_comments(tmp_path: Path) -> None:
    config = tmp_path / "plugin.yaml"
    original = (
        "# my routing config\n"
        "router_plugin:\n"
        "  alias: auto   # what clients ask for\n"
        "  tiers:\n"
        "    - name: cheap\n"
        "      deployments: [gpt-4o-mini]   # the workhorse\n"
        "    - name: strong\n"
        "      deployments: ['gpt-4o']\n"
        "  classifier:\n"
        "    kind: heuristic  # no LLM call\n"
        "    strong_threshold: 0.1\n"
    )
    config.write_text(original)
    sample = sample_file(tmp_path)
    result = CliRunner().invoke(
        app, ["calibrate", "--config", str(config), "--strong-share", "0.3", "--sample", str(sample)]
    )
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    written = config.read_text()
    threshold = PluginConfig.load(config).classifier.strong_threshold
    assert threshold is not None
    assert threshold != 0.1
    assert written == original.replace("strong_threshold: 0.1", f"strong_threshold: {threshold}")


def test_calibrating_on_the_shipped_benchmark_warns(tmp_path: Path) -> None:
    config = tmp_path / "plugin.json"
    config.write_text(json.dumps(TWO_TIERS))
    sample = MMLU_DATASET / "responses" / "mmlu_anatomy.csv.gz"
    result = CliRunner().invoke(
        app, ["calibrate", "--config", str(config), "--strong-share", "0.5", "--sample", str(sample)]
    )
    assert result.exit_code == 0, result.output
    assert "warning: the sample is the shipped MMLU benchmark, not your traffic" in result.output
    assert PluginConfig.load(config).classifier.strong_threshold is not None


def test_a_first_calibration_adds_the_threshold_and_keeps_comments(tmp_path: Path) -> None:
    config = tmp_path / "plugin.yaml"
    original = "# tiers for the demo\n" + yaml.safe_dump(TWO_TIERS, sort_keys=False) + "# end\n"
    config.write_text(original)
    write_threshold(config, 0.1234567891234)
    written = config.read_text()
    assert written.replace("classifier:\n  strong_threshold: 0.123456789\n", "", 1) == original  # two lines added
    assert PluginConfig.load(config).classifier.strong_threshold == 0.123456789  # 9 decimals kept
    assert PluginConfig.load(config).tiers == PluginConfig.load(TWO_TIERS).tiers
