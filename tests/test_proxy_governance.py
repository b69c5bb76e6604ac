"""End to end through a real `litellm` proxy and the `openai` client: every call is governed,
whatever model it names, and the plan respects what the request needs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from tests.proxy_harness import EXAMPLE, Harness, tier_deployment, wait_http
from tests.test_request import MALFORMED, expected

HARD = "Prove rigorously that there are infinitely many primes, then derive a bound on the n-th prime."
SIMPLE = "Hi there!"
IMAGE = [
    {"type": "text", "text": "What is in this picture?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


def with_info(deployment: dict[str, Any], **info: Any) -> dict[str, Any]:
    return {**deployment, "model_info": info}


def plugin_config(upstream: str) -> dict[str, Any]:
    base = f"{upstream}/v1"
    return {
        "tiers": [
            {
                "name": "cheap",
                "deployments": [
                    # the cheapest, but no vision, no tools and a small window: requests that need those skip it
                    with_info(
                        tier_deployment("cheap-a", base, 1e-7, 4e-7),
                        supports_vision=False,
                        supports_function_calling=False,
                        supports_response_schema=False,
                        max_input_tokens=60,
                    ),
                    with_info(tier_deployment("cheap-b", base, 2e-7, 8e-7), supports_response_schema=False),
                ],
            },
            {
                "name": "strong",
                "deployments": [
                    with_info(tier_deployment("strong-a", base, 3e-6, 1.2e-5), supports_response_schema=False)
                ],
            },
        ],
        "budgets": {"per_key": {"per_request": 0.01}, "per_team": {"daily": 0.00001}},
        "store": {"kind": "memory"},
    }


@dataclass
class Stack:
    upstream: str
    proxy: str
    requests: list[str] = field(default_factory=list)
    clients: list[openai.OpenAI] = field(default_factory=list)

    def client(self, key: str, retries: int = 0) -> openai.OpenAI:
        def count(request: httpx.Request) -> None:
            self.requests.append(request.url.path)

        http = httpx.Client(event_hooks={"request": [count]}, timeout=30)
        client = openai.OpenAI(base_url=f"{self.proxy}/v1", api_key=key, max_retries=retries, http_client=http)
        self.clients.append(client)
        return client

    def hits(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.upstream}/hits", timeout=5).json())

    def control(self, **behaviours: dict[str, Any]) -> None:
        httpx.post(f"{self.upstream}/control", json=behaviours, timeout=5).raise_for_status()

    def stats(self, key: str) -> dict[str, Any]:
        response = httpx.get(f"{self.proxy}/router/stats", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    harness = Harness(tmp_path_factory.mktemp("governance"))
    try:
        upstream = harness.upstream()
        url, proc = harness.start_proxy("proxy-governed", plugin_config(upstream), EXAMPLE / "config.yaml")
        wait_http(f"{url}/health/liveliness", proc, 180)
        stack = Stack(upstream, url)
        yield stack
        for client in stack.clients:
            client.close()
    except Exception:
        print(harness.tail_logs())
        raise
    finally:
        harness.close()


def chat(client: openai.OpenAI, model: str, content: Any = HARD, **kwargs: Any) -> Any:
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}], **kwargs
    )


@pytest.mark.parametrize("model", ["auto", "strong", "openai/strong-a"])
def test_the_same_over_budget_request_is_refused_whatever_model_it_names(stack: Stack, model: str) -> None:
    client = stack.client("sk-gov" + "".join(c for c in model if c.isalnum()), retries=2)  # the SDK's default retries
    before_hits, before_requests = stack.hits(), len(stack.requests)
    with pytest.raises(openai.APIStatusError) as info:
        chat(client, model, max_tokens=4000)  # about $0.048 on strong-a > $0.01 per request
    assert info.value.status_code == 429
    assert info.value.response.headers["x-should-retry"] == "false"
    assert len(stack.requests) - before_requests == 1  # the SDK did not retry a refusal that cannot pass
    body = info.value.response.json()["error"]
    assert body["type"] == "budget_exceeded"
    assert "per-request limit $0.010000" in body["message"]
    assert stack.hits() == before_hits  # nothing reached the upstream


@pytest.mark.parametrize(
    ("model", "tier"), [("auto", "strong"), ("strong", "strong"), ("openai/strong-a", "none"), ("cheap", "cheap")]
)
def test_every_admitted_call_has_headers_and_is_in_the_stats(stack: Stack, model: str, tier: str) -> None:
    key = "sk-statsuser"
    calls_before = stack.stats(key)["calls"]
    raw = chat(stack.client(key), model, max_tokens=20)
    assert raw.status_code == 200
    assert raw.headers["x-router-tier"] == tier
    assert raw.headers["x-router-model"].startswith("openai/")
    assert float(raw.headers["x-router-estimated-cost"]) > 0
    answered = raw.parse().model
    assert answered != "auto"  # the response names the model that answered
    assert answered.removeprefix("openai/") == raw.headers["x-router-model"].removeprefix("openai/")
    assert stack.stats(key)["calls"] == calls_before + 1


def test_a_daily_refusal_says_when_to_retry(stack: Stack) -> None:
    client = stack.client("sk-ann-poorteam")
    chat(client, "auto", SIMPLE, max_tokens=5)  # the first call spends the team's whole day
    with pytest.raises(openai.APIStatusError) as info:
        chat(client, "auto", SIMPLE, max_tokens=5)
    assert info.value.status_code == 429
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 86400
    assert "x-should-retry" not in info.value.response.headers


@pytest.mark.parametrize(
    ("content", "extra"),
    [(IMAGE, {}), (SIMPLE, {"tools": TOOLS}), ("Summarise: " + "lorem ipsum dolor sit amet " * 30, {})],
    ids=["image", "tools", "long-context"],
)
def test_a_request_lands_on_a_deployment_of_its_tier_that_can_serve_it(
    stack: Stack, content: Any, extra: dict[str, Any]
) -> None:
    before = stack.hits()
    raw = chat(stack.client("sk-capable"), "auto", content, max_tokens=5, **extra)
    assert raw.status_code == 200
    assert (raw.headers["x-router-tier"], raw.headers["x-router-model"]) == ("cheap", "openai/cheap-b")
    after = stack.hits()
    assert after.get("cheap-b", 0) - before.get("cheap-b", 0) == 1
    assert after.get("cheap-a", 0) == before.get("cheap-a", 0)


def test_a_request_no_deployment_can_serve_is_a_clear_400(stack: Stack) -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    with pytest.raises(openai.APIStatusError) as info:
        chat(stack.client("sk-schema"), "auto", SIMPLE, max_tokens=5, response_format=schema)
    assert info.value.status_code == 400
    assert "structured output" in info.value.response.json()["error"]["message"]


@pytest.mark.parametrize(("overrides", "field"), MALFORMED)
def test_a_malformed_override_is_the_same_400_as_in_process(stack: Stack, overrides: Any, field: str) -> None:
    before = stack.hits()
    with pytest.raises(openai.APIStatusError) as info:
        chat(stack.client("sk-overrides-t13"), "auto", SIMPLE, extra_body={"metadata": {"router": overrides}})
    assert info.value.status_code == 400
    error = info.value.response.json()["error"]
    assert (error["message"], error["param"], error["type"]) == (
        str(expected(overrides)),
        field,
        "invalid_request_error",
    )
    assert info.value.response.headers.get("x-should-retry") == "false"
    assert stack.hits() == before  # refused before any call


def test_a_401_from_the_cheap_tier_reaches_the_client_and_nothing_dearer_is_called(stack: Stack) -> None:
    stack.control(**{m: {"error_rate": 1.0, "error_status": 401} for m in ("cheap-a", "cheap-b")})
    try:
        before = stack.hits()
        with pytest.raises(openai.APIStatusError) as info:
            chat(stack.client("sk-denied"), "auto", SIMPLE, max_tokens=5)
        assert info.value.status_code == 401
        after = stack.hits()
        calls = {m: after.get(m, 0) - before.get(m, 0) for m in ("cheap-a", "cheap-b", "strong-a")}
        # LiteLLM does not retry a 401 in a one-deployment group (the alias): zero calls to the dearer tier
        assert calls == {"cheap-a": 1, "cheap-b": 0, "strong-a": 0}
    finally:
        stack.control(**{m: {"error_rate": 0.0} for m in ("cheap-a", "cheap-b")})


def test_while_the_cheap_tier_cools_down_after_a_401_five_greetings_reach_no_dearer_tier(stack: Stack) -> None:
    """LiteLLM cools a deployment down after a 401; the remembered fault keeps the next requests
    from escalating to the strong tier: they get the 401 (the cheap tier's other deployment is tried)."""
    stack.control(**{m: {"denied_keys": ["fake"]} for m in ("cheap-a", "cheap-b")})  # their key is wrong
    try:
        before = stack.hits()
        statuses = []
        for _ in range(5):
            try:
                statuses.append(chat(stack.client("sk-denied"), "auto", SIMPLE, max_tokens=5).status_code)
            except openai.APIStatusError as exc:
                statuses.append(exc.status_code)
        after = stack.hits()
        calls = {m: after.get(m, 0) - before.get(m, 0) for m in ("cheap-a", "cheap-b", "strong-a")}
        assert calls["strong-a"] == 0, calls
        assert statuses == [401] * 5
    finally:
        stack.control(**{m: {"denied_keys": []} for m in ("cheap-a", "cheap-b")})
