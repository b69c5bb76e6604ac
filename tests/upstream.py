"""Fixtures: the fake OpenAI-compatible upstream served on a loopback port from a thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from litellm_router_plugin.tools.fake_upstream import FakeUpstream

Upstream = FakeUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture
def fake(upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    """The module's upstream with fresh behaviours and counters."""
    upstream.reset()
    yield upstream
    upstream.reset()
