"""The proxies the proxy benchmark and the profiler drive: a fake upstream and one-worker `litellm`
proxies on loopback, stock or with the plugin, plus a load generator and a per-process CPU meter.

Variants (all answer from the same fake upstream deployment ``cheap-a``):

- ``stock``: the stock proxy, model group ``cheap``, master key auth.
- ``stock-aa``: an identical second stock proxy, the A/A control (how much two identical proxies differ).
- ``stock-auth``: the stock proxy with the example's ``custom_auth`` (isolates the auth hook's cost).
- ``plugin-memory`` / ``plugin-redis``: ``examples/proxy/config.yaml`` with the plugin (model ``auto``
  routed to the same deployment), budgets and breakers on the memory store or on Redis (own key prefix).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.proxy_harness import EXAMPLE, Harness, free_port, tier_deployment, wait_http  # noqa: E402

PROMPT = [{"role": "user", "content": "Hi there! What is the capital of France?"}]
KEY = "sk-bench-team"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
VARIANTS = ("stock", "stock-aa", "stock-auth", "plugin-memory", "plugin-redis")
_CLK_TCK = os.sysconf("SC_CLK_TCK")

STOCK_AUTH = '''"""The example's custom_auth, as a stock proxy's: same keys file, same work per request."""
import hashlib
import os
from pathlib import Path

import yaml
from fastapi import HTTPException
from litellm.proxy._types import UserAPIKeyAuth

KEYS = yaml.safe_load(Path(os.environ["LRP_DEMO_KEYS"]).read_text(encoding="utf-8"))["keys"]


async def custom_auth(request, api_key):
    identity = KEYS.get(api_key or "")
    if identity is None:
        raise HTTPException(401, detail="Invalid API key")
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    return UserAPIKeyAuth(api_key=digest, user_id=identity.get("user"), team_id=identity.get("team"))
'''


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its live descendants, from ``/proc/<pid>/stat``."""
    total = 0
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # fields from 3 (state) on
            total += int(fields[11]) + int(fields[12])  # 14 utime, 15 stime (clock ticks)
            for task in Path(f"/proc/{p}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / _CLK_TCK


@dataclass
class Sample:
    """One load run against one proxy."""

    requests: int
    errors: int
    seconds: float
    cpu_seconds: float
    latencies_ms: list[float]

    @classmethod
    def merge(cls, parts: Sequence[Sample]) -> Sample:
        """One sample of several load slices (interleaved with other proxies' slices)."""
        return cls(
            sum(p.requests for p in parts),
            sum(p.errors for p in parts),
            sum(p.seconds for p in parts),
            sum(p.cpu_seconds for p in parts),
            [ms for p in parts for ms in p.latencies_ms],
        )

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.requests)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


@dataclass
class Proxy:
    name: str
    url: str
    proc: Any
    model: str

    async def load(self, seconds: float, concurrency: int, requests: int | None = None) -> Sample:
        """``concurrency`` clients looping for ``seconds`` (or until ``requests`` were sent); the proxy's
        CPU over exactly that window."""
        latencies: list[float] = []
        budget = requests if requests is not None else -1
        errors = 0
        headers = {"Authorization": f"Bearer {KEY}"}
        body = {"model": self.model, "messages": PROMPT, "max_tokens": 20}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=self.url, timeout=60, limits=limits) as client:

            async def worker() -> None:
                nonlocal errors, budget
                while time.monotonic() < stop and budget != 0:
                    budget -= 1
                    start = time.perf_counter()
                    response = await client.post("/v1/chat/completions", json=body, headers=headers)
                    if response.status_code == 200:
                        latencies.append((time.perf_counter() - start) * 1000)
                    else:
                        errors += 1

            cpu_before = process_cpu_seconds(self.proc.pid)
            began = time.monotonic()
            stop = began + seconds
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.monotonic() - began
            cpu = process_cpu_seconds(self.proc.pid) - cpu_before
        return Sample(len(latencies), errors, elapsed, cpu, latencies)


class Stack:
    """A fake upstream and the chosen proxy variants; ``close()`` stops them and clears Redis keys."""

    def __init__(self, variants: Sequence[str], workdir: Path, launcher: Sequence[str] | None = None) -> None:
        unknown = sorted(set(variants) - set(VARIANTS))
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
        self.workdir = workdir
        self.harness = Harness(workdir)
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.proxies: dict[str, Proxy] = {}
        try:
            self.upstream = self._upstream()
            self._start(variants, launcher)
        except BaseException:
            self.close()
            raise

    def _upstream(self) -> str:
        """The fake upstream, keeping idle connections open: with uvicorn's default 5 s keep-alive, a
        proxy idle while the others take their turn reuses a connection the upstream is closing, and
        the reset counts as a breaker failure (five open the plugin's breaker mid-benchmark)."""
        port = free_port()
        code = (
            "import uvicorn; from litellm_router_plugin.tools.fake_upstream import create_app; "
            f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning', timeout_keep_alive=3600)"
        )
        proc = self.harness._spawn("upstream", [sys.executable, "-c", code], {}, ROOT)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/hits", proc, 60)
        return base

    def _start(self, variants: Sequence[str], launcher: Sequence[str] | None) -> None:
        cheap = tier_deployment("cheap-a", f"{self.upstream}/v1", 1e-7, 4e-7)
        stock: dict[str, Any] = {
            "model_list": [
                {"model_name": "cheap", "litellm_params": {"model": cheap["model"], **cheap["litellm_params"]}}
            ],
            "router_settings": {"num_retries": 2, "allowed_fails": 3, "cooldown_time": 5},
            "general_settings": {"master_key": KEY},
        }
        (self.workdir / "stock.yaml").write_text(yaml.safe_dump(stock))
        # The example's custom_auth accepts the keys of $LRP_DEMO_KEYS (the harness's list, KEY included);
        # the same auth for a stock proxy, without importing the example (that would install the plugin).
        (self.workdir / "bench_auth.py").write_text(STOCK_AUTH)
        auth = {**stock["general_settings"], "custom_auth": "bench_auth.custom_auth"}
        with_auth = {**stock, "general_settings": auth}
        (self.workdir / "stock-auth.yaml").write_text(yaml.safe_dump(with_auth))

        def plugin(store: dict[str, Any]) -> dict[str, Any]:
            return {
                "tiers": [{"name": "cheap", "deployments": [cheap]}],
                "budgets": {"per_key": {"daily": 1000.0}},
                "store": store,
            }

        for name in variants:
            if name in ("stock", "stock-aa"):
                url, proc = self.harness.start_proxy(name, None, self.workdir / "stock.yaml", launcher)
                model = "cheap"
            elif name == "stock-auth":
                url, proc = self.harness.start_proxy(name, None, self.workdir / "stock-auth.yaml", launcher)
                model = "cheap"
            else:
                store = {"kind": "memory"} if name == "plugin-memory" else {"kind": "redis", "url": REDIS_URL}
                if store["kind"] == "redis":
                    store["prefix"] = self.prefix
                url, proc = self.harness.start_proxy(name, plugin(store), EXAMPLE / "config.yaml", launcher)
                model = "auto"
            self.proxies[name] = Proxy(name, url, proc, model)
        for proxy in self.proxies.values():
            wait_http(f"{proxy.url}/health/liveliness", proxy.proc, 240)

    def upstream_latency(self, ms: float) -> None:
        """How long the fake upstream takes to answer (the deployment ``cheap-a``)."""
        httpx.post(f"{self.upstream}/control", json={"cheap-a": {"latency_ms": ms}}, timeout=10).raise_for_status()

    def close(self) -> None:
        self.harness.close()
        if "plugin-redis" in self.proxies:
            from litellm_router_plugin.state import RedisStore

            async def clear() -> None:
                store = RedisStore(REDIS_URL, prefix=self.prefix)
                await store.clear()
                await store.aclose()

            asyncio.run(clear())
