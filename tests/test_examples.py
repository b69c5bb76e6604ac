from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize("script", ["router_example.py", "acompletion_example.py"])
def test_example_runs_offline(script: str) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "routed to" in result.stdout or "->" in result.stdout


def test_the_offline_proxy_walkthrough_shows_each_step_and_stops_what_it_started() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "proxy" / "offline_demo.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"simple prompt +-> 200 tier=simple model=openai/small-a", out), out
    assert re.search(r"hard prompt +-> 200 tier=reasoning model=openai/large-a", out), out
    assert re.search(r"simple prompt, forced +-> 200 tier=reasoning .* category=simple", out), out
    assert re.search(r"-> 429 budget_exceeded(, Retry-After: \d+s)?: budget exceeded for key:", out), out
    assert re.search(r"call 3 +-> 503 circuit_breaker_open, Retry-After: \d+s", out), out
    assert re.search(r"attempts that reached large-a, per call: \[\d+, 0, 0\]", out), out
    assert "-> 401 auth_error: Invalid API key" in out
    stopped = re.search(r"stopped 2 processes \((\d+), (\d+)\)", out)
    assert stopped is not None, out
    for pid in map(int, stopped.groups()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def run_example(script: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_register_example_uses_the_stock_litellm_calls() -> None:
    out = run_example("register_example.py")
    assert "routed to gpt-4o-mini (cheap): Lima." in out
    assert "routed to gpt-4o (strong): Suppose..." in out
    assert "router/strong -> gpt-4o" in out
    assert "streamed from gpt-4o: Suppose..." in out
    assert "litellm.completion -> gpt-4o-mini" in out


def test_budgets_example_refuses_per_user_and_per_team() -> None:
    lines = run_example("budgets_example.py").splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["alice (ml)"] * 3 + ["bob (ml)", "carol (web)"]
    assert "refused: budget exceeded for user:alice" in lines[2]
    assert "refused: budget exceeded for team:ml" in lines[3]
    assert "refused" not in lines[0] + lines[1] + lines[4]


def test_workers_example_shares_one_budget_through_redis() -> None:
    out = run_example("workers_example.py")
    served = [int(n) for n in re.findall(r"worker \d: (\d+) served", out)]
    assert len(served) == 3
    assert re.search(r"together: 5 calls served, \$0\.01\d+ spent of \$0\.010100, 5 ledger rows", out), out
    assert sum(served) == 5
