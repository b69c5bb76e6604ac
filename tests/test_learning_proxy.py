"""Feedback through the real LiteLLM proxy: ``x-router-request-id`` on a routed response, then
``POST /router/feedback`` behind the proxy's own key authentication, joined to the decision and
stored in Redis as an outcome without the prompt's text."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from litellm_router_plugin.state import RedisStore
from tests.proxy_harness import EXAMPLE, Harness, tier_deployment, wait_http
from tests.stores import REDIS_URL

KEY = "sk-learn-t11"
PROMPT = "Please explain in detail how a bicycle stays upright while moving."


def plugin_config(upstream: str, prefix: str) -> dict[str, Any]:
    base = f"{upstream}/v1"
    return {
        "tiers": [
            {"name": "cheap", "deployments": [tier_deployment("cheap-a", base, 1e-7, 4e-7)]},
            {"name": "strong", "deployments": [tier_deployment("strong-a", base, 3e-6, 1.2e-5)]},
        ],
        "classifier": {"kind": "heuristic", "tier_thresholds": [10.5]},
        "store": {"kind": "redis", "url": REDIS_URL, "prefix": prefix},
        "learning": {"enabled": True},
    }


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    harness = Harness(tmp_path_factory.mktemp("learning-proxy"))
    prefix = f"fb-{uuid.uuid4().hex[:8]}"
    try:
        upstream = harness.upstream()
        url, proc = harness.start_proxy("proxy", plugin_config(upstream, prefix), EXAMPLE / "config.yaml")
        wait_http(f"{url}/health/liveliness", proc, 180)
        yield url, prefix
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


def rate(url: str, body: Any, key: str | None = KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}/router/feedback", json=body, headers=headers, timeout=30)


async def stored(prefix: str) -> tuple[list[dict[str, Any]], str]:
    store = RedisStore(REDIS_URL, prefix=prefix)
    try:
        outcomes = [json.loads(r) for r in await store.client.lrange(f"{{{prefix}}}:outcomes", 0, -1)]
        values = []
        async for key in store.client.scan_iter(match=f"{{{prefix}}}:*", count=500):
            kind = await store.client.type(key)
            if kind == "string":
                values.append(str(await store.client.get(key)))
            elif kind == "list":
                values += await store.client.lrange(key, 0, -1)
            elif kind == "hash":
                values += [f"{k}={v}" for k, v in (await store.client.hgetall(key)).items()]
        return outcomes, "\n".join(values)
    finally:
        await store.aclose()


def test_feedback_through_the_proxy(proxy: tuple[str, str]) -> None:
    url, prefix = proxy
    with openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=30) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": PROMPT}], max_tokens=20
        )
    assert raw.headers["x-router-tier"] == "cheap"
    request_id = raw.headers["x-router-request-id"]

    assert rate(url, {"request_id": request_id, "score": 0.3}, key=None).status_code == 401
    bad = rate(url, {"request_id": request_id, "score": 2})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "score"

    ok = rate(url, {"request_id": request_id, "score": 0.3})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "recorded": True,
        "source": "feedback",
        "weak_model": "openai/cheap-a",
        "weak": 0.3,
        "strong_model": "strong",
        "strong": None,
    }
    again = rate(url, {"request_id": request_id, "score": 0.9})
    assert again.status_code == 404
    assert again.json()["error"]["type"] == "not_found_error"

    outcomes, everything = asyncio.run(stored(prefix))
    assert [(o["source"], o["weak_model"], o["weak"]) for o in outcomes] == [("feedback", "openai/cheap-a", 0.3)]
    assert "prompt" not in outcomes[0]
    assert outcomes[0]["features"]["hashed"]  # what the model learns from: hashed n-grams
    assert "bicycle" not in everything
