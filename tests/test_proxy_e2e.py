"""End to end: a fake upstream, two stock `litellm` proxies with the example config sharing one
Redis, and a third whose Redis is unreachable, driven by the real `openai` client."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from litellm_router_plugin.state import RedisStore
from tests.proxy_harness import EXAMPLE, Harness, tier_deployment, wait_http
from tests.stores import REDIS_URL

SIMPLE = "Hi there!"
HARD = "Prove rigorously that there are infinitely many primes, then derive a bound on the n-th prime."
PER_KEY_DAILY = 0.002


@dataclass
class Stack:
    upstream: str
    proxies: list[str]
    dead_store_proxy: str
    prefix: str
    clients: dict[tuple[str, str], openai.OpenAI] = field(default_factory=dict)

    def client(self, i: int, key: str, base: str | None = None) -> openai.OpenAI:
        url = base or self.proxies[i]
        if (url, key) not in self.clients:  # kept, and closed at the end: no socket left to the GC
            self.clients[url, key] = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)
        return self.clients[url, key]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def control(self, **behaviours: dict[str, Any]) -> None:
        httpx.post(f"{self.upstream}/control", json=behaviours, timeout=5).raise_for_status()

    def hits(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.upstream}/hits", timeout=5).json())

    def breaker_state(self, proxy: int, deployment: str, key: str) -> float:
        text = httpx.get(
            f"{self.proxies[proxy]}/router/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=10
        ).text
        found = re.search(rf'lrp_breaker_state{{deployment="{re.escape(deployment)}"}} ([\d.]+)', text)
        assert found is not None, text[:2000]
        return float(found.group(1))


def plugin_config(upstream: str, prefix: str, redis_url: str) -> dict[str, Any]:
    base = f"{upstream}/v1"
    return {
        "alias": "auto",
        "tiers": [
            {
                "name": "cheap",
                "deployments": [
                    tier_deployment("cheap-a", base, 1e-7, 4e-7),
                    tier_deployment("cheap-b", base, 2e-7, 8e-7),
                ],
            },
            {"name": "strong", "deployments": [tier_deployment("strong-a", base, 3e-6, 1.2e-5)]},
        ],
        "budgets": {"per_key": {"daily": PER_KEY_DAILY}},
        "breaker": {"failure_threshold": 3, "window_seconds": 60, "recovery_timeout": 5},
        "store": {"kind": "redis", "url": redis_url, "prefix": prefix},
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    harness = Harness(tmp_path_factory.mktemp("proxy"))
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    try:
        upstream = harness.upstream()
        config = EXAMPLE / "config.yaml"
        started = [
            harness.start_proxy("proxy-a", plugin_config(upstream, prefix, REDIS_URL), config),
            harness.start_proxy("proxy-b", plugin_config(upstream, prefix, REDIS_URL), config),
            harness.start_proxy("proxy-dead-store", plugin_config(upstream, prefix, "redis://127.0.0.1:1/0"), config),
        ]
        for url, proc in started:
            wait_http(f"{url}/health/liveliness", proc, 180)
        stack = Stack(upstream, [started[0][0], started[1][0]], started[2][0], prefix)
        yield stack
        stack.close()
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


def ask(client: openai.OpenAI, prompt: str, **kwargs: Any) -> Any:
    return client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": prompt}], **kwargs
    )


def test_simple_prompts_go_cheap_and_hard_ones_strong(stack: Stack) -> None:
    before = stack.hits()
    tiers = []
    for i, prompt in enumerate([SIMPLE, HARD, SIMPLE, HARD]):
        raw = ask(stack.client(i % 2, "sk-router-t1"), prompt, max_tokens=20)
        assert raw.status_code == 200
        tiers.append((raw.headers["x-router-tier"], raw.headers["x-router-model"]))
        assert raw.headers["x-router-category"] in ("simple", "reasoning")
        assert float(raw.headers["x-router-estimated-cost"]) > 0
        assert raw.parse().choices[0].message.content == f"answer from {raw.headers['x-router-model'][7:]}"
    assert tiers == [("cheap", "openai/cheap-a"), ("strong", "openai/strong-a")] * 2
    after = stack.hits()
    assert after.get("cheap-a", 0) - before.get("cheap-a", 0) == 2
    assert after.get("strong-a", 0) - before.get("strong-a", 0) == 2


def test_one_per_key_budget_across_both_proxies(stack: Stack) -> None:
    key = "sk-budget-t2"

    def one(i: int) -> tuple[int, Any]:
        try:
            raw = ask(stack.client(i % 2, key), HARD, max_tokens=20)
            return raw.status_code, None
        except openai.APIStatusError as exc:
            return exc.status_code, exc.response.json()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(60)))
    ok = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] == 429]
    assert len(ok) + len(refused) == 60
    assert ok
    assert refused
    body = refused[0][1]
    assert body["error"]["type"] == "budget_exceeded"
    assert re.search(
        r"budget exceeded for key:[0-9a-f]{16}: spent \$[\d.]+ \+ held \$[\d.]+ \+ asked", body["error"]["message"]
    )
    assert key not in body["error"]["message"]

    async def ledger() -> tuple[list[dict[str, Any]], int]:
        store = RedisStore(REDIS_URL, prefix=stack.prefix)
        rows = [r for r in await store.ledger() if r.get("user") == "budget"]
        key_scope = rows[0]["key"]
        day = "day:" + rows[0]["day"]
        spent, held = await store.spent(key_scope, day)
        await store.aclose()
        assert held == 0
        return rows, spent

    rows, spent = asyncio.run(ledger())
    assert len(rows) == len(ok)  # every admitted call settled once, on whichever proxy served it
    assert spent == sum(r["cost_micros"] for r in rows)
    assert spent <= PER_KEY_DAILY * 1_000_000


def test_breaker_opens_on_both_proxies_falls_back_and_one_probe_closes_it(stack: Stack) -> None:
    key = "sk-breaker-t3"
    cheap_a = "cheap/0/openai/cheap-a"
    stack.control(**{"cheap-a": {"error_rate": 1.0, "error_status": 500}})
    served = []
    for i in range(8):
        raw = ask(stack.client(i % 2, key), SIMPLE, max_tokens=5)  # LiteLLM retries; the retry is re-planned
        assert raw.status_code == 200
        served.append(raw.headers["x-router-model"])
    assert served[-4:] == ["openai/cheap-b"] * 4
    assert stack.breaker_state(0, cheap_a, key) == 2  # open, as both proxies see it
    assert stack.breaker_state(1, cheap_a, key) == 2
    failed_hits = stack.hits()["cheap-a"]
    assert failed_hits >= 3

    stack.control(**{"cheap-a": {"error_rate": 0.0}})
    time.sleep(5.5)  # past our recovery and LiteLLM's own cooldown (5 s each)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        raws = list(pool.map(lambda i: ask(stack.client(i % 2, key), SIMPLE, max_tokens=5), range(6)))
    assert all(r.status_code == 200 for r in raws)
    assert stack.hits()["cheap-a"] - failed_hits >= 1
    assert stack.breaker_state(0, cheap_a, key) == 0  # closed again, everywhere
    assert stack.breaker_state(1, cheap_a, key) == 0
    raw = ask(stack.client(0, key), SIMPLE, max_tokens=5)
    assert raw.headers["x-router-model"] == "openai/cheap-a"


def test_every_breaker_open_is_503_with_retry_after(stack: Stack) -> None:
    key = "sk-open-t4"
    stack.control(**{"strong-a": {"error_rate": 1.0, "error_status": 503}})
    forced = {"metadata": {"router": {"tier": "strong"}}}
    try:
        statuses = []
        for i in range(4):
            try:
                statuses.append(ask(stack.client(i % 2, key), HARD, max_tokens=5, extra_body=forced).status_code)
            except openai.APIStatusError as exc:
                statuses.append(exc.status_code)
                last = exc
        assert statuses[-1] == 503
        body = last.response.json()
        assert body["error"]["type"] == "circuit_breaker_open"
        assert "strong/0/openai/strong-a" in body["error"]["message"]
        assert int(last.response.headers["retry-after"]) >= 1
        assert "Traceback" not in last.response.text
    finally:
        stack.control(**{"strong-a": {"error_rate": 0.0}})


def test_unreachable_store_fails_closed_with_503(stack: Stack) -> None:
    before = stack.hits()
    client = stack.client(0, "sk-dead-t5", base=stack.dead_store_proxy)
    with pytest.raises(openai.APIStatusError) as info:
        ask(client, SIMPLE, max_tokens=5)
    assert info.value.status_code == 503
    body = info.value.response.json()
    assert body["error"]["type"] == "store_unavailable"
    assert "127.0.0.1:1" not in body["error"]["message"]
    assert stack.hits() == before  # nothing reached the upstream


def test_other_models_and_bad_overrides(stack: Stack) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        ask(stack.client(0, "sk-bad-t6"), SIMPLE, extra_body={"metadata": {"router": {"tier": "platinum"}}})
    assert info.value.status_code == 400
    assert "metadata.router.tier" in info.value.response.json()["error"]["message"]
    with pytest.raises(openai.APIStatusError) as info:
        stack.client(0, "not-a-key").chat.completions.create(model="auto", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 401


def test_route_and_stats_endpoints_on_the_proxy(stack: Stack) -> None:
    auth = {"Authorization": "Bearer sk-ops-t7"}
    decision = httpx.post(f"{stack.proxies[1]}/router/route", json={"prompt": HARD}, headers=auth, timeout=10).json()
    assert decision["tier"] == "strong"
    stats = httpx.get(f"{stack.proxies[0]}/router/stats", headers=auth, timeout=10).json()
    assert stats["calls"] > 0
    assert stats["strongest_usd"] >= stats["total_usd"]
    assert httpx.get(f"{stack.proxies[0]}/router/stats", timeout=10).status_code == 401


def test_logs_hold_no_api_key_and_no_prompt(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:
    logs = list(Path(tmp_path_factory.getbasetemp()).glob("proxy*/proxy-*.log"))
    assert logs
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    for secret in ("sk-budget-t2", "sk-router-t1", "infinitely many primes"):
        assert secret not in text


def test_a_streamed_call_is_routed_and_settled(stack: Stack) -> None:
    key = "sk-stream-t8"
    stream = stack.client(1, key).chat.completions.create(
        model="auto", messages=[{"role": "user", "content": SIMPLE}], max_tokens=5, stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "answer from cheap-a"

    async def rows() -> list[dict[str, Any]]:
        store = RedisStore(REDIS_URL, prefix=stack.prefix)
        found = [r for r in await store.ledger() if r.get("user") == "stream"]
        await store.aclose()
        return found

    deadline = time.monotonic() + 10
    while not (found := asyncio.run(rows())) and time.monotonic() < deadline:
        time.sleep(0.1)  # LiteLLM logs a finished stream in the background
    assert len(found) == 1
    assert found[0]["model"] == "openai/cheap-a"
    assert found[0]["status"] == "ok"


def test_router_endpoints_during_a_store_outage(stack: Stack) -> None:
    auth = {"Authorization": "Bearer sk-ops-t9"}
    stats = httpx.get(f"{stack.dead_store_proxy}/router/stats", headers=auth, timeout=30)
    assert stats.status_code == 503
    assert stats.json()["error"]["type"] == "store_unavailable"
    assert "Traceback" not in stats.text
    metrics = httpx.get(f"{stack.dead_store_proxy}/router/metrics", headers=auth, timeout=30)
    assert metrics.status_code == 200
    # the breakers are still listed, as unknown from this worker (-1), rather than vanishing
    assert 'lrp_breaker_state{deployment="cheap/0/openai/cheap-a"} -1.0' in metrics.text


def test_a_client_sends_cascade_true_and_gets_the_cascade_headers(stack: Stack) -> None:
    key = "sk-cascade-t10"
    cascade = {"metadata": {"router": {"cascade": True, "max_cost_usd": 0.01}}}
    deadline = time.monotonic() + 20
    while stack.breaker_state(0, "strong/0/openai/strong-a", key) == 2:  # left open by an earlier test
        assert time.monotonic() < deadline, "strong-a's breaker never left the open state"
        time.sleep(0.5)
    stack.control(**{"cheap-a": {"answers": ["4", "5"]}, "strong-a": {"answers": ["4"]}})
    try:
        raw = ask(stack.client(0, key), "What is 2 + 2?", max_tokens=20, extra_body=cascade)
        assert raw.status_code == 200
        assert raw.parse().choices[0].message.content == "4"
        headers = raw.headers
        assert headers["x-router-cascade-tiers"] == "cheap,strong"
        assert headers["x-router-cascade-final-tier"] == headers["x-router-tier"] == "strong"
        assert headers["x-router-cascade-final-model"] == "openai/strong-a"
        assert headers["x-router-cascade-escalations"] == "1"
        assert headers["x-router-cascade-reasons"] == "cheap>strong:consistency=0.000<0.8"
        assert headers["x-router-cascade-calls"] == "3"
        assert 0 < float(headers["x-router-cascade-cost"]) <= 0.01

        stack.control(**{"cheap-a": {"answers": ["4"]}})
        raw = ask(stack.client(1, key), "What is 2 + 2?", max_tokens=20, extra_body=cascade)
        assert (raw.headers["x-router-cascade-tiers"], raw.headers["x-router-cascade-stopped"]) == (
            "cheap",
            "confident",
        )
        plain = ask(stack.client(1, key), "What is 2 + 2?", max_tokens=20)
        assert "x-router-cascade-tiers" not in plain.headers
    finally:
        stack.control(**{"cheap-a": {"answers": []}, "strong-a": {"answers": []}})

    async def ledger() -> None:
        store = RedisStore(REDIS_URL, prefix=stack.prefix)
        rows = [r for r in await store.ledger() if r.get("user") == "cascade"]
        spent, held = await store.spent(rows[0]["key"], "day:" + rows[0]["day"])
        await store.aclose()
        assert len(rows) == 3 + 2 + 1  # every step of both cascades and the plain call, once each
        assert (spent, held) == (sum(r["cost_micros"] for r in rows), 0)

    asyncio.run(ledger())
