"""The /router/route, /router/stats and /router/metrics app and the fake upstream, in process."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from litellm_router_plugin import Pipeline, Planner, PluginConfig
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.integrations.server import create_app
from litellm_router_plugin.state import MemoryStore
from litellm_router_plugin.tools.fake_upstream import create_app as create_fake
from tests.conftest import TWO_TIERS


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")  # type: ignore[arg-type]


async def test_route_stats_metrics() -> None:
    planner = Planner(PluginConfig.load(TWO_TIERS))
    admission = Admission(planner.config, MemoryStore())
    async with client(create_app(Pipeline(planner=planner, admission=admission))) as http:
        decision = (await http.post("/router/route", json={"prompt": "Prove that sqrt(2) is irrational."})).json()
        assert decision["tier"] == "strong"
        messages = [{"role": "user", "content": "hi"}]
        assert (await http.post("/router/route", json={"messages": messages})).json()["tier"] == "cheap"
        assert (await http.get("/router/stats")).json()["calls"] == 0
        metrics = (await http.get("/router/metrics")).text
        assert 'lrp_breaker_state{deployment="cheap/0/gpt-4o-mini"} 0.0' in metrics
        assert (await http.get("/route")).status_code == 404  # the proxy's paths only


def openai_error(message: str, param: str | None) -> dict[str, object]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": "400"}}


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        ({}, "Give `messages` (OpenAI format) or `prompt`.", "messages"),
        ({"prompt": 5}, "prompt: Input should be a valid string", "prompt"),
        (
            {"prompt": "x", "max_tokens": "many"},
            "max_tokens: Input should be a valid integer, unable to parse string as an integer",
            "max_tokens",
        ),
        ([1, 2], "Input should be a valid dictionary or instance of RouteRequest", None),
        ("{not json", 'The body is not JSON: send {"prompt": "..."} or {"messages": [...]}.', None),
    ],
)
async def test_validation_errors_have_the_openai_shape(body: object, message: str, param: str | None) -> None:
    planner = Planner(PluginConfig.load(TWO_TIERS))
    pipeline = Pipeline(planner=planner, admission=Admission(planner.config, MemoryStore()))
    async with client(create_app(pipeline)) as http:
        raw = body if isinstance(body, str) else None
        response = await http.post("/router/route", content=raw, json=None if raw else body)
        assert response.status_code == 400
        assert response.json() == openai_error(message, param)


async def test_bad_override_and_bad_limit_have_the_openai_shape() -> None:
    planner = Planner(PluginConfig.load(TWO_TIERS))
    pipeline = Pipeline(planner=planner, admission=Admission(planner.config, MemoryStore()))
    async with client(create_app(pipeline)) as http:
        bad = await http.post("/router/route", json={"prompt": "x", "metadata": {"router": {"tier": "gold"}}})
        assert bad.status_code == 400
        error = bad.json()["error"]
        assert error["param"] == "metadata.router.tier"
        assert error["message"].startswith("metadata.router.tier: invalid value 'gold'")
        limit = await http.get("/router/stats", params={"limit": "ten"})
        assert limit.json() == openai_error("limit: invalid value 'ten'; give a whole number of ledger rows.", "limit")


async def test_fake_upstream_behaviours() -> None:
    async with client(create_fake()) as http:
        body = {"model": "m", "messages": [{"role": "user", "content": "one two three"}]}
        ok = (await http.post("/v1/chat/completions", json=body)).json()
        assert ok["usage"] == {"prompt_tokens": 3, "completion_tokens": 20, "total_tokens": 23}
        await http.post("/control", json={"m": {"error_rate": 1.0, "error_status": 429}})
        assert (await http.post("/v1/chat/completions", json=body)).status_code == 429
        await http.post("/control", json={"m": {"malformed": True}})
        with pytest.raises(ValueError, match="Expecting"):
            (await http.post("/v1/chat/completions", json=body)).json()
        await http.post("/control", json={"m": {"latency_ms": 50}})
        start = time.monotonic()
        await http.post("/v1/chat/completions", json=body)
        assert time.monotonic() - start >= 0.05
        await http.post("/control", json={"m": {"hang": True}})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(http.post("/v1/chat/completions", json=body), 0.2)
        assert (await http.get("/hits")).json() == {"m": 5}


def test_serve_command_answers_route_and_stats() -> None:
    import subprocess
    import sys
    from pathlib import Path

    from tests.proxy_harness import free_port, wait_http

    port = free_port()
    cli = Path(sys.executable).parent / "litellm-router"
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/router/stats", proc, 60)
        prompt = {"prompt": "Prove that there are infinitely many primes."}
        assert httpx.post(f"{base}/router/route", json=prompt).json()["tier"] == "reasoning"
        assert httpx.get(f"{base}/router/stats").json()["calls"] == 0
        assert "lrp_breaker_state" in httpx.get(f"{base}/router/metrics").text
    finally:
        proc.kill()
        proc.wait(10)
