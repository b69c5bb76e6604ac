from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from litellm_router_plugin import ConfigError
from litellm_router_plugin.cli import app
from litellm_router_plugin.evaluation.evals import EvalSuite, MaxCostUSD, eval_case, report, run_case

CASES = textwrap.dedent(
    """
    import litellm
    from litellm_router_plugin.evaluation.evals import EvalSuite, MaxCostUSD, eval_case

    async def call(model):
        r = await litellm.acompletion(model=model, messages=[{"role": "user", "content": "hi"}])
        return {"output": r.choices[0].message.content}

    @eval_case(max_cost_usd=0.001)
    async def cheap_call():
        return await call("gpt-4o-mini")          # 10 in / 20 out tokens mocked: $0.0000135

    @eval_case
    async def expensive_call():
        return await call("gpt-4o")               # $0.000225

    @eval_case
    def reported_cost():
        return {"cost_usd": 0.5}

    @eval_case
    def structural():
        return {"ok": True}

    suite = EvalSuite(
        cases=[expensive_call, reported_cost, structural],
        metrics=[MaxCostUSD(0.0001, apply_to=["expensive_call"]), MaxCostUSD(1.0, apply_to=["reported_cost"])],
    )
    """
)


def test_cli_prints_cases_metrics_and_totals_and_exits_non_zero_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "evals_cost.py"
    path.write_text(CASES)
    result = CliRunner().invoke(app, ["test", str(path)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Running 4 eval cases..."
    assert "expensive_call ✗" in lines
    assert "  MaxCostUSD ... FAIL ($0.000225 >= $0.0001)" in lines
    assert "reported_cost ✓" in lines
    assert "  MaxCostUSD ... PASS ($0.5 < $1)" in lines
    assert "  (no cost metrics — structural test)" in lines
    assert "cheap_call ✓" in lines
    assert "  max_cost_usd ... PASS ($0.0000135 < $0.001)" in lines
    assert lines[-1] == "3 passed, 1 failed | total cost: $0.5002385"


def test_cli_exit_zero_when_all_pass(tmp_path: Path) -> None:
    path = tmp_path / "evals_ok.py"
    path.write_text(CASES.replace("MaxCostUSD(0.0001,", "MaxCostUSD(0.001,"))
    result = CliRunner().invoke(app, ["test", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("4 passed, 0 failed")


def test_cli_errors(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["test", str(tmp_path / "missing")]).exit_code == 2
    (tmp_path / "empty.py").write_text("x = 1\n")
    result = CliRunner().invoke(app, ["test", str(tmp_path / "empty.py")])
    assert result.exit_code == 2
    assert "no eval cases" in result.output


async def test_a_raising_case_fails_with_its_error() -> None:
    @eval_case(max_cost_usd=1.0)
    async def broken() -> dict[str, object]:
        raise RuntimeError("pipeline exploded")

    result = await run_case(broken)
    assert not result.passed
    lines: list[str] = []
    assert not report([result], lines.append)
    assert "  error: RuntimeError: pipeline exploded" in lines


async def test_suite_metrics_apply_only_where_named() -> None:
    @eval_case
    def a() -> dict[str, float]:
        return {"cost_usd": 2.0}

    @eval_case
    def b() -> dict[str, float]:
        return {"cost_usd": 2.0}

    results = await EvalSuite([a, b], [MaxCostUSD(1.0, apply_to=["a"])]).run()
    assert [r.passed for r in results] == [False, True]


def test_bad_threshold() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        MaxCostUSD(-1)


def run_pytest(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(path), "-p", "no:cacheprovider", "-W", "ignore", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=path.parent,
        check=False,
    )


def failures_section(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "FAILURES" in line)
    end = next(i for i, line in enumerate(lines) if "short test summary" in line)
    return [line for line in lines[start + 1 : end] if not line.startswith("_")]


def test_eval_cases_run_under_pytest_and_fail_in_a_few_lines(tmp_path: Path) -> None:
    path = tmp_path / "test_pipeline_evals.py"
    path.write_text(CASES + "\n@eval_case\ndef raising():\n    raise RuntimeError('pipeline exploded')\n")
    run = run_pytest(path, "-q")
    assert run.returncode == 1, run.stdout
    assert "2 failed, 3 passed" in run.stdout
    failures = failures_section(run.stdout)
    assert failures == [
        "expensive_call: MaxCostUSD FAIL ($0.000225 >= $0.0001) | cost $0.000225",
        "  MaxCostUSD ... FAIL ($0.000225 >= $0.0001)",
        "raising: RuntimeError: pipeline exploded | cost $0",
    ], run.stdout
    assert "FAILED test_pipeline_evals.py::raising - raising: RuntimeError" in run.stdout
    # The full traceback of a raising case only on demand.
    verbose = failures_section(run_pytest(path, "--tb=long").stdout)
    assert "Traceback (most recent call last):" in verbose
    assert "    raise RuntimeError('pipeline exploded')" in verbose


def test_example_evals_pass() -> None:
    result = CliRunner().invoke(app, ["test", str(Path(__file__).parent.parent / "examples" / "evals")])
    assert result.exit_code == 0, result.output
