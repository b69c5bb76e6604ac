"""The dashboard in a real browser: Debian's Chromium (headless), driven by Playwright, opens
``/router/dashboard`` of a server whose ledger holds routed calls, waits for the charts and checks
what they show against the ledger. A screenshot is written to ``tests/artifacts/`` (git-ignored)."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from litellm_router_plugin import Planner, PluginConfig
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.integrations.router import build_router
from litellm_router_plugin.integrations.server import create_app
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.state import RedisStore
from tests.conftest import TWO_TIERS, user
from tests.servers import LEDGER_DSN, drop, free_port, schema_name
from tests.stores import REDIS_URL

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
PROMPTS = [
    ("Hi!", "ann", "ml"),
    ("Thanks, that helps.", "ann", "ml"),
    ("Prove that there are infinitely many primes, rigorously, then bound the n-th prime.", "bob", "ml"),
    ("What is 2 + 2?", "cat", "ops"),
    ("Derive the closed form of the Fibonacci numbers and prove it by induction, step by step.", "cat", "ops"),
]


class Served:
    """A ``litellm-router serve`` app on a loopback port, in a thread, whose ledger was filled by
    routed calls made on the same event loop before it started serving."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.port = free_port()
        self.rows: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.server: uvicorn.Server | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/router/dashboard"

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        planner = Planner(PluginConfig.load(self.config))
        admission = Admission(planner.config)
        pipeline = Pipeline(planner=planner, admission=admission)
        router = build_router(pipeline=pipeline)
        for text, name, team in PROMPTS:
            meta = {"router": {"user": name, "team": team}}
            await router.acompletion(model="auto", messages=user(text), mock_response="An answer.", metadata=meta)
        self.rows = await admission.store.ledger()
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(pipeline), host="127.0.0.1", port=self.port, log_level="warning")
        )
        serving = asyncio.create_task(self.server.serve())
        while not self.server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
            await asyncio.sleep(0.02)
        self.ready.set()
        await serving
        if admission.store.durable is not None:
            await admission.store.durable.aclose()
        await admission.store.aclose()

    def start(self) -> Served:
        self.thread.start()
        assert self.ready.wait(60), "the dashboard server did not start"
        if self.error is not None:
            raise self.error
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture(params=["memory", "redis+postgres"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    config: dict[str, Any] = {**TWO_TIERS, "budgets": {"per_user": {"daily": 5.0}, "per_team": {"daily": 20.0}}}
    prefix, schema = f"dash-{uuid.uuid4().hex[:8]}", schema_name()
    if request.param != "memory":
        config["store"] = {"kind": "redis", "url": REDIS_URL, "prefix": prefix}
        config["ledger"] = {"kind": "postgres", "dsn": LEDGER_DSN, "schema": schema}
    server = Served(config).start()
    try:
        yield server
    finally:
        server.stop()
        if request.param != "memory":

            async def clean() -> None:
                store = RedisStore(REDIS_URL, prefix=prefix)
                await store.clear()
                await store.aclose()
                await drop(schema)

            asyncio.run(clean())


def _browser() -> Any:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run .ci/ensure-chromium (make test does)")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def test_the_dashboard_draws_the_ledger(served: Served, request: pytest.FixtureRequest) -> None:
    rows = served.rows
    assert len(rows) == len(PROMPTS)
    spent = sum(int(r["cost_micros"]) for r in rows)
    strongest = sum(int(r["strongest_micros"]) for r in rows)
    calls_by_tier = Counter(str(r["tier"]) for r in rows)
    assert set(calls_by_tier) == {"cheap", "strong"}  # the prompts were chosen to use both tiers
    micros_by_tier = {t: sum(int(r["cost_micros"]) for r in rows if r["tier"] == t) for t in calls_by_tier}
    assert httpx.get(served.url, timeout=10).status_code == 200

    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1700})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(served.url)
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)
            page.wait_for_selector("#chart-tier canvas")
            page.wait_for_selector("#chart-model canvas")
            shown = page.evaluate(
                """() => {
                const c = window.lrpDashboard.charts;
                const sums = (u) => Object.fromEntries(u.series.slice(1).map((s, i) =>
                    [s.label, u.data[i + 1].reduce((a, b) => a + b, 0)]));
                return {tier: sums(c.tier), model: sums(c.model)};
            }"""
            )
            cards = {name: page.inner_text(f"#{name}") for name in ("spent", "strongest", "calls")}
            mix = {
                row.query_selector_all("td")[0].inner_text(): int(row.query_selector_all("td")[1].inner_text())
                for row in page.query_selector_all("#mix tbody tr")
            }
            legend = page.locator("#chart-tier .u-legend .u-label").all_inner_texts()
            decisions = page.locator("#decisions tbody tr").count()
            budgets = page.locator("#budgets tbody tr").all_inner_texts()
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"dashboard-{request.node.callspec.id}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"dashboard screenshot: {shot}")
        finally:
            browser.close()

    assert cards["spent"] == f"${spent / 1e6:.6f}"
    assert cards["strongest"] == f"${strongest / 1e6:.6f}"
    assert cards["calls"] == f"{len(rows)} (0)"
    assert mix == dict(calls_by_tier)
    assert {"cheap", "strong", "all tiers", "all-strongest"} <= set(legend)
    for tier, micros in micros_by_tier.items():
        assert round(shown["tier"][tier] * 1e6) == micros
    assert round(shown["tier"]["all-strongest"] * 1e6) == strongest
    assert round(sum(shown["model"].values()) * 1e6) == spent
    assert decisions == len(rows)
    assert any("user:ann" in line for line in budgets)
    assert any("team:ops" in line for line in budgets)
    assert all(u.startswith(f"http://127.0.0.1:{served.port}/") for u in requests), requests  # no CDN


def test_chromium_is_where_the_tests_expect_it() -> None:
    # .ci/ensure-chromium installs Debian's package; a missing browser fails here, never skips.
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists()
