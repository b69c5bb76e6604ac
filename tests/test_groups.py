"""Tiers over the Router's own model groups (``tiers[].model_groups``): the deployments are defined
once, in the Router's model list; the planner picks the cheapest group of a tier, and LiteLLM's own
selection (weights, cooldowns) picks the deployment within it; the call is admitted and settled as any."""

from __future__ import annotations

import warnings
from typing import Any

import litellm
import pytest

from litellm_router_plugin import PluginConfig, build_router
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.integrations.groups import cooling_groups
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.pipeline.policy import build_policy
from tests.conftest import user

EASY = user("Hi!")


def group(name: str, *models: tuple[str, float]) -> list[dict[str, Any]]:
    """A Router model group: one deployment per (model, LiteLLM simple-shuffle weight)."""
    return [
        {
            "model_name": name,
            "litellm_params": {"model": model, "api_key": "k", "weight": weight},
            "model_info": {"id": f"{name}-{model}"},
        }
        for model, weight in models
    ]


MODEL_LIST = [
    *group("mini", ("gpt-4o-mini", 1)),
    *group("big", ("gpt-4o", 1)),
    *group("pair", ("gpt-4.1-mini", 1), ("gpt-4.1-nano", 0)),
]


def tiers(*groups: str, **extra: Any) -> dict[str, Any]:
    return {"tiers": [{"name": "only", "model_groups": list(groups)}], **extra}


def decision_of(response: Any) -> dict[str, Any]:
    decision: dict[str, Any] = response._hidden_params["router_decision"]
    return decision


async def test_a_tier_over_two_groups_routes_to_the_cheaper_group() -> None:
    router = build_router(tiers("big", "mini"), model_list=MODEL_LIST)
    for _ in range(4):
        response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
        decision = decision_of(response)
        assert decision["deployment_id"] == "only/group/mini"
        assert response._hidden_params["model_id"] == "mini-gpt-4o-mini"


def test_the_synchronous_router_routes_to_groups_too() -> None:
    router = build_router(tiers("big", "mini"), model_list=MODEL_LIST)
    metadata: dict[str, Any] = {}
    response = router.completion(model="auto", messages=EASY, mock_response="x", metadata=metadata)
    assert metadata["router_decision"]["deployment_id"] == "only/group/mini"
    assert response._hidden_params["model_id"] == "mini-gpt-4o-mini"


@pytest.mark.parametrize(
    ("own", "groups", "served"),
    [("gpt-4o", ["mini"], "mini-gpt-4o-mini"), ("gpt-4.1-nano", ["big"], None)],
)
async def test_own_deployments_and_groups_compete_on_price(own: str, groups: list[str], served: str | None) -> None:
    config = {"tiers": [{"name": "only", "deployments": [own], "model_groups": groups}]}
    router = build_router(config, model_list=MODEL_LIST)
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    expected = f"only/group/{groups[0]}" if served else f"only/0/{own}"
    assert decision_of(response)["deployment_id"] == expected
    assert response._hidden_params["model_id"] == (served or expected)


async def test_within_a_group_litellms_weights_decide() -> None:
    router = build_router(tiers("pair"), model_list=MODEL_LIST)
    used = set()
    for _ in range(12):
        response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
        assert decision_of(response)["deployment_id"] == "only/group/pair"
        used.add(response._hidden_params["model_id"])
    assert used == {"pair-gpt-4.1-mini"}  # weight 0: LiteLLM's simple-shuffle never picks gpt-4.1-nano


def test_a_group_is_priced_at_its_priciest_deployment_from_litellms_table() -> None:
    pipeline = Pipeline(tiers("pair"))
    build_router(pipeline=pipeline, model_list=MODEL_LIST)
    (deployment,) = pipeline.tier_map["only"].deployments
    assert (deployment.group, deployment.model, deployment.price.source) == (
        "pair",
        "gpt-4.1-mini",
        "litellm.model_cost",
    )
    assert deployment.price.input_per_token == litellm.model_cost["gpt-4.1-mini"]["input_cost_per_token"]


def test_an_unknown_group_fails_at_install_naming_it_and_the_routers_groups() -> None:
    with pytest.raises(ConfigError) as caught:
        build_router(tiers("mini", "nope", "gone"), model_list=MODEL_LIST)
    message = str(caught.value)
    assert "nope, gone" in message
    assert "big, mini, pair" in message


@pytest.mark.parametrize("tier", [{"name": "t"}, {"name": "t", "model_groups": [], "deployments": []}])
def test_a_tier_needs_deployments_or_model_groups(tier: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="neither `deployments` nor `model_groups`"):
        PluginConfig.load({"tiers": [tier]})


async def test_a_group_call_is_charged_litellms_response_cost() -> None:
    config = PluginConfig.load(tiers("mini", budgets={"per_user": {"daily": 10}}))
    admission = Admission(config)
    router = build_router(pipeline=Pipeline(config, admission=admission), model_list=MODEL_LIST)
    response = await router.acompletion(
        model="auto", messages=EASY, mock_response="hello there", metadata={"router": {"user": "ann"}}
    )
    spent, held = await admission.guard.spent("user", "ann")
    cost = response._hidden_params["response_cost"]
    assert cost > 0
    assert spent == pytest.approx(cost, abs=1e-6)  # the counters count micro-dollars
    assert held == 0


async def test_groups_rebind_when_the_routers_model_list_changes() -> None:
    pipeline = Pipeline(tiers("mini"))
    router = build_router(pipeline=pipeline, model_list=MODEL_LIST)
    dearer = {**group("mini", ("gpt-4o", 1))[0], "model_info": {"id": "mini-dearer"}}
    with warnings.catch_warnings():  # LiteLLM 1.110 deprecates reading Router.model_list (still served)
        warnings.simplefilter("ignore", DeprecationWarning)
        current = list(router.model_list)
    router.set_model_list([*current, dearer])  # the proxy's list changed: "mini" gains gpt-4o
    response = await router.acompletion(model="auto", messages=EASY, mock_response="x")
    assert decision_of(response)["deployment_id"] == "only/group/mini"
    (deployment,) = pipeline.tier_map["only"].deployments
    assert deployment.model == "gpt-4o"  # re-priced at its priciest deployment


async def test_a_group_whose_deployment_failed_is_not_retried_the_retry_takes_the_next_group() -> None:
    failing = group("mini", ("gpt-4o-mini", 1))
    failing[0]["litellm_params"]["mock_response"] = "litellm.RateLimitError"  # it answers 429
    healthy = group("big", ("gpt-4o", 1))
    healthy[0]["litellm_params"]["mock_response"] = "ok"
    router = build_router(
        tiers("mini", "big"), model_list=failing + healthy, num_retries=2, cooldown_time=60, retry_after=0
    )
    for _ in range(3):  # each tries mini first (LiteLLM does not cool a group's only deployment); the retry: big
        response = await router.acompletion(model="auto", messages=EASY)
        assert response._hidden_params["model_id"] == "big-gpt-4o"
        assert decision_of(response)["deployment_id"] == "only/group/big"


def test_a_group_whose_every_deployment_cools_down_is_avoided() -> None:
    pipeline = Pipeline(tiers("pair", "mini"))
    build_router(pipeline=pipeline, model_list=MODEL_LIST)
    assert cooling_groups(pipeline, ["pair-gpt-4.1-mini"]) == []  # LiteLLM still has gpt-4.1-nano
    assert cooling_groups(pipeline, ["pair-gpt-4.1-mini", "pair-gpt-4.1-nano"]) == ["only/group/pair"]


def test_a_policy_reload_keeps_the_routers_groups() -> None:
    pipeline = Pipeline(tiers("mini"))
    build_router(pipeline=pipeline, model_list=MODEL_LIST)
    config = PluginConfig.load(tiers("mini", "big"))
    reloaded = build_policy(config, "v2", previous=pipeline.policy)
    assert [d.deployment_id for d in reloaded.tier_map["only"].deployments] == ["only/group/mini", "only/group/big"]
    with pytest.raises(ConfigError, match="no model group named nope"):  # the watcher keeps the running policy
        build_policy(PluginConfig.load(tiers("nope")), "v3", previous=pipeline.policy)


async def test_a_tier_of_groups_alone_is_forced_by_its_name() -> None:
    router = build_router(
        {"tiers": [{"name": "cheap", "model_groups": ["mini"]}, {"name": "strong", "model_groups": ["big"]}]},
        model_list=MODEL_LIST,
    )
    response = await router.acompletion(model="strong", messages=EASY, mock_response="x")
    assert decision_of(response)["deployment_id"] == "strong/group/big"
    assert response._hidden_params["model_id"] == "big-gpt-4o"
