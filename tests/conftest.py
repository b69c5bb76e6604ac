from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from typing import Any

import pydantic_ai.models
import pytest

from litellm_router_plugin import Planner, PluginConfig
from tests.servers import ledger_schema, own_redis, redis_cluster_url  # noqa: F401  (fixtures shared by several test files)
from tests.stores import clocked_store  # noqa: F401  (a fixture shared by the store suites)
from tests.upstream import fake, upstream  # noqa: F401  (the loopback fake upstream)

# The real agent code path runs against TestModel / FunctionModel only: no real model requests.
pydantic_ai.models.ALLOW_MODEL_REQUESTS = False

TWO_TIERS: dict[str, Any] = {
    "tiers": [
        {"name": "cheap", "deployments": [{"model": "gpt-4o-mini"}, {"model": "groq/openai/gpt-oss-20b"}]},
        {"name": "strong", "deployments": [{"model": "gpt-4o"}, {"model": "claude-sonnet-4-5"}]},
    ]
}


@pytest.fixture
def two_tier_config() -> PluginConfig:
    return PluginConfig.load(TWO_TIERS)


@pytest.fixture
def planner() -> Planner:
    return Planner(PluginConfig())


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]
