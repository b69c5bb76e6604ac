"""The real proxy with the plugin from the installed package (a config file alone in its folder) and
LiteLLM's own key budgets (``max_budget``, ``budget_duration``, ``soft_budget`` on ``UserAPIKeyAuth``,
none in the plugin's config) enforced exactly across two instances on one Redis; a crossed soft budget
reaches LiteLLM's own alerting (``general_settings.alerting: [webhook]``) once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from litellm_router_plugin.guards.litellm_budgets import LiteLLMBudget
from litellm_router_plugin.state import RedisStore
from tests.proxy_harness import Harness, tier_deployment, wait_http
from tests.stores import REDIS_URL

KEY = "sk-native-budget"
MAX_BUDGET = 0.004
SOFT_BUDGET = 0.002
CALL = 1e-4  # each call: 10 completion tokens at $1e-5 (the prompt is priced at $0)

# A custom_auth as an operator writes one: LiteLLM's UserAPIKeyAuth with the key's budget fields.
# The test moves budget_reset_at as LiteLLM's budget reset job does when a period ends.
AUTH = """
import hashlib, json, os
from datetime import datetime, timezone
from litellm.proxy._types import UserAPIKeyAuth

async def custom_auth(request, api_key):
    state = json.loads(open(os.environ["NATIVE_AUTH_STATE"]).read())
    return UserAPIKeyAuth(
        api_key=hashlib.sha256(api_key.encode()).hexdigest(),
        user_id="native-user",
        max_budget=state["max_budget"],
        budget_duration=state["budget_duration"],
        soft_budget=state["soft_budget"],
        budget_reset_at=datetime.fromtimestamp(state["budget_reset_at"], timezone.utc),
        spend=state["spend"],
    )
"""


class Webhook(ThreadingHTTPServer):
    """LiteLLM's alerting webhook on loopback: keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"


def _proxy_config() -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "auto",
                "litellm_params": {"model": "openai/router-plugin-placeholder", "api_key": "unused"},
                "model_info": {"id": "router-plugin-placeholder"},
            }
        ],
        "litellm_settings": {"callbacks": ["litellm_router_plugin.integrations.proxy_entry.plugin"]},
        "general_settings": {
            "master_key": "sk-master-native",
            "custom_auth": "native_auth.custom_auth",
            "alerting": ["webhook"],  # LiteLLM posts its budget alerts to $WEBHOOK_URL
        },
    }


@pytest.fixture(scope="module")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], Harness, Path, str, Webhook]]:
    root = tmp_path_factory.mktemp("native")
    run, auth = root / "run", root / "auth"
    run.mkdir()
    auth.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(_proxy_config()))  # the folder holds the config only
    (auth / "native_auth.py").write_text(textwrap.dedent(AUTH))
    state = root / "auth-state.json"
    reset_at = int(time.time()) + 3600
    state.write_text(json.dumps(_state(reset_at)))
    prefix = f"native-{uuid.uuid4().hex[:8]}"
    harness = Harness(root)
    webhook = Webhook()
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "NATIVE_AUTH_STATE")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(auth), saved["PYTHONPATH"]) if p)
    os.environ["NATIVE_AUTH_STATE"] = str(state)
    try:
        upstream = harness.upstream()
        # As a real provider: no more completion tokens than max_tokens (so a call costs its estimate).
        httpx.post(f"{upstream}/control", json={"native-cheap": {"truncate": True}}, timeout=5).raise_for_status()
        price = tier_deployment("native-cheap", f"{upstream}/v1", 0.0, 1e-5)
        plugin = {
            "tiers": [{"name": "cheap", "deployments": [price]}],
            "store": {"kind": "redis", "url": REDIS_URL, "prefix": prefix},
        }
        hook = {"WEBHOOK_URL": webhook.url}
        started = [harness.start_proxy(f"native-{i}", plugin, run / "config.yaml", extra_env=hook) for i in (1, 2)]
        for url, proc in started:
            wait_http(f"{url}/health/liveliness", proc, 240)
        yield [url for url, _ in started], harness, state, prefix, webhook
    except Exception:
        print(harness.tail_logs())
        raise
    finally:
        harness.close()
        webhook.shutdown()
        webhook.server_close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

        async def clear() -> None:
            store = RedisStore(REDIS_URL, prefix=prefix)
            await store.clear()
            await store.aclose()

        asyncio.run(clear())


def _state(reset_at: int, spend: float = 0.0) -> dict[str, Any]:
    return {
        "spend": spend,
        "max_budget": MAX_BUDGET,
        "budget_duration": "1d",
        "soft_budget": SOFT_BUDGET,
        "budget_reset_at": reset_at,
    }


async def _burst(urls: list[str], count: int) -> list[int]:
    """``count`` calls in flight at once, alternating between the proxies: each call's status."""
    clients = [openai.AsyncOpenAI(base_url=f"{u}/v1", api_key=KEY, max_retries=0, timeout=60) for u in urls]

    async def one(i: int) -> int:
        try:
            await clients[i % len(clients)].chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "Hi!"}], max_tokens=10
            )
        except openai.APIStatusError as exc:
            return exc.status_code
        return 200

    try:
        return list(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        for client in clients:
            await client.close()


async def _spent(prefix: str, reset_at: int) -> float:
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    scope = LiteLLMBudget("key", digest, MAX_BUDGET).scope()
    store = RedisStore(REDIS_URL, prefix=prefix)
    try:
        spent, held = await store.spent(scope, f"until{reset_at}")
    finally:
        await store.aclose()
    assert held == 0
    return spent / 1_000_000


def test_a_keys_litellm_budget_holds_across_two_proxies_resets_and_alerts_once(
    proxies: tuple[list[str], Harness, Path, str, Webhook],
) -> None:
    urls, harness, state, prefix, webhook = proxies
    reset_at = json.loads(state.read_text())["budget_reset_at"]
    statuses = asyncio.run(_burst(urls, 60))  # 60 calls of $0.0001 against a $0.004 budget
    admitted = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    spent = asyncio.run(_spent(prefix, reset_at))
    assert spent <= MAX_BUDGET + 1e-9, "never more than the key's max_budget, across both proxies"
    assert admitted == round(spent / CALL), (admitted, spent)
    assert spent > MAX_BUDGET - 2 * CALL, "the budget was used up, not refused early"
    logs = "".join(p.read_text(errors="replace") for p in harness.logs if p.name.startswith("native-"))
    assert logs.count('"event": "soft_budget_crossed"') == 1, "one alert for the soft budget, from one proxy"
    deadline = time.monotonic() + 10
    while not webhook.bodies and time.monotonic() < deadline:
        time.sleep(0.1)
    soft = [b for b in webhook.bodies if b.get("event") == "soft_budget_crossed"]
    assert len(soft) == 1, webhook.bodies  # LiteLLM's alerting got it once, from one of the two proxies
    assert soft[0]["soft_budget"] == SOFT_BUDGET
    assert soft[0]["event_group"] == "key"
    assert SOFT_BUDGET <= soft[0]["spend"] <= MAX_BUDGET, soft[0]
    assert KEY not in json.dumps(soft[0]), "the alert names the key by a hash, never the key"
    # LiteLLM's budget reset moves budget_reset_at one period on: the next period starts from zero.
    state.write_text(json.dumps(_state(reset_at + 86400)))
    assert asyncio.run(_burst(urls, 2)) == [200, 200]
    assert asyncio.run(_spent(prefix, reset_at + 86400)) == pytest.approx(2 * CALL)
    # LiteLLM recorded $0.0035 in this period (say, through instances without the plugin): $0.0005 is left.
    state.write_text(json.dumps(_state(reset_at + 86400, spend=0.0035)))
    admitted = asyncio.run(_burst(urls, 8)).count(200)
    assert (admitted, asyncio.run(_spent(prefix, reset_at + 86400))) == (5, pytest.approx(MAX_BUDGET))
