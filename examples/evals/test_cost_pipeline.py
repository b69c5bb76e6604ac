"""Eval cases for a routed pipeline: `litellm-router test examples/evals` (offline by default).

They also run under pytest (`pytest examples/evals`): the plugin collects @eval_case functions.
"""

from litellm_router_plugin import (
    BudgetExceededError,
    BudgetGuard,
    BudgetLimit,
    EvalSuite,
    MaxCostUSD,
    build_router,
    eval_case,
)

router = build_router()  # the built-in tiers; offline, every call gets a mock response


async def ask(prompt: str) -> dict[str, object]:
    response = await router.acompletion(model="auto", messages=[{"role": "user", "content": prompt}])
    decision = response._hidden_params["router_decision"]
    return {"output": response.choices[0].message.content, "tier": decision["tier"], "model": decision["model"]}


@eval_case(description="A simple question is routed to the cheap tier and costs under $0.001")
async def test_simple_query_cheap() -> dict[str, object]:
    result = await ask("What year was Python first released?")
    assert result["tier"] == "simple"
    return result


@eval_case(description="A proof goes to the reasoning tier and stays under $0.01")
async def test_proof_routed_to_reasoning() -> dict[str, object]:
    result = await ask("Prove that the square root of 2 is irrational.")
    assert result["tier"] == "reasoning"
    return result


@eval_case(description="The budget guard refuses a request over the per-request limit")
async def test_budget_guard_blocks() -> dict[str, object]:
    guard = BudgetGuard(BudgetLimit(per_request=0.000001))
    try:
        await guard.check_before(0.10)
    except BudgetExceededError:
        return {"blocked": True}
    raise AssertionError("the guard admitted a request over its limit")


suite = EvalSuite(
    cases=[test_simple_query_cheap, test_proof_routed_to_reasoning, test_budget_guard_blocks],
    metrics=[
        MaxCostUSD(threshold=0.001, apply_to=["test_simple_query_cheap"]),
        MaxCostUSD(threshold=0.01, apply_to=["test_proof_routed_to_reasoning"]),
    ],
)
