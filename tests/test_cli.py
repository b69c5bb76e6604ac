from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from litellm_router_plugin.cli import app

runner = CliRunner()


def test_demo_routes_over_at_least_three_tiers_and_prints_savings() -> None:
    result = runner.invoke(app, ["demo"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    found = re.search(r"(\d+) prompts over (\d+) tiers", result.output)
    assert found is not None
    assert int(found.group(1)) >= 20
    assert int(found.group(2)) >= 3
    saved = re.search(
        r"routed \$([\d.]+) vs all to the strongest tier \(reasoning\) \$([\d.]+): ([\d.]+)% saved", result.output
    )
    assert saved is not None, result.output
    routed, strongest = float(saved.group(1)), float(saved.group(2))
    assert 0 < routed < strongest


def test_route_prints_one_decision_as_json() -> None:
    result = runner.invoke(app, ["route", "Write a SQL query joining orders and customers by region"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["analysis"]["category"] in ("moderate", "complex")
    assert decision["tier"] == decision["analysis"]["category"]
    assert decision["estimated_cost_usd"] > 0


def test_config_option_and_its_errors(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("alias: smart\ntiers:\n  - name: one\n    deployments: [gpt-4o-mini]\n")
    result = runner.invoke(app, ["route", "--config", str(config), "hello"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["model"] == "gpt-4o-mini"

    config.write_text("tiers:\n  - name: one\n    deployments: [gpt-4o-minii]\n")
    result = runner.invoke(app, ["demo", "--config", str(config)])
    assert result.exit_code == 2
    assert "gpt-4o-mini" in result.output
    assert "Nearest keys" in result.output
