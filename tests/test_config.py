from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from litellm_router_plugin import ConfigError, PluginConfig
from litellm_router_plugin.config import ConfigWarning
from tests.conftest import TWO_TIERS


def tiers(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "deployments": ["gpt-4o-mini"]} for n in names]


@pytest.mark.parametrize(
    ("data", "field", "hint"),
    [
        ({"tierz": []}, "tierz", "known fields: alias, tiers"),
        ({"tiers": []}, "tiers", "at least 1"),
        ({"tiers": [{"name": "a", "deployments": []}]}, "tiers[0]", "neither `deployments` nor `model_groups`"),
        ({"tiers": [{"name": "a", "model_groups": ["g", "g"]}]}, "tiers[0].model_groups", "more than once: g"),
        ({"tiers": [{"name": "a b", "deployments": ["gpt-4o"]}]}, "tiers[0].name", "pattern"),
        ({"tiers": [{"name": "a", "deployments": [{"litellm_params": {}}]}]}, "tiers[0].deployments[0].model", ""),
        (
            {"tiers": [{"name": "a", "deployments": [{"model": "x", "litellm_params": {"model": "y"}}]}]},
            "tiers[0].deployments[0].litellm_params",
            "give the model once",
        ),
        ({"tiers": tiers("a", "a")}, "tiers[1].name", "used twice"),
        ({"alias": "a", "tiers": tiers("a", "b")}, "alias", "pick an alias no tier uses"),
        ({"tiers": tiers("a"), "category_tiers": {"simple": "nope"}}, "category_tiers.simple", "use one of: a"),
        ({"category_tiers": {"trivial": "simple"}}, "category_tiers.trivial", "simple"),
        ({"classifier": {"kind": "llm"}}, "classifier.kind", "'heuristic', 'learned' or 'agent'"),
        ({"classifier": {"timeout_seconds": 0}}, "classifier.timeout_seconds", "greater than 0"),
        ({"classifier": {"cache_size": 0}}, "classifier.cache_size", "greater than or equal to 1"),
        ({"default_max_tokens": -5}, "default_max_tokens", "greater than or equal to 1"),
        ({"breaker": {"failure_status_codes": [200]}}, "breaker.failure_status_codes", "between 400 and 599"),
        ({"budgets": {"on_store_error": "ignore"}}, "budgets.on_store_error", "'fail_closed' or 'fail_open'"),
        ({"budgets": {"global": {"daily": -1}}}, "budgets.global.daily", "greater than or equal to 0"),
        ({"store": {"kind": "etcd"}}, "store.kind", "'memory' or 'redis'"),
        ({"breaker": {"recovery_timeout": float("inf")}}, "breaker.recovery_timeout", "finite number of seconds"),
        ({"breaker": {"window_seconds": float("nan")}}, "breaker.window_seconds", "write e.g. 30"),
        ({"breaker": {"recovery_timeout": 0}}, "breaker.recovery_timeout", "above 0"),
        ({"budgets": {"lease_seconds": float("inf")}}, "budgets.lease_seconds", "to 86400 (a day)"),
        ({"budgets": {"lease_seconds": 1e12}}, "budgets.lease_seconds", "to 86400 (a day)"),
        ({"classifier": {"timeout_seconds": float("inf")}}, "classifier.timeout_seconds", "less than or equal to 60"),
        (
            {
                "tiers": [
                    {"name": "a", "deployments": [{"model": "m", "litellm_params": {"input_cost_per_token": 1e-7}}]}
                ]
            },
            "tiers[0].deployments[0].litellm_params",
            "without output_cost_per_token; give both",
        ),
        (
            {"custom_prices": {"m": {"input_cost_per_token": -1, "output_cost_per_token": 0}}},
            "custom_prices.m.input_cost_per_token",
            "greater than or equal to 0",
        ),
        (
            {"custom_prices": {"m": {"input_cost_per_token": float("nan"), "output_cost_per_token": 0}}},
            "custom_prices.m.input_cost_per_token",
            "",
        ),
        (
            {"custom_prices": {"m": {"input_cost_per_token": float("inf"), "output_cost_per_token": 0}}},
            "custom_prices.m.input_cost_per_token",
            "finite",
        ),
    ],
)
def test_invalid_config_names_field_and_fix(data: dict[str, Any], field: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        PluginConfig.load(data)
    assert info.value.field == field
    assert hint in str(info.value)
    assert str(info.value).startswith(f"{field}: invalid value")


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read the file"):
        PluginConfig.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tiers: [unclosed\n")
    with pytest.raises(ConfigError, match="Not valid YAML/JSON"):
        PluginConfig.load(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        PluginConfig.load(scalar)


def test_loads_yaml_json_and_nested_key(tmp_path: Path) -> None:
    as_json = tmp_path / "c.json"
    as_json.write_text(json.dumps(TWO_TIERS))
    as_yaml = tmp_path / "c.yaml"
    as_yaml.write_text("router_plugin:\n  alias: smart\n  tiers:\n    - name: only\n      deployments: [gpt-4o]\n")
    assert [t.name for t in PluginConfig.load(as_json).tiers] == ["cheap", "strong"]
    nested = PluginConfig.load(as_yaml)
    assert nested.alias == "smart"
    assert nested.tiers[0].deployments[0].model == "gpt-4o"


def test_litellm_style_deployment_is_accepted() -> None:
    config = PluginConfig.load(
        {"tiers": [{"name": "a", "deployments": [{"litellm_params": {"model": "gpt-4o", "api_base": "http://x"}}]}]}
    )
    dep = config.tiers[0].deployments[0]
    assert (dep.model, dep.litellm_params) == ("gpt-4o", {"api_base": "http://x"})


def test_default_config_has_four_named_tiers_mapped_by_name() -> None:
    config = PluginConfig.load(None)
    assert [t.name for t in config.tiers] == ["simple", "moderate", "complex", "reasoning"]
    assert config.tier_for_category() == {c: c for c in ("simple", "moderate", "complex", "reasoning")}


def test_custom_tier_names_spread_categories_by_position() -> None:
    config = PluginConfig.load({"tiers": tiers("local", "cloud", "frontier"), "category_tiers": {"moderate": "local"}})
    assert config.tier_for_category() == {
        "simple": "local",
        "moderate": "local",
        "complex": "cloud",
        "reasoning": "frontier",
    }


def test_example_config_loads() -> None:
    config = PluginConfig.load(Path(__file__).parent.parent / "examples" / "config.yaml")
    assert config.alias == "auto"


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"per_key": {"daily": 0}}, r"budgets\.per_key\.daily: 0 refuses every request of this scope"),
        (
            {"global": {"per_request": 2.0, "daily": 1.0}},
            r"budgets\.global\.per_request \(2\.0\) is above budgets\.global\.daily \(1\.0\), so it never applies",
        ),
    ],
)
def test_suspicious_budgets_warn_at_load(limits: dict[str, object], message: str) -> None:
    with pytest.warns(ConfigWarning, match=message):
        PluginConfig.load({"budgets": limits})


def test_sensible_budgets_load_quietly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PluginConfig.load({"budgets": {"per_key": {"per_request": 0.5, "daily": 5.0}, "per_user": {"daily": 1.0}}})


def test_the_cli_prints_config_warnings_as_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from litellm_router_plugin.cli import app

    config = tmp_path / "c.yaml"
    config.write_text("budgets:\n  per_team: {daily: 0}\n")
    result = CliRunner().invoke(app, ["route", "--config", str(config), "hi"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "warning: budgets.per_team.daily: 0 refuses every request of this scope. "
        "Remove it for no daily limit, or give a positive amount in USD."
    )
