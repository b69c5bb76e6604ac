"""The fake OpenAI-compatible upstream served on a loopback port from a thread of the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from litellm_router_plugin.tools.fake_upstream import create_app
from tests.proxy_harness import free_port


class Upstream:
    """A running fake upstream: ``control`` sets behaviours, ``hits`` counts requests per model."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> Upstream:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "fake upstream did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def control(self, **behaviours: dict[str, Any]) -> None:
        httpx.post(f"{self.base}/control", json=behaviours, timeout=5).raise_for_status()

    def reset(self) -> None:
        httpx.post(f"{self.base}/reset", timeout=5).raise_for_status()

    def hits(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.base}/hits", timeout=5).json())

    def deployment(self, name: str, price_in: float, price_out: float) -> dict[str, Any]:
        """A tier deployment served by this upstream, priced per token."""
        return {
            "model": f"openai/{name}",
            "litellm_params": {
                "api_base": f"{self.base}/v1",
                "api_key": "fake",
                "input_cost_per_token": price_in,
                "output_cost_per_token": price_out,
            },
        }


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake(upstream: Upstream) -> Iterator[Upstream]:
    """The module's upstream with fresh behaviours and counters."""
    upstream.reset()
    yield upstream
    upstream.reset()
