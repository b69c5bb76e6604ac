"""The proxies the proxy benchmark and the profiler drive: a fake upstream and one-worker `litellm`
proxies on loopback, stock or with the plugin, and a load generator in its own process (``loadgen.py``).

Every proxy has the two model groups of the issue-25 setup, ``cheap`` (``openai/gpt-4o-mini``) and
``strong`` (``openai/gpt-4o``), with prices in the deployments, answered by the same fake upstream,
and the example's ``router_settings`` and master key. Variants:

- ``stock``: the stock proxy with the same kind of ``custom_auth`` as the example (the keys file,
  a SHA-256 of the key, ``UserAPIKeyAuth(user_id, team_id)``); clients send ``model: cheap``.
- ``stock-aa``: an identical second ``stock``: the A/A control (how much two identical proxies differ).
- ``stock-keyonly``: stock with the master key only (no ``custom_auth``): the auth hook's own cost.
- ``stock-otelfix``: ``stock`` whose auth module also marks LiteLLM's OpenTelemetry logger as not
  importable, as the plugin does in a proxy (``integrations/otel_import.py``: without
  ``opentelemetry-sdk`` LiteLLM re-runs that failing import on every request): the plugin's own
  work, against a stock proxy without that waste.
- ``plugin-memory`` / ``plugin-redis``: a fresh copy of ``examples/proxy`` (its ``config.yaml``
  verbatim: master key, the demo ``custom_auth``, ``router_settings``, the plugin callback) with a
  realistic plugin config (``plugin_config()``: two tiers, prices, breakers, per-key budgets) on the
  memory store or on Redis (own key prefix); clients send ``model: auto``.
- ``plugin-memory-pings``: ``plugin-memory`` whose store also sends a bare ``PING`` to Redis on each
  admit and each settle (``pinged_litellm.py``): the Redis store's two round trips without its work,
  so that beside ``plugin-redis`` the cost of the round trips shows apart from the store's own.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
# This process imports LiteLLM too (the Redis store's cleanup): its price table from the package, offline
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.proxy_harness import EXAMPLE, Harness, free_port, wait_http  # noqa: E402

PROMPT = [{"role": "user", "content": "Say hello in one short sentence, please."}]
MAX_TOKENS = 16
KEY = "sk-bench-team"  # one of the harness's demo keys: user "bench", team "team"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
VARIANTS = (
    "stock",
    "stock-aa",
    "stock-keyonly",
    "stock-otelfix",
    "plugin-memory",
    "plugin-redis",
    "plugin-memory-pings",
)
EXAMPLE_CONFIG: dict[str, Any] = yaml.safe_load((EXAMPLE / "config.yaml").read_text(encoding="utf-8"))
MASTER_KEY = EXAMPLE_CONFIG["general_settings"]["master_key"]
# Names of the deployments the fake upstream sees, with their LiteLLM prices (USD per token).
TIERS = {"cheap": ("gpt-4o-mini", 1.5e-7, 6.0e-7), "strong": ("gpt-4o", 2.5e-6, 1.0e-5)}

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


def deployment(upstream: str, tier: str) -> dict[str, Any]:
    """The tier's deployment: an OpenAI model name on the fake upstream, priced as LiteLLM prices it."""
    name, price_in, price_out = TIERS[tier]
    params = {"api_base": f"{upstream}/v1", "api_key": "fake"}
    return {
        "model": f"openai/{name}",
        "litellm_params": {**params, "input_cost_per_token": price_in, "output_cost_per_token": price_out},
    }


def plugin_config(upstream: str, store: dict[str, Any]) -> dict[str, Any]:
    """The plugin config of issue 25's independent run: two tiers, prices, breakers, per-key budgets."""
    return {
        "alias": "auto",
        "tiers": [{"name": t, "deployments": [deployment(upstream, t)]} for t in TIERS],
        "budgets": {"per_key": {"daily": 1_000_000.0}},
        "breaker": {"enabled": True, "failure_threshold": 5, "window_seconds": 60, "recovery_timeout": 30},
        "store": store,
    }


# The same auth module, plus what the plugin does at start in a proxy: LiteLLM's OpenTelemetry logger,
# when it cannot be imported, marked so once (written out here: a stock proxy imports no plugin code).
OTEL_FIX = """
import importlib
import sys

try:
    importlib.import_module("litellm.integrations.otel.logger")
except ImportError:
    sys.modules["litellm.integrations.otel.logger"] = None
"""


def stock_config(upstream: str, custom_auth: bool, auth_module: str = "bench_auth") -> dict[str, Any]:
    """The stock proxy: the same groups, master key and router settings as the plugin's proxy."""
    model_list = []
    for tier in TIERS:
        d = deployment(upstream, tier)
        model_list.append({"model_name": tier, "litellm_params": {"model": d["model"], **d["litellm_params"]}})
    general: dict[str, Any] = {"master_key": MASTER_KEY}
    if custom_auth:
        general["custom_auth"] = f"{auth_module}.custom_auth"
    return {"model_list": model_list, "router_settings": EXAMPLE_CONFIG["router_settings"], "general_settings": general}


@dataclass
class Sample:
    """One load run against one proxy."""

    requests: int
    errors: int
    seconds: float
    cpu_seconds: float
    latencies_ms: list[float]
    loadgen_cpu_seconds: float = 0.0

    @classmethod
    def merge(cls, parts: Sequence[Sample]) -> Sample:
        """One sample of several load slices (interleaved with other proxies' slices)."""
        return cls(
            sum(p.requests for p in parts),
            sum(p.errors for p in parts),
            sum(p.seconds for p in parts),
            sum(p.cpu_seconds for p in parts),
            [ms for p in parts for ms in p.latencies_ms],
            sum(p.loadgen_cpu_seconds for p in parts),
        )

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.requests)

    @property
    def loadgen_ms_per_request(self) -> float:
        return 1000 * self.loadgen_cpu_seconds / max(1, self.requests)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


class LoadGen:
    """``loadgen.py`` in its own process: one load window per call."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "loadgen.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def window(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the load generator exited with {self.proc.wait(10)}")
        result: dict[str, Any] = json.loads(line)
        return result

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Proxy:
    name: str
    url: str
    proc: Any
    model: str
    key: str
    loadgen: LoadGen

    def load(self, seconds: float, concurrency: int, requests: int | None = None) -> Sample:
        """``concurrency`` clients (in the load generator's process) looping for ``seconds`` (or until
        ``requests`` were sent); the proxy's CPU over exactly that window."""
        body = {"model": self.model, "messages": PROMPT, "max_tokens": MAX_TOKENS}
        got = self.loadgen.window(
            {
                "url": self.url,
                "pid": self.proc.pid,
                "key": self.key,
                "body": body,
                "seconds": seconds,
                "concurrency": concurrency,
                "requests": requests,
            }
        )
        if got["error_sample"]:
            print(f"  {self.name}: {got['errors']} errors, e.g. {got['error_sample'][0]}", file=sys.stderr)
        return Sample(
            got["requests"],
            got["errors"],
            got["seconds"],
            got["cpu_seconds"],
            got["latencies_ms"],
            loadgen_cpu_seconds=got["own_cpu_seconds"],
        )


class Stack:
    """A fake upstream and the chosen proxy variants; ``close()`` stops them and clears Redis keys."""

    def __init__(
        self,
        variants: Sequence[str],
        workdir: Path,
        launcher: Sequence[str] | None = None,
        env: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        """``launcher``: what runs ``litellm``'s CLI (the profilers wrap it); ``env``: more environment
        for the proxy of each variant name."""
        unknown = sorted(set(variants) - set(VARIANTS))
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
        self.workdir = workdir
        self.harness = Harness(workdir)
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.proxies: dict[str, Proxy] = {}
        self.loadgen = LoadGen()
        try:
            self.upstream = self._upstream()
            self._start(variants, launcher, env or (lambda name: {}))
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
        self.upstream = base
        self._behave()
        return base

    def _start(
        self, variants: Sequence[str], launcher: Sequence[str] | None, env: Callable[[str], Mapping[str, str]]
    ) -> None:
        # The example's custom_auth accepts the keys of $LRP_DEMO_KEYS (the harness's list, KEY included);
        # the same auth for a stock proxy, without importing the example (that would install the plugin).
        (self.workdir / "bench_auth.py").write_text(STOCK_AUTH)
        (self.workdir / "bench_auth_otelfix.py").write_text(STOCK_AUTH + OTEL_FIX)
        configs = {
            "stock": stock_config(self.upstream, custom_auth=True),
            "stock-keyonly": stock_config(self.upstream, custom_auth=False),
            "stock-otelfix": stock_config(self.upstream, custom_auth=True, auth_module="bench_auth_otelfix"),
        }
        for config_name, config in configs.items():
            (self.workdir / f"{config_name}.yaml").write_text(yaml.safe_dump(config))
        # A fresh copy of the example folder per plugin proxy: its config.yaml verbatim, no bytecode
        # written into the repository.
        for name in variants:
            if name.startswith("stock"):
                config_path = self.workdir / f"{name if name in configs else 'stock'}.yaml"
                url, proc = self.harness.start_proxy(name, None, config_path, launcher, extra_env=env(name))
                key = MASTER_KEY if name == "stock-keyonly" else KEY
                model = "cheap"
            else:
                store = {"kind": "memory"} if name.startswith("plugin-memory") else {"kind": "redis", "url": REDIS_URL}
                if store["kind"] == "redis":
                    store["prefix"] = self.prefix
                folder = self.workdir / f"{name}-example"
                shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
                plugin = plugin_config(self.upstream, store)
                if name == "plugin-memory-pings":
                    if launcher is not None:
                        raise SystemExit("plugin-memory-pings runs its own launcher: profile it without one")
                    own: Sequence[str] | None = [sys.executable, str(HERE / "pinged_litellm.py")]
                else:
                    own = launcher
                url, proc = self.harness.start_proxy(name, plugin, folder / "config.yaml", own, extra_env=env(name))
                key, model = KEY, "auto"
            self.proxies[name] = Proxy(name, url, proc, model, key, self.loadgen)
        for proxy in self.proxies.values():
            wait_http(f"{proxy.url}/health/liveliness", proxy.proc, 240)

    def upstream_latency(self, ms: float) -> None:
        """How long the fake upstream takes to answer (every tier's deployment)."""
        self._behave(latency_ms=ms)

    def _behave(self, **behaviour: Any) -> None:
        """Every deployment answers like a real provider (at most ``max_tokens`` completion tokens:
        the fake's default 20 would overrun every 16-token hold, and log it), plus ``behaviour``."""
        changes = {name: {"truncate": True, **behaviour} for name, _, _ in TIERS.values()}
        httpx.post(f"{self.upstream}/control", json=changes, timeout=10).raise_for_status()

    def close(self) -> None:
        self.loadgen.close()
        self.harness.close()
        if "plugin-redis" in self.proxies:
            from litellm_router_plugin.state import RedisStore

            async def clear() -> None:
                store = RedisStore(REDIS_URL, prefix=self.prefix)
                await store.clear()
                await store.aclose()

            asyncio.run(clear())
