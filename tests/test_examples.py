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
