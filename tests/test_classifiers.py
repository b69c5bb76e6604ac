from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

from litellm_router_plugin.classify import CachedClassifier, HeuristicClassifier, category_for_score
from litellm_router_plugin.classify.agent import AgentClassifier

HEURISTIC = HeuristicClassifier()


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("Hello!", "simple"),
        ("What is the capital of France?", "simple"),
        ("Summarise this article about tides in three sentences for a newsletter.", "moderate"),
        ("Write a Python function that merges two sorted lists, with unit tests.", "complex"),
        ("Write a SQL query with a JOIN and GROUP BY that returns revenue per region for 2024.", "complex"),
        ("Prove that the sum of the first n odd numbers is n^2, by induction.", "reasoning"),
        (
            "Design a step-by-step plan to migrate our billing system, compare the trade-offs of each "
            "strategy, and explain why consistency matters when a node fails?",
            "reasoning",
        ),
    ],
)
def test_heuristic_categories(prompt: str, category: str) -> None:
    analysis = HEURISTIC.classify(prompt)
    assert analysis.category == category, analysis.reasoning
    assert analysis.classifier == "heuristic"
    assert analysis.category == category_for_score(analysis.score)


@given(st.text(max_size=2000))
def test_heuristic_is_total_and_deterministic(prompt: str) -> None:
    first, second = HEURISTIC.classify(prompt), HEURISTIC.classify(prompt)
    assert 1 <= first.score <= 10
    assert (first.score, first.category, first.reasoning) == (second.score, second.category, second.reasoning)


def test_heuristic_scores_grow_with_difficulty() -> None:
    easy = HEURISTIC.classify("Thanks!").score
    code = HEURISTIC.classify("Implement a thread-safe LRU cache class in Python with unit tests.").score
    proof = HEURISTIC.classify("Prove rigorously that sqrt(2) is irrational.").score
    assert easy < code < proof


def verdict_model(score: int, category: str) -> TestModel:
    return TestModel(custom_output_args={"score": score, "category": category, "reasoning": "multi-step code"})


async def test_agent_classifier_returns_the_agents_verdict() -> None:
    clf = AgentClassifier(verdict_model(7, "complex"), fallback=HEURISTIC)
    analysis = await clf.aclassify("Refactor this service.")
    assert (analysis.score, analysis.category, analysis.reasoning) == (7, "complex", "multi-step code")
    assert analysis.classifier == "agent:test"
    assert analysis.fallback_reason is None
    assert clf.spend.calls == 1
    assert clf.spend.input_tokens > 0


def test_agent_spend_is_priced_from_litellm() -> None:
    clf = AgentClassifier("openai:gpt-4o-mini", fallback=HEURISTIC)
    clf._record(1000, 100)
    assert clf.spend.cost_usd == pytest.approx(1000 * 1.5e-7 + 100 * 6e-7)


def garbage(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[TextPart("I think it's pretty hard, maybe an 11?")])


async def test_agent_garbage_output_falls_back_to_heuristic() -> None:
    clf = AgentClassifier(FunctionModel(garbage), fallback=HEURISTIC)
    analysis = await clf.aclassify("Prove that there are infinitely many primes.")
    assert analysis.fallback_reason is not None
    assert analysis.fallback_reason.startswith("invalid output")
    assert analysis.classifier == "heuristic"
    assert analysis.category == HEURISTIC.classify("Prove that there are infinitely many primes.").category


def out_of_range(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    tool = info.output_tools[0].name
    return ModelResponse(parts=[ToolCallPart(tool, {"score": 42, "category": "hard", "reasoning": "x"})])


async def test_agent_invalid_structured_output_falls_back() -> None:
    clf = AgentClassifier(FunctionModel(out_of_range), fallback=HEURISTIC)
    analysis = await clf.aclassify("hi")
    assert analysis.fallback_reason is not None
    assert "invalid output" in analysis.fallback_reason


async def test_agent_timeout_falls_back_within_the_deadline() -> None:
    async def slow(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    clf = AgentClassifier(FunctionModel(function=slow), fallback=HEURISTIC, timeout_seconds=0.05)
    analysis = await asyncio.wait_for(clf.aclassify("What is 2+2?"), timeout=5)
    assert analysis.fallback_reason == "timeout after 0.05s"
    assert analysis.classifier == "heuristic"


async def test_agent_retries_transient_errors_then_answers() -> None:
    calls = 0

    def flaky(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ModelHTTPError(503, "test", body="overloaded")
        tool = info.output_tools[0].name
        return ModelResponse(parts=[ToolCallPart(tool, {"score": 2, "category": "simple", "reasoning": "fact"})])

    clf = AgentClassifier(FunctionModel(flaky), fallback=HEURISTIC, retries=2)
    analysis = await clf.aclassify("Capital of Peru?")
    assert calls == 2
    assert analysis.fallback_reason is None
    assert analysis.score == 2


async def test_agent_persistent_or_client_errors_fall_back() -> None:
    calls = 0

    def forbidden(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal calls
        calls += 1
        raise ModelHTTPError(401, "test", body="bad key")

    clf = AgentClassifier(FunctionModel(forbidden), fallback=HEURISTIC, retries=2)
    analysis = await clf.aclassify("hi")
    assert calls == 1  # a 401 is not transient: no retry
    assert analysis.fallback_reason == "model error: ModelHTTPError"


class CountingModel(FunctionModel):
    def __init__(self) -> None:
        self.calls = 0
        super().__init__(self._answer)

    async def _answer(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.calls += 1
        await asyncio.sleep(0.01)
        tool = info.output_tools[0].name
        return ModelResponse(parts=[ToolCallPart(tool, {"score": 5, "category": "moderate", "reasoning": "r"})])


async def test_cache_spares_the_second_agent_call() -> None:
    model = CountingModel()
    cached = CachedClassifier(AgentClassifier(model, fallback=HEURISTIC), maxsize=8)
    first = await cached.aclassify("Explain   TCP slow start.")
    second = await cached.aclassify("explain tcp slow START.")
    assert model.calls == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.score == first.score == 5
    assert (cached.hits, cached.misses) == (1, 1)


async def test_cache_coalesces_concurrent_identical_prompts() -> None:
    model = CountingModel()
    cached = CachedClassifier(AgentClassifier(model, fallback=HEURISTIC))
    results = await asyncio.gather(*(cached.aclassify("same prompt") for _ in range(10)))
    assert model.calls == 1
    assert all(r.score == 5 for r in results)


async def test_cache_is_bounded_and_does_not_keep_fallbacks() -> None:
    model = CountingModel()
    cached = CachedClassifier(AgentClassifier(model, fallback=HEURISTIC), maxsize=2)
    for prompt in ("a", "b", "c"):
        await cached.aclassify(prompt)
    assert len(cached) == 2
    assert cached.get("a") is None
    assert cached.get("c") is not None

    failing = CachedClassifier(AgentClassifier(FunctionModel(garbage), fallback=HEURISTIC))
    await failing.aclassify("x")
    assert len(failing) == 0


def test_cached_classifier_rejects_zero_size() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        CachedClassifier(HEURISTIC, maxsize=0)


def test_real_model_requests_are_forbidden_in_tests() -> None:
    import pydantic_ai.models

    assert pydantic_ai.models.ALLOW_MODEL_REQUESTS is False


async def test_agent_configured_by_name_falls_back_when_it_cannot_run() -> None:
    from litellm_router_plugin import Planner, PluginConfig

    planner = Planner(PluginConfig.load({"classifier": {"kind": "agent", "agent_model": "openai:gpt-4o-mini"}}))
    assert isinstance(planner.classifier, CachedClassifier)
    assert planner.classifier.name == "agent:openai:gpt-4o-mini"
    # Real model requests are forbidden in tests (and there is no key): the heuristic answers.
    decision = await planner.decide([{"role": "user", "content": "Prove that there are infinitely many primes."}])
    assert decision.analysis.classifier == "heuristic"
    assert decision.analysis.fallback_reason is not None
    assert decision.analysis.fallback_reason.startswith("error: ")
    assert decision.tier == "reasoning"


DEMO_CATEGORIES = [
    *["simple"] * 6,
    *["moderate"] * 3,
    *["complex"] * 5,
    *["reasoning"] * 4,
    "moderate",
    "moderate",
]


def test_demo_table_categories_stay_sensible() -> None:
    """The demo's prompts keep their categories: greetings simple, code complex, proofs reasoning."""
    from litellm_router_plugin.tools.demo import DEMO_PROMPTS

    assert len(DEMO_PROMPTS) == len(DEMO_CATEGORIES)
    got = [HEURISTIC.classify(p).category for p in DEMO_PROMPTS]
    assert got == DEMO_CATEGORIES


def test_heuristic_strength_is_continuous_in_length() -> None:
    short = HEURISTIC.strength("Explain the water cycle.")
    longer = HEURISTIC.strength("Explain the water cycle, with the role of evaporation over the oceans in it.")
    assert short < longer
    assert HEURISTIC.classify("Hello!").strength == 1.0  # greetings stay at the bottom


STEM = "Which is correct about the two claims below? Claim 1 | Water boils at 90 C at sea level. Claim 2 | Ice floats."


def test_options_that_combine_judgments_need_more_than_options_that_name_facts() -> None:
    from litellm_router_plugin.classify.features import PromptShape

    judged = STEM + "\nA. True, True\nB. True, False\nC. False, True\nD. False, False\nAnswer:"
    named = STEM + "\nA. Only the first\nB. Only the second\nC. Both of them\nD. Neither claim\nAnswer:"
    numeric = STEM + "\nA. 12\nB. 14.5\nC. 3/4\nD. 100 kg\nAnswer:"
    assert PromptShape.of(judged).option_overlap == pytest.approx(2 / 3)  # 2 distinct words of 6 (a set per option)
    assert PromptShape.of(named).option_overlap < 0.2
    assert PromptShape.of(numeric).numeric_options == 1.0
    assert PromptShape.of(named).catch_all_option == 1.0  # "Neither claim"
    assert HEURISTIC.strength(judged) > HEURISTIC.strength(named) > HEURISTIC.strength(numeric)


def test_first_person_counts_only_in_multiple_choice() -> None:
    from litellm_router_plugin.classify.features import PromptShape

    assert PromptShape.of("I took my neighbour's bike.\nA. Wrong\nB. Not wrong").first_person == 1.0
    assert PromptShape.of("Can you help me write an email to my landlord?").first_person == 0.0
    assert PromptShape.of("Can you help me write an email?").options == ()


# One phrase per alternative of every gated pattern (classify/heuristic.py GATES), in that order.
GATED_PHRASES = [
    "implement it; refactor; debug; optimise; optimize; code; a function; functions; a script; a class; a method; "
    "a regex; an algorithm; unit test; unit tests; an api; the endpoint; python; javascript; typescript; rust; "
    "golang; java; c++11; bash; compile; compiler; stack trace; an exception; a bug; async/await; a callback; "
    "callbacks",
    "select name, id from users; a join; group by x; order by y; where x =1; sql; a query; the schema; an index; "
    "indexes; postgres; postgresql; mysql; sqlite; window function; window functions; a cte",
    "\\frac{a}{b}; \\sum; \\int; ∑; ∫; √2; a ≤ b; a ≥ b; a ≠ b; an equation; the integral; a derivative; a matrix; "
    "probability; eigenvalues; eigen; a polynomial; modulo; prime; primes; integer; integers; irrational; "
    "logarithm; calculus; algebra; geometry; a theorem; a lemma; solve for x",
    "prove; proof; derive; derivation; rigorous; rigorously; formally; show that; induction",
    "step-by-step; step by step; first do this then that; plan; design; architect; architecture; strategy; "
    "roadmap; migrate; migration; trade-off; tradeoffs; trade-offs; compare; evaluate; analyse; analyze; "
    "pros and cons; in detail; comprehensive; end-to-end",
    "why; reason; reasoning; justify; explain why; puzzle; riddle; logic; logical; paradox; optimal; "
    "counterexample; consequence; consequences; implication; implications; what if; hypothesis; hypotheses; "
    "edge case; edge cases; concurrency; concurrent; race condition; distributed; consistent; consistency",
    "explain; summarise; summarize; summary; describe; outline; essay; email; letter; story; review; rewrite; draft",
]


@pytest.mark.parametrize("index", range(len(GATED_PHRASES)))
def test_every_alternative_of_a_gated_pattern_passes_its_gate(index: int) -> None:
    """The gates only skip patterns that cannot match: each alternative, alone, still opens its gate."""
    import re

    from litellm_router_plugin.classify.heuristic import GATES

    gate = GATES[index]
    for phrase in GATED_PHRASES[index].split("; "):
        low = phrase.lower()
        assert gate.pattern.search(low), f"{phrase!r} should match pattern {index}"
        assert gate.may_match(set(re.findall(r"\w+", low)), low), f"the gate hides {phrase!r}"


def test_gates_change_no_score_on_the_outcome_data() -> None:
    """No gate stays shut where its pattern would match an MMLU prompt, so gated scores equal ungated ones."""
    import math
    import re

    from litellm_router_plugin.classify.heuristic import GATES
    from litellm_router_plugin.evaluation import MMLU_DATASET
    from litellm_router_plugin.evaluation.routing_bench import load_dataset

    for sample in load_dataset(MMLU_DATASET)[::7]:
        low = sample.prompt.strip().lower()
        words = set(re.findall(r"\w+", low))
        for gate in GATES:
            assert gate.may_match(words, low) or not gate.pattern.findall(low), low[:80]
        assert math.isfinite(HEURISTIC.strength(sample.prompt))
