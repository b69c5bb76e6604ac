"""Outcome sources and the learning state: a Pydantic AI judge (FunctionModel) charged like any call,
the shadow budget cap, feedback joined to its decision, cascade escalations, and the shared state
(outcomes bounded, one retrainer, promote/rollback, feedback joins) on memory and on Redis."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import litellm
import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from litellm_router_plugin import ConfigError, PluginConfig, acompletion, build_router, configure, feedback, register
from litellm_router_plugin.cli.models import _fit
from litellm_router_plugin.integrations.hooks import ensure_decision_hook
from litellm_router_plugin.online.learner import Learner, UnknownRequest
from litellm_router_plugin.online.shadow import SHADOW_SCOPE, sampled
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.state import MemoryStore, RedisStore, Store
from litellm_router_plugin.state.learning import LearningState, learning_state
from tests.stores import REDIS_URL
from tests.upstream import Upstream

PROMPT = "Please explain in detail how a bicycle stays upright while moving."


def config(fake: Upstream, **learning: Any) -> dict[str, Any]:
    tools = {"model_info": {"supports_function_calling": True}}  # the fake upstream answers tool calls
    return {
        "tiers": [
            {"name": "cheap", "deployments": [fake.deployment("cheap", 1e-7, 4e-7) | tools]},
            {"name": "strong", "deployments": [fake.deployment("strong", 3e-6, 1.2e-5) | tools]},
        ],
        "classifier": {"kind": "heuristic", "tier_thresholds": [10.5]},
        "budgets": {"global": {"daily": 5.0}},
        "learning": learning,
    }


def grader(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """A judge that rates the cheap model's answer 0.25 and the strong model's 0.75, whichever order it sees."""
    text = str(messages[-1].parts[-1].content)  # type: ignore[union-attr]
    first = re.search(r"Answer 1:\n(.*)\n\nAnswer 2:", text, re.S)
    assert first is not None
    cheap_first = "cheap" in first.group(1)
    args = {"first": 0.25 if cheap_first else 0.75, "second": 0.75 if cheap_first else 0.25, "reason": "graded"}
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, args)])


async def routed(prompt: str = PROMPT) -> Any:
    return await acompletion("auto", [{"role": "user", "content": prompt}], max_tokens=20)


async def test_a_judge_rates_the_shadow_pair_and_both_calls_are_charged(fake: Upstream) -> None:
    pipeline = configure(config(fake, shadow={"share": 1.0, "judge": "openai:gpt-4o-mini", "daily_usd": 1.0}))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    learner.shadow._judge_model = FunctionModel(grader, model_name="gpt-4o-mini")
    for _ in range(4):
        await routed()
    await learner.drain()
    outcomes = await learner.outcomes("shadow")
    assert [(o.weak_model, o.weak, o.strong_model, o.strong) for o in outcomes] == [
        ("openai/cheap", 0.25, "openai/strong", 0.75)
    ] * 4
    assert all(o.prompt is None for o in outcomes)
    assert fake.hits() == {"cheap": 4, "strong": 4}
    assert pipeline.admission is not None
    rows = await pipeline.admission.store.ledger()
    judged = [r for r in rows if r["tier"] == "judge"]
    shadows = [r for r in rows if str(r["reason"]).startswith("shadow of")]
    assert len(judged) == len(shadows) == 4
    assert all(r["model"] == "gpt-4o-mini" and r["prompt_tokens"] > 0 for r in judged)
    spent, held = await pipeline.admission.store.spent(SHADOW_SCOPE, pipeline.admission.guard.window())
    charged = sum(r["cost_micros"] for r in judged + shadows)
    expected = round(
        sum(
            r["prompt_tokens"] * p_in + r["completion_tokens"] * p_out
            for r in judged + shadows
            for p_in, p_out in [((1.5e-7, 6e-7) if r["tier"] == "judge" else (3e-6, 1.2e-5))]
        )
        * 1_000_000
    )
    assert held == 0
    assert spent == charged > 0  # the shadow scope's counter == its ledger rows
    assert abs(spent - expected) <= len(judged + shadows)  # usage x price, to the micro-dollar per call


async def test_the_daily_shadow_cap_refuses_shadow_calls_not_requests(fake: Upstream) -> None:
    pipeline = configure(config(fake, shadow={"share": 1.0, "daily_usd": 0.0}))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    responses = [await routed() for _ in range(3)]
    await learner.drain()
    assert all(r.choices[0].message.content == "answer from cheap" for r in responses)
    assert learner.stats["skipped"] == 3
    assert fake.hits() == {"cheap": 3}
    assert await learner.outcomes() == []


async def test_feedback_is_joined_to_its_decision_once(fake: Upstream) -> None:
    pipeline = configure(config(fake, enabled=True))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    response = await routed()
    request_id = response._hidden_params["router_request_id"]
    await learner.drain()
    outcome = await feedback(request_id, 0.2)
    assert (outcome.source, outcome.weak_model, outcome.weak, outcome.strong_model, outcome.strong) == (
        "feedback",
        "openai/cheap",
        0.2,
        "strong",
        None,
    )
    assert outcome.prompt is None
    assert [o.weak for o in await learner.outcomes("feedback")] == [0.2]
    with pytest.raises(UnknownRequest, match="already has feedback"):
        await feedback(request_id, 0.9)
    with pytest.raises(ConfigError, match="score"):
        await feedback(request_id, 1.5)


async def test_feedback_keeps_the_prompt_only_when_asked(fake: Upstream) -> None:
    pipeline = configure(config(fake, enabled=True, store_prompts=True))
    assert isinstance(pipeline.learner, Learner)
    response = await routed()
    await pipeline.learner.drain()
    outcome = await feedback(response._hidden_params["router_request_id"], 1.0)
    assert outcome.prompt == PROMPT


async def test_a_cascade_escalation_records_both_answers(fake: Upstream) -> None:
    fake.control(cheap={"answers": ["yes", "no"]}, strong={"answers": ["forty two"]})
    settings = config(fake, enabled=True) | {"cascade": {"enabled": True, "checks": ["consistency"]}}
    pipeline = Pipeline(settings)
    learner = Learner.attach(pipeline)
    assert learner is not None
    ensure_decision_hook()
    await pipeline.acompletion([{"role": "user", "content": PROMPT}], max_tokens=20)
    await learner.drain()
    outcomes = await learner.outcomes("cascade")
    assert [(o.weak_model, o.weak, o.strong_model, o.strong) for o in outcomes] == [
        ("openai/cheap", 0.0, "openai/strong", None)
    ]


def test_learning_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"learning\.tier_shares"):
        PluginConfig.load(
            {"tiers": [{"name": "a", "deployments": ["gpt-4o-mini"]}] * 1, "learning": {"tier_shares": [0.5, 0.5]}}
        )
    with pytest.raises(ConfigError, match=r"learning\.shadow\.share"):
        PluginConfig.load({"learning": {"shadow": {"share": 2}}})
    assert PluginConfig().learning.shadow.share == 0
    assert not PluginConfig().learning.store_prompts


def test_the_shadow_sample_is_the_configured_share_and_the_same_everywhere() -> None:
    ids = [uuid.UUID(int=i).hex for i in range(20_000)]
    assert abs(sum(sampled(i, 0.1) for i in ids) / len(ids) - 0.1) < 0.01
    assert [sampled(i, 0.3) for i in ids[:50]] == [sampled(i, 0.3) for i in ids[:50]]
    assert not any(sampled(i, 0.0) for i in ids)


@pytest.fixture(params=["memory", "redis", "cluster"])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[LearningState]:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    store: Store = MemoryStore()
    if request.param == "redis":
        store = RedisStore(REDIS_URL, prefix=prefix)
    elif request.param == "cluster":  # every key shares the prefix's hash tag: one slot, so the scripts run
        store = RedisStore(request.getfixturevalue("redis_cluster_url"), prefix=prefix, cluster=True)
    try:
        yield learning_state(store)
    finally:
        if isinstance(store, RedisStore):
            await store.clear()
            await store.aclose()


async def test_outcomes_are_bounded_newest_first_and_counted(state: LearningState) -> None:
    totals = [await state.add_outcome(f'{{"n": {i}}}', 3) for i in range(5)]
    assert totals == [1, 2, 3, 4, 5]
    assert await state.outcomes() == ['{"n": 4}', '{"n": 3}', '{"n": 2}']
    assert await state.outcomes(1) == ['{"n": 4}']


async def test_one_retrainer_per_batch_of_outcomes(state: LearningState) -> None:
    for i in range(3):
        await state.add_outcome(str(i), 10)
    assert await state.claim_retrain(4, 60_000, "a") == 0  # not enough new outcomes
    await state.add_outcome("3", 10)
    assert await state.claim_retrain(4, 60_000, "a") == 4
    assert await state.claim_retrain(4, 60_000, "b") == 0  # counted from the claim, and locked
    for i in range(4):
        await state.add_outcome(str(i), 10)
    assert await state.claim_retrain(4, 60_000, "b") == 0  # a retraining is running
    await state.release_retrain("b")  # not b's lock: no effect
    assert await state.claim_retrain(4, 60_000, "b") == 0
    await state.release_retrain("a")
    assert await state.claim_retrain(4, 60_000, "b") == 8


async def test_promote_and_rollback_walk_the_history(state: LearningState) -> None:
    assert await state.promote("v1") == ("unknown", None)
    await state.put_model("v1", "one")
    await state.put_model("v2", "two")
    assert await state.promote("v1") == ("ok", None)
    assert await state.promote("v1") == ("current", "v1")
    assert await state.promote("v2") == ("ok", "v1")
    assert (await state.current(), await state.history()) == ("v2", ["v2", "v1"])
    assert await state.model("v2") == "two"
    assert await state.models() == {"v1": "one", "v2": "two"}
    assert await state.rollback() == ("v2", "v1")
    assert await state.rollback() == ("v1", None)
    assert await state.rollback() == (None, None)
    assert await state.current() is None


async def test_a_feedback_join_is_taken_once_and_expires(state: LearningState) -> None:
    await state.put_join("r1", "decision", 60_000)
    await state.put_join("r2", "gone", 1)
    assert await state.take_join("r1") == "decision"
    assert await state.take_join("r1") is None
    import asyncio

    await asyncio.sleep(0.05)
    assert await state.take_join("r2") is None


def test_recalibrated_thresholds_keep_each_tiers_share() -> None:
    from litellm_router_plugin.learning.fit import fit
    from litellm_router_plugin.learning.outcomes import Outcome
    from litellm_router_plugin.learning.versions import Version, recalibrate, shares_of

    outcomes = [
        Outcome.of(f"What is {i} + {2 * i}?" if i % 4 == 0 else f"Tell me a story about a cat called {i}", **q)
        for i in range(120)
        for q in [{"weak": 0.0 if i % 4 == 0 else 1.0, "strong": 1.0, "source": "file"}]
    ]
    model = fit(outcomes)
    strengths = [model.strength_of(o.features) for o in outcomes]
    cut = recalibrate(model, outcomes, shares=[0.5, 0.3, 0.2], current=None, thresholds=None)
    assert cut is not None
    assert shares_of(strengths, cut) == pytest.approx([0.5, 0.3, 0.2], abs=0.01)
    # No shares configured: the ones the current version gives are kept for the candidate.
    current = Version(model, [cut[0], cut[0]])  # 50% cheapest, 0% middle, 50% strongest
    candidate = fit(outcomes[:90])
    again = recalibrate(candidate, outcomes, shares=None, current=current, thresholds=None)
    assert again is not None
    assert shares_of([candidate.strength_of(o.features) for o in outcomes], again) == pytest.approx(
        [0.5, 0.0, 0.5], abs=0.01
    )
    assert recalibrate(model, outcomes, shares=None, current=None, thresholds=None) is None


@pytest.mark.parametrize("through", ["acompletion", "router"])
async def test_a_streamed_answer_is_shadowed_once_assembled_and_charged(fake: Upstream, through: str) -> None:
    pipeline = configure(config(fake, shadow={"share": 1.0, "daily_usd": 1.0}))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    messages = [{"role": "user", "content": PROMPT}]
    metadata = {"router": {"reference": "answer from strong"}}
    if through == "router":
        call = build_router(pipeline=pipeline).acompletion(
            model="auto", messages=messages, max_tokens=20, stream=True, metadata=metadata
        )
    else:
        call = acompletion("auto", messages, max_tokens=20, stream=True, metadata=metadata)
    chunks = [chunk async for chunk in await call]
    await _settled(learner)
    assert chunks
    assert fake.hits() == {"cheap": 1, "strong": 1}
    outcomes = await learner.outcomes("shadow")
    assert [(o.weak_model, o.weak, o.strong_model, o.strong) for o in outcomes] == [
        ("openai/cheap", 0.0, "openai/strong", 1.0)  # the assembled text, checked against the reference
    ]
    assert (learner.stats["routed"], learner.stats["shadowed"]) == (1, 1)
    assert pipeline.admission is not None
    rows = await pipeline.admission.store.ledger()
    assert [r["reason"] for r in rows if str(r["reason"]).startswith("shadow of")] == ["shadow of cheap"]
    spent, held = await pipeline.admission.store.spent(SHADOW_SCOPE, pipeline.admission.guard.window())
    assert held == 0
    assert spent == sum(r["cost_micros"] for r in rows if str(r["reason"]).startswith("shadow of")) > 0


async def test_answers_litellm_redacted_are_skipped_with_their_reason(
    fake: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(litellm, "turn_off_message_logging", True)
    pipeline = configure(config(fake, shadow={"share": 1.0, "daily_usd": 1.0}))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    stream = await acompletion("auto", [{"role": "user", "content": PROMPT}], max_tokens=20, stream=True)
    assert [chunk async for chunk in stream]
    await _settled(learner)
    assert learner.stats["skipped:redacted"] == 1  # the logged stream reads "redacted-by-litellm"
    assert fake.hits() == {"cheap": 1}


async def _settled(learner: Learner, seconds: float = 10.0) -> None:
    """Drain the learner once LiteLLM's logging (a task, or a thread for synchronous calls) reached it."""
    deadline = asyncio.get_running_loop().time() + seconds
    # LiteLLM's logging reaches the learner from a task or a thread of its own: nothing to await
    while not learner.stats["routed"] and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    await learner.drain()


WEATHER = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def tool_grader(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """A judge that sees both tool calls and the tools offered: the call naming Paris is right."""
    text = str(messages[-1].parts[-1].content)  # type: ignore[union-attr]
    assert "get_weather" in text.split("Answer 1:")[0]  # the tools offered are in the prompt it reads
    first = re.search(r"Answer 1:\n(.*)\n\nAnswer 2:\n(.*)", text, re.S)
    assert first is not None
    assert all(a.startswith("tool_call get_weather {") for a in first.groups())
    args = {"first": 1.0 if "Paris" in first.group(1) else 0.0, "second": 1.0 if "Paris" in first.group(2) else 0.0}
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, args)])


@pytest.mark.parametrize("stream", [False, True])
async def test_a_tool_call_answer_is_shadowed_with_the_same_tools_and_judged_as_the_call(
    fake: Upstream, stream: bool
) -> None:
    fake.control(cheap={"tool_arguments": {"city": "Lyon"}}, strong={"tool_arguments": {"city": "Paris"}})
    pipeline = configure(config(fake, shadow={"share": 1.0, "judge": "openai:gpt-4o-mini", "daily_usd": 1.0}))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    learner.shadow._judge_model = FunctionModel(tool_grader, model_name="gpt-4o-mini")
    prompt = [{"role": "user", "content": "What is the weather like in the capital of France today?"}]
    response = await acompletion("auto", prompt, max_tokens=20, tools=WEATHER, tool_choice="auto", stream=stream)
    if stream:
        assert [c async for c in response]
        await asyncio.sleep(0)
    else:
        assert response.choices[0].message.tool_calls[0].function.name == "get_weather"
    await _settled(learner)
    assert fake.hits() == {"cheap": 1, "strong": 1}  # the strong tier was offered the same tool
    outcomes = await learner.outcomes("shadow")
    assert [(o.weak_model, o.weak, o.strong_model, o.strong) for o in outcomes] == [
        ("openai/cheap", 0.0, "openai/strong", 1.0)
    ]


async def test_a_tool_call_checked_against_a_reference_and_an_empty_answer_skipped_with_its_reason(
    fake: Upstream,
) -> None:
    fake.control(cheap={"tool_arguments": {"city": "Paris"}}, strong={"tool_arguments": {"city": "Paris"}})
    pipeline = configure(config(fake, shadow={"share": 1.0, "daily_usd": 1.0}))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    metadata = {"router": {"reference": "Paris"}}
    await acompletion("auto", [{"role": "user", "content": PROMPT}], max_tokens=20, tools=WEATHER, metadata=metadata)
    fake.control(cheap={"tool_arguments": None, "answers": [""]})
    await acompletion("auto", [{"role": "user", "content": PROMPT}], max_tokens=20)
    await learner.drain()
    outcomes = await learner.outcomes("shadow")
    assert [(o.weak, o.strong) for o in outcomes] == [(1.0, 1.0)]  # both calls name Paris
    assert learner.stats["skipped:empty"] == 1  # no text, no tool call: nothing to compare, counted
    assert fake.hits() == {"cheap": 2, "strong": 1}


@pytest.mark.parametrize("stream", [False, True])
def test_a_synchronous_router_completion_is_shadowed_and_charged(fake: Upstream, stream: bool) -> None:
    pipeline = Pipeline(config(fake, shadow={"share": 1.0, "daily_usd": 1.0}))
    router = build_router(pipeline=pipeline)
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    metadata = {"router": {"reference": "answer from strong"}}
    messages = [{"role": "user", "content": PROMPT}]
    response = router.completion(model="auto", messages=messages, max_tokens=20, metadata=metadata, stream=stream)
    if stream:
        assert "".join(c.choices[0].delta.content or "" for c in response) == "answer from cheap"
    else:
        assert response.choices[0].message.content == "answer from cheap"
    asyncio.run(_settled(learner))
    assert fake.hits() == {"cheap": 1, "strong": 1}
    outcomes = asyncio.run(learner.outcomes("shadow"))
    assert [(o.weak_model, o.weak, o.strong_model, o.strong) for o in outcomes] == [
        ("openai/cheap", 0.0, "openai/strong", 1.0)
    ]
    assert pipeline.admission is not None
    spent, held = asyncio.run(pipeline.admission.store.spent(SHADOW_SCOPE, pipeline.admission.guard.window()))
    assert held == 0
    assert spent > 0


def test_litellm_completion_through_the_provider_is_shadowed_once(fake: Upstream) -> None:
    register()  # model="router/<alias>": the inner async call is hooked on the bridge loop, the outer sync call too
    pipeline = configure(config(fake, shadow={"share": 1.0, "daily_usd": 1.0}))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    response = litellm.completion(model="router/auto", messages=[{"role": "user", "content": PROMPT}], max_tokens=20)
    assert response.choices[0].message.content == "answer from cheap"
    asyncio.run(_settled(learner))
    time.sleep(0.2)  # a second (wrong) shadow from the outer synchronous call's logging would land by now
    asyncio.run(learner.drain())
    assert fake.hits() == {"cheap": 1, "strong": 1}
    assert (learner.stats["routed"], learner.stats["shadowed"]) == (1, 1)


async def test_a_candidate_no_better_than_the_current_model_is_published_not_promoted(fake: Upstream) -> None:
    import random

    from litellm_router_plugin.learning.outcomes import Outcome

    pipeline = configure(config(fake, enabled=True, retrain_every=10_000, min_outcomes=40, margin=0.2))
    learner = pipeline.learner
    assert isinstance(learner, Learner)
    coin = random.Random(7)
    for i in range(60):  # labels unrelated to the prompts: nothing to learn
        weak = float(coin.random() < 0.5)
        await learner.record(Outcome.of(f"Tell me about topic number {i}", weak=weak, strong=1.0, source="file"))
    comparison = await learner.retrain()
    assert comparison is not None
    assert not comparison.promote
    assert comparison.candidate_apgr < comparison.current_apgr + 0.2
    listing = await learner.registry.listing()
    assert [(v["promote"], v["current"]) for v in listing] == [(False, False)]
    # The listing says how the candidate was fitted (no model current yet: no prior, a ridge penalty).
    assert listing[0]["candidate"] == "no_prior"
    assert listing[0]["penalty"] > 0
    assert _fit(listing[0]) == f"no_prior {listing[0]['penalty']}"
    assert _fit({"candidate": "no_change", "penalty": None}) == "no_change"
    assert await learner.state.current() is None
    await learner.refresh()
    assert learner.adopted is None
