"""Metrics under several workers: the stock proxy with ``--num_workers 2`` and LiteLLM's own
Prometheus callback; every scrape, whichever worker answers it, counts every request sent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from litellm_router_plugin.state import RedisStore
from tests.proxy_harness import EXAMPLE, Harness, wait_http
from tests.stores import REDIS_URL
from tests.test_proxy_e2e import HARD, SIMPLE, plugin_config

REQUESTS = 16
KEY = "sk-metrics-t12"
MASTER = "sk-master-change-me"  # examples/proxy/config.yaml


def total(text: str, sample: str) -> float:
    """The sum of every series of ``sample`` (e.g. ``lrp_routing_decisions_total``) in a scrape."""
    found = re.findall(rf"^{re.escape(sample)}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M)
    return sum(float(v) for v in found)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    workdir = tmp_path_factory.mktemp("workers")
    harness = Harness(workdir)
    prefix = f"mw-{uuid.uuid4().hex[:8]}"
    config = yaml.safe_load((EXAMPLE / "config.yaml").read_text())
    config["litellm_settings"]["callbacks"] = ["router_plugin.plugin", "prometheus"]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(EXAMPLE / "router_plugin.py", workdir / "router_plugin.py")
    multiproc = workdir / "prom"
    multiproc.mkdir()
    try:
        upstream = harness.upstream()
        plugin = plugin_config(upstream, prefix, REDIS_URL)
        plugin["budgets"] = {"per_key": {"daily": 5.0}, "per_team": {"daily": 10.0}}
        url, proc = harness.start_proxy(
            "proxy-2w",
            plugin,
            workdir / "config.yaml",
            # A worker busy importing LiteLLM on a loaded machine must not be taken for hung (default 5 s).
            extra_args=["--num_workers", "2", "--timeout_worker_healthcheck", "120"],
            extra_env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
        )
        wait_http(f"{url}/health/liveliness", proc, 300)  # two workers import LiteLLM side by side
        yield url, multiproc
    except Exception:
        print(harness.tail_logs())
        raise
    finally:
        harness.close()

        async def clear() -> None:
            store = RedisStore(REDIS_URL, prefix=prefix)
            await store.clear()
            await store.aclose()

        asyncio.run(clear())


def test_every_worker_answers_with_the_counts_of_all(two_workers: tuple[str, Path]) -> None:
    url, multiproc = two_workers
    prompts = [SIMPLE if i % 4 else HARD for i in range(REQUESTS)]
    with openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=30) as client:

        def ask(prompt: str) -> str:
            response = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": prompt}])
            return response.model

        with concurrent.futures.ThreadPoolExecutor(8) as pool:  # concurrent: both workers take requests
            models = list(pool.map(ask, prompts))
    assert len(models) == REQUESTS

    auth = {"Authorization": f"Bearer {KEY}"}
    scrapes: list[str] = []
    for _ in range(40):  # settles run in LiteLLM's success callback, just after the response
        text = httpx.get(f"{url}/router/metrics", headers=auth, timeout=10).text
        if total(text, "lrp_settle_latency_seconds_count") == REQUESTS:
            scrapes.append(text)
            if len(scrapes) == 6:
                break
    assert len(scrapes) == 6, text[:3000]
    for text in scrapes:  # whichever worker answered
        assert total(text, "lrp_routing_decisions_total") == REQUESTS
        assert total(text, "lrp_decisions_total") == REQUESTS
        assert total(text, "lrp_admit_latency_seconds_count") == REQUESTS
        assert total(text, 'lrp_routing_decisions_total{reason="reasoning",tier="strong"}') == REQUESTS // 4
        assert 'lrp_remaining_api_key_budget_usd{hashed_api_key="' in text
        assert re.search(r'^lrp_remaining_team_budget_usd\{team="t12"\} 9\.99', text, re.M), text[:3000]
    pids = {p.name.rsplit("_", 1)[-1] for p in multiproc.glob("counter_*.db")}
    print(f"worker processes that wrote counters: {len(pids)}")

    # LiteLLM's own /metrics (its Prometheus callback) carries the plugin's metrics as well.
    litellm_metrics = httpx.get(f"{url}/metrics/", headers=auth, timeout=10).text
    assert total(litellm_metrics, "lrp_routing_decisions_total") == REQUESTS


def test_the_dashboard_data_is_for_admins_only(two_workers: tuple[str, Path]) -> None:
    url, _ = two_workers
    page = httpx.get(f"{url}/router/dashboard", timeout=10)
    assert page.status_code == 200
    assert "uPlot.iife.min.js" in page.text
    assert httpx.get(f"{url}/router/dashboard/data", timeout=10).status_code == 401
    denied = httpx.get(f"{url}/router/dashboard/data", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert denied.status_code == 403
    data = httpx.get(f"{url}/router/dashboard/data", headers={"Authorization": f"Bearer {MASTER}"}, timeout=10)
    assert data.status_code == 200, data.text
    assert data.json()["stats"]["calls"] >= REQUESTS
