"""``settled $... beyond its hold`` is reported for real overruns only, not for mock calls (issue 26)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from litellm_router_plugin import Pipeline, build_router
from tests.conftest import user

CONFIG = {
    "tiers": [
        {"name": "cheap", "deployments": [{"model": "gpt-4o-mini", "litellm_params": {"mock_response": "ok"}}]},
        {"name": "strong", "deployments": ["gpt-4o"]},
    ],
    "budgets": {"global": {"daily": 10.0}},
}
BEYOND = "beyond its hold"


async def test_mock_calls_do_not_report_an_overrun(caplog: pytest.LogCaptureFixture) -> None:
    router = build_router(CONFIG)
    with caplog.at_level(logging.DEBUG, logger="litellm_router_plugin"):
        for _ in range(3):  # LiteLLM's mock usage (20 completion tokens) ignores max_tokens=1: above the hold
            await router.acompletion(model="auto", messages=user("Hi!"), max_tokens=1)
            await router.acompletion(model="cheap", messages=user("Hi!"), max_tokens=1, mock_response="x")
    overruns = [r for r in caplog.records if BEYOND in r.getMessage()]
    assert overruns  # still charged in full, and said at debug level
    assert all(r.levelno == logging.DEBUG for r in overruns)


async def test_a_real_overrun_is_still_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    pipeline = Pipeline(CONFIG)
    routed = await pipeline.route(
        pipeline.request({"max_tokens": 1}, messages=user("Prove that there are infinitely many primes."))
    )
    assert routed.ticket is not None
    assert not routed.ticket.mocked
    with caplog.at_level(logging.WARNING, logger="litellm_router_plugin"):
        await pipeline.settle(routed.ticket, usage=SimpleNamespace(prompt_tokens=10, completion_tokens=5000))
    assert [r.levelno for r in caplog.records if BEYOND in r.getMessage()] == [logging.WARNING]
