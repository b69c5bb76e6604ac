"""Start a fake upstream and stock `litellm --config` proxies on loopback, for the end-to-end tests
and the proxy benchmark. Every process is killed when the harness closes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "proxy"
BIN = Path(sys.executable).parent

# The keys the example's demo auth accepts in tests and benchmarks: it refuses unlisted keys (401
# "not one of the demo keys"), so a test with a new key adds it here. `sk-<user>-<team>` gives each
# test its own user, team and per-key budget.
TEST_KEYS = (
    "sk-router-t1",
    "sk-budget-t2",
    "sk-breaker-t3",
    "sk-open-t4",
    "sk-dead-t5",
    "sk-bad-t6",
    "sk-ops-t7",
    "sk-ops-t9",
    "sk-stream-t8",
    "sk-bench-team",
    "sk-govauto",
    "sk-govstrong",
    "sk-govopenaistronga",
    "sk-statsuser",
    "sk-ann-poorteam",
    "sk-capable",
    "sk-schema",
    "sk-denied",
    "sk-cascade-t10",
    "sk-learn-t11",
    "sk-metrics-t12",
    "sk-overrides-t13",
)


def demo_keys(keys: tuple[str, ...] = TEST_KEYS) -> dict[str, Any]:
    """A demo_keys.yaml document for ``keys``."""
    identities = {}
    for key in keys:
        user, _, team = key.removeprefix("sk-").partition("-")
        identities[key] = {"user": user, **({"team": team} if team else {})}
    return {"keys": identities}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def tier_deployment(name: str, base: str, price_in: float, price_out: float) -> dict[str, Any]:
    return {
        "model": f"openai/{name}",
        "litellm_params": {
            "api_base": base,
            "api_key": "fake",
            "input_cost_per_token": price_in,
            "output_cost_per_token": price_out,
        },
    }


class Harness:
    """Processes on loopback ports; ``close()`` kills them all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self._files: list[Any] = []
        self.keys_file = workdir / "demo_keys.yaml"
        self.keys_file.write_text(yaml.safe_dump(demo_keys()))

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        log = self.workdir / f"{name}.log"
        self.logs.append(log)
        out = log.open("wb")
        self._files.append(out)
        proc = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def upstream(self) -> str:
        port = free_port()
        proc = self._spawn(
            "upstream",
            [sys.executable, "-m", "litellm_router_plugin.tools.fake_upstream", "--port", str(port)],
            {},
            ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/hits", proc, 60)
        return base

    def start_proxy(
        self,
        name: str,
        plugin_config: Mapping[str, Any] | None,
        proxy_config: Path,
        launcher: Sequence[str] | None = None,
        extra_args: Sequence[str] = (),
        extra_env: Mapping[str, str] | None = None,
    ) -> tuple[str, Any]:
        """Start one proxy (without waiting); ``plugin_config`` None runs the stock proxy.

        ``launcher``: the command that runs ``litellm``'s CLI (default: the venv's ``litellm``);
        the benchmark's profiler wraps it. ``extra_args`` / ``extra_env``: more CLI arguments
        (e.g. ``--num_workers 2``) and environment."""
        port = free_port()
        env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LRP_DEMO_KEYS": str(self.keys_file)}
        if plugin_config is not None:
            path = self.workdir / f"{name}-plugin.yaml"
            path.write_text(yaml.safe_dump(dict(plugin_config)))
            env["LITELLM_ROUTER_PLUGIN_CONFIG"] = str(path)
        command = launcher or [str(BIN / "litellm")]
        args = [*command, "--config", str(proxy_config), "--host", "127.0.0.1", "--port", str(port), *extra_args]
        proc = self._spawn(name, args, {**env, **(extra_env or {})}, proxy_config.parent)
        return f"http://127.0.0.1:{port}", proc

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait(10)
        for out in self._files:
            out.close()

    def tail_logs(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) for log in self.logs
        )
