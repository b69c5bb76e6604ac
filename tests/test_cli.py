from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
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


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_errors_are_one_verbatim_line_with_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("tiers: [\n  deployments: [x]: y\n")  # brackets and colons: rich markup would eat them
    for command in (["demo"], ["route", "hi"], ["stats"], ["score"], ["serve"]):
        result = runner.invoke(app, [*command, "--config", str(config)], env={"COLUMNS": "60"})
        assert result.exit_code == 2, (command, result.output)
        [line] = error_lines(result.output)
        assert line.startswith(f"error: config: invalid value '{config}'. Not valid YAML/JSON: ")
        assert "tiers: [ ^ expected ',' or ']', but got ':'" in line


def test_demo_with_an_unreachable_redis_prints_one_line() -> None:
    config = {"store": {"kind": "redis", "url": "redis://127.0.0.1:1/0", "prefix": "cli-dead"}}
    result = runner.invoke(app, ["demo", "--config", json_file(config)])
    assert result.exit_code == 1
    [line] = error_lines(result.output)
    assert line.startswith("error: Redis at redis://127.0.0.1:1/0 is unreachable")


def json_file(data: object) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(data, out)
    return out.name


def test_demo_says_1_tier_not_1_tiers() -> None:
    result = runner.invoke(
        app, ["demo", "--config", json_file({"tiers": [{"name": "one", "deployments": ["gpt-4o"]}]})]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"\b20 prompts over 1 tier \(one\)", result.output)


def test_route_reads_the_prompt_from_stdin_or_a_file(tmp_path: Path) -> None:
    hard = "Prove that there are infinitely many primes. " * 5000  # too long for an argument list
    from_stdin = runner.invoke(app, ["route", "-"], input=hard)
    assert from_stdin.exit_code == 0, from_stdin.output
    prompt = tmp_path / "prompt.txt"
    prompt.write_text(hard, encoding="utf-8")
    from_file = runner.invoke(app, ["route", "--file", str(prompt)])
    assert from_file.exit_code == 0, from_file.output
    assert json.loads(from_stdin.output)["prompt_tokens"] == json.loads(from_file.output)["prompt_tokens"] > 40000
    literal = json.loads(runner.invoke(app, ["route", "hi"]).output)
    assert literal["prompt_tokens"] < 20

    prompt.write_bytes(b"caf\xe9")
    bad = runner.invoke(app, ["route", "--file", str(prompt)])
    assert bad.exit_code == 2
    assert error_lines(bad.output) == [f"error: --file {prompt}: not valid UTF-8 (byte 3); convert the text to UTF-8"]
    assert runner.invoke(app, ["route"]).exit_code == 2
    assert runner.invoke(app, ["route", "-"], input="  \n").exit_code == 2


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b'{"prompt": "hi"}\n{"prompt": 5}\n', 'error: line 2: expected a JSON object with a "prompt" string, got int'),
        (
            b'{"prompt": "hi"}\n\n{"text": "hi"}\n',
            'error: line 3: expected a JSON object with a "prompt" string, got no prompt',
        ),
        (b'{"prompt": "caf\xe9"}\n', "error: line 1: not valid UTF-8 (byte 15); convert the text to UTF-8"),
        (b'["hi"]\n', 'error: line 1: expected a JSON object with a "prompt" string, got no prompt'),
        (
            b"{oops\n",
            "error: line 1: not JSON (Expecting property name enclosed in double quotes); "
            'write one object {"prompt": "..."} a line',
        ),
    ],
)
def test_score_rejects_bad_lines_naming_them(stdin: bytes, message: str) -> None:
    result = runner.invoke(app, ["score"], input=stdin)
    assert result.exit_code == 2
    assert error_lines(result.output)[-1] == message


def test_score_writes_one_float_per_prompt() -> None:
    result = runner.invoke(app, ["score"], input='{"prompt": "hi"}\n{"prompt": "Prove Fermat\'s last theorem."}\n')
    assert result.exit_code == 0, result.output
    low, high = (float(x) for x in result.output.split())
    assert low < high
