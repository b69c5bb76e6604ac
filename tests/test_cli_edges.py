"""The first hour at the command line (issue 26): ports, start-up line, stats hints, broken eval files, train."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from litellm_router_plugin.classify.learned import MODEL_PATH
from litellm_router_plugin.cli import STATS_STORE_TIMEOUT, app

runner = CliRunner()


@pytest.mark.parametrize("command", ["serve", "fake-upstream"])
@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_ports_outside_1_to_65535_are_refused(command: str, port: str) -> None:
    result = runner.invoke(app, [command, "--port", port])
    assert result.exit_code == 2
    assert "--port" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("command", "path"), [("serve", "/router/metrics"), ("fake-upstream", "/hits")])
def test_servers_print_one_listening_line_then_serve(command: str, path: str) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "litellm_router_plugin.cli", command, "--port", str(port)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the socket is bound
        assert line.strip().endswith(f"listening on http://127.0.0.1:{port} (Ctrl+C to stop)"), line
        for _ in range(100):  # the app is served on that socket
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"{command} never answered on {port}")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_taken_port_is_one_error_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["fake-upstream", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output.startswith("error: --host/--port: cannot listen on 127.0.0.1:")
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_stats_limit_must_be_positive(limit: str) -> None:
    result = runner.invoke(app, ["stats", "--limit", limit])
    assert result.exit_code == 2
    assert "--limit" in result.output


def test_stats_on_a_memory_store_says_it_sees_one_process_only() -> None:
    result = runner.invoke(app, ["stats", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["calls"] == 0
    assert "warning: the memory store lives in one process" in result.stderr


def test_stats_against_an_unreachable_redis_fails_fast_with_a_stats_hint(tmp_path: Path) -> None:
    config = tmp_path / "dead.yaml"
    config.write_text("store:\n  kind: redis\n  url: redis://127.0.0.1:1/0\n", encoding="utf-8")
    started = time.perf_counter()
    result = runner.invoke(app, ["stats", "--config", str(config)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 1
    assert result.output.startswith("error: stats: Redis at redis://127.0.0.1:1/0 is unreachable")
    assert "check store.url" in result.output
    assert "on_store_error" not in result.output  # a request-path setting: nothing to do with stats
    # The reconnect retries are bounded by the short stats timeout (1 s), not the proxy's 5 s.
    assert elapsed < 5.0 + STATS_STORE_TIMEOUT, elapsed


def test_a_broken_eval_file_is_one_line_and_the_traceback_with_v(tmp_path: Path) -> None:
    broken = tmp_path / "broken_eval.py"
    broken.write_text("from litellm_router_plugin import eval_case\n\n@eval_case(\ndef case(): ...\n", encoding="utf-8")
    result = runner.invoke(app, ["test", str(broken)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "SyntaxError" in lines[0]
    assert "broken_eval.py, line" in lines[0]
    assert "-v for the traceback" in lines[0]
    verbose = runner.invoke(app, ["test", str(broken), "-v"])
    assert isinstance(verbose.exception, SyntaxError)


def test_an_eval_file_that_raises_is_one_line_naming_the_error(tmp_path: Path) -> None:
    failing = tmp_path / "failing_eval.py"
    failing.write_text("import no_such_module_here\n", encoding="utf-8")
    result = runner.invoke(app, ["test", str(failing)])
    assert result.exit_code == 2
    assert "ModuleNotFoundError: No module named 'no_such_module_here' (failing_eval.py, line 1)" in result.output


def test_train_writes_only_where_asked() -> None:
    before = MODEL_PATH.stat().st_mtime_ns, MODEL_PATH.read_bytes()
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 2
    assert result.output.startswith("error: give --out FILE")
    assert (MODEL_PATH.stat().st_mtime_ns, MODEL_PATH.read_bytes()) == before
