"""The stock ``litellm.acompletion(model="router/auto")`` routes, admits and settles (streamed or not)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import litellm
import pytest

from litellm_router_plugin import MemoryStore, Pipeline, PluginConfig, RedisStore, register
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.integrations import completion
from tests.conftest import user
from tests.stores import REDIS_URL

HARD = user("Prove rigorously that there are infinitely many primes, then derive a bound on the n-th prime.")
# An outer mock_response would answer before the provider is reached: the deployments answer instead.
MOCKED = {
    "tiers": [
        {
            "name": tier["name"],
            "deployments": [
                {"model": m, "litellm_params": {"mock_response": f"from {m}"}} for m in tier["deployments"]
            ],
        }
        for tier in [
            {"name": "cheap", "deployments": ["gpt-4o-mini", "groq/openai/gpt-oss-20b"]},
            {"name": "strong", "deployments": ["gpt-4o", "claude-sonnet-4-5"]},
        ]
    ]
}


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    config = PluginConfig.load({**MOCKED, "budgets": {"global": {"daily": 1.0}}})
    pipeline = Pipeline(config, admission=Admission(config, MemoryStore()))
    previous = completion._default
    completion._default = pipeline
    register()
    yield pipeline
    completion._default = previous


async def settled(pipeline: Pipeline, n: int) -> list[dict[str, object]]:
    assert pipeline.admission is not None
    for _ in range(100):  # streams are settled when LiteLLM logs them, in the background
        rows = await pipeline.admission.store.ledger()
        if len(rows) >= n:
            return rows
        await asyncio.sleep(0.05)
    return await pipeline.admission.store.ledger()


async def test_stock_acompletion_routes_admits_and_settles(pipeline: Pipeline) -> None:
    response = await litellm.acompletion(model="router/auto", messages=user("Hi!"))
    assert response.choices[0].message.content == "from groq/openai/gpt-oss-20b"
    decision = response._hidden_params["router_decision"]
    assert (decision["tier"], decision["model"]) == ("cheap", "groq/openai/gpt-oss-20b")
    hard = await litellm.acompletion(model="router/auto", messages=HARD, max_tokens=50)
    assert hard._hidden_params["router_decision"]["tier"] == "strong"
    rows = await settled(pipeline, 2)
    assert sorted(str(r["model"]) for r in rows) == ["gpt-4o", "groq/openai/gpt-oss-20b"]
    assert pipeline.admission is not None
    spent, held = await pipeline.admission.guard.spent()
    assert held == 0
    assert spent == pytest.approx(sum(int(str(r["cost_micros"])) for r in rows) / 1e6)


async def test_stock_acompletion_streams_and_settles(pipeline: Pipeline) -> None:
    stream = await litellm.acompletion(model="router/auto", messages=HARD, stream=True)
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == "from gpt-4o"
    rows = await settled(pipeline, 1)
    assert [(r["tier"], r["model"], r["status"]) for r in rows] == [("strong", "gpt-4o", "ok")]


async def test_stock_acompletion_is_refused_by_the_same_budgets(pipeline: Pipeline) -> None:
    completion._default = Pipeline({**MOCKED, "budgets": {"global": {"per_request": 0.0001}}})
    with pytest.raises(litellm.BudgetExceededError, match="per-request limit"):
        await litellm.acompletion(model="router/auto", messages=HARD, max_tokens=500)


def test_stock_completion_routes_too(pipeline: Pipeline) -> None:
    response = litellm.completion(model="router/auto", messages=HARD, max_tokens=50)
    assert response.choices[0].message.content == "from gpt-4o"


# -- issue 20, "sync and streaming paths": litellm.completion in and out of a loop, with a real Redis --------


@pytest.fixture(params=["memory", "redis"])
def any_store_pipeline(request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    """The provider's pipeline on a memory store or on the real Redis (a fresh prefix, removed after)."""
    config = PluginConfig.load({**MOCKED, "budgets": {"global": {"daily": 1.0}}})
    store = (
        MemoryStore() if request.param == "memory" else RedisStore(REDIS_URL, prefix=f"test-{uuid.uuid4().hex[:12]}")
    )
    pipeline = Pipeline(config, admission=Admission(config, store))
    previous = completion._default
    completion._default = pipeline
    register()
    yield pipeline
    completion._default = previous
    if isinstance(store, RedisStore):

        async def cleanup() -> None:
            await store.clear()
            await store.aclose()

        asyncio.run(cleanup())  # a loop of its own: the store serves it with a client of its own


async def balanced(pipeline: Pipeline, calls: int) -> None:
    """Every call settled once: ``calls`` ledger rows, spend = their sum, nothing still held."""
    assert pipeline.admission is not None
    rows = await settled(pipeline, calls)
    assert len(rows) == calls
    spent, held = await pipeline.admission.guard.spent()
    assert held == 0
    assert spent == pytest.approx(sum(int(str(r["cost_micros"])) for r in rows) / 1e6)


def test_sync_completion_outside_a_loop_then_async_calls_on_the_same_store(any_store_pipeline: Pipeline) -> None:
    response = litellm.completion(model="router/auto", messages=HARD, max_tokens=50)
    assert response.choices[0].message.content == "from gpt-4o"
    assert response._hidden_params["router_decision"]["tier"] == "strong"

    async def later() -> None:  # a new loop, as a script's asyncio.run(main()) after a sync call
        again = await litellm.acompletion(model="router/auto", messages=user("Hi!"))
        assert again._hidden_params["router_decision"]["tier"] == "cheap"
        await balanced(any_store_pipeline, 2)

    asyncio.run(later())
    asyncio.run(_one_more(any_store_pipeline))


async def _one_more(pipeline: Pipeline) -> None:
    """A third loop still reaches the store (the earlier loops are closed by now)."""
    response = await litellm.acompletion(model="router/auto", messages=user("Hi!"))
    assert response._hidden_params["router_decision"]["tier"] == "cheap"
    await balanced(pipeline, 3)


async def test_sync_completion_inside_a_running_loop(any_store_pipeline: Pipeline) -> None:
    before = await litellm.acompletion(model="router/auto", messages=user("Hi!"))
    response = litellm.completion(model="router/auto", messages=HARD, max_tokens=50)  # blocks this loop, works
    assert response._hidden_params["router_decision"]["tier"] == "strong"
    after = await litellm.acompletion(model="router/auto", messages=user("Hi!"))
    assert before.choices[0].message.content == after.choices[0].message.content == "from groq/openai/gpt-oss-20b"
    await balanced(any_store_pipeline, 3)


async def test_a_stream_carries_its_decision(any_store_pipeline: Pipeline) -> None:
    stream = await litellm.acompletion(model="router/auto", messages=HARD, stream=True, max_tokens=50)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "from gpt-4o"
    decision = stream._hidden_params["router_decision"]
    assert (decision["tier"], decision["model"]) == ("strong", "gpt-4o")
    assert all(c._hidden_params["router_decision"] == decision for c in chunks)
    await balanced(any_store_pipeline, 1)


def test_a_sync_stream_carries_its_decision(any_store_pipeline: Pipeline) -> None:
    stream = litellm.completion(model="router/auto", messages=HARD, stream=True, max_tokens=50)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "from gpt-4o"
    assert stream._hidden_params["router_decision"]["model"] == "gpt-4o"


# -- issue 26: every entry point accepts the Router's model names, with the same governance ----------------


async def test_router_slash_a_tier_forces_it_like_model_equals_the_tier(pipeline: Pipeline) -> None:
    forced = await litellm.acompletion(model="router/strong", messages=user("Hi!"))
    assert forced._hidden_params["router_decision"]["tier"] == "strong"
    same = await completion.acompletion(model="strong", messages=user("Hi!"))
    assert same._hidden_params["router_decision"]["tier"] == "strong"
    rows = await settled(pipeline, 2)
    assert [r["tier"] for r in rows] == ["strong", "strong"]


async def test_any_other_model_is_called_as_named_and_governed(pipeline: Pipeline) -> None:
    response = await completion.acompletion(model="gpt-4o-mini", messages=user("Hi!"), mock_response="plain")
    assert response.choices[0].message.content == "plain"
    assert response._hidden_params["router_decision"]["tier"] == "none"
    # A tier deployment's model by name: that deployment (its params answer here), outside any tier.
    via_provider = await litellm.acompletion(model="router/gpt-4o", messages=user("Hi!"))
    assert via_provider.choices[0].message.content == "from gpt-4o"
    assert via_provider._hidden_params["router_decision"]["model"] == "gpt-4o"
    rows = await settled(pipeline, 2)  # charged to the same budget, in the same ledger
    assert sorted((r["model"], r["tier"]) for r in rows) == [("gpt-4o", "none"), ("gpt-4o-mini", "none")]
    completion._default = Pipeline({**MOCKED, "budgets": {"global": {"per_request": 0.000001}}})
    with pytest.raises(litellm.BudgetExceededError):
        await completion.acompletion(model="gpt-4o", messages=HARD, max_tokens=500, mock_response="x")


async def test_tier_names_and_alias_only_are_refused_alike(pipeline: Pipeline) -> None:
    completion._default = Pipeline({**MOCKED, "allow_tier_models": False})
    with pytest.raises(litellm.PermissionDeniedError, match="allow_tier_models: false"):
        await litellm.acompletion(model="router/strong", messages=user("Hi!"))
    with pytest.raises(litellm.PermissionDeniedError, match="allow_tier_models: false"):
        await completion.acompletion(model="strong", messages=user("Hi!"))
    completion._default = Pipeline({**MOCKED, "alias_only": True})
    with pytest.raises(litellm.PermissionDeniedError, match="alias_only"):
        await completion.acompletion(model="gpt-4o", messages=user("Hi!"), mock_response="x")
