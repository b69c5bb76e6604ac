from __future__ import annotations

import ast
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import litellm
import pytest

import litellm_router_plugin
from litellm_router_plugin import Pipeline, Planner, PluginConfig, acompletion, configure
from tests.conftest import TWO_TIERS, user


async def test_acompletion_routes_the_alias_and_attaches_the_decision() -> None:
    planner = configure(TWO_TIERS)
    metadata: dict[str, Any] = {"caller": "me"}
    response = await acompletion(
        model="auto", messages=user("Prove Fermat's little theorem."), mock_response="x", metadata=metadata
    )
    decision = response._hidden_params["router_decision"]
    assert (decision["tier"], decision["model"]) == ("strong", "gpt-4o")
    assert response._hidden_params["litellm_model_name"] == "gpt-4o"
    assert response._hidden_params["response_cost"] == pytest.approx(10 * 2.5e-6 + 20 * 1e-5)
    assert metadata == {"caller": "me"}  # the caller's dict is not mutated
    assert planner.tier_map.names == ["cheap", "strong"]


async def test_acompletion_calls_other_models_as_named_with_their_own_decision() -> None:
    configure(TWO_TIERS)
    response = await acompletion(model="gpt-4o-mini", messages=user("Prove it."), mock_response="x")
    assert response._hidden_params["litellm_model_name"] == "gpt-4o-mini"
    decision = response._hidden_params["router_decision"]  # governed like the Router's named models
    assert (decision["tier"], decision["model"], decision["requested_model"]) == ("none", "gpt-4o-mini", "gpt-4o-mini")


async def test_acompletion_uses_deployment_params_and_an_explicit_planner() -> None:
    planner = Planner(
        PluginConfig.load(
            {
                "alias": "smart",
                "tiers": [
                    {
                        "name": "local",
                        "deployments": [
                            {
                                "model": "openai/house-llm",
                                "litellm_params": {
                                    "api_base": "http://127.0.0.1:9/v1",
                                    "api_key": "none",
                                    "input_cost_per_token": 0,
                                    "output_cost_per_token": 0,
                                },
                            }
                        ],
                    }
                ],
            }
        )
    )
    response = await acompletion(
        model="smart", messages=user("hi"), mock_response="x", pipeline=Pipeline(planner=planner)
    )
    assert response._hidden_params["router_decision"]["model"] == "openai/house-llm"
    assert response._hidden_params["router_decision"]["estimated_cost_usd"] == 0.0


def test_acompletion_has_litellms_leading_parameters() -> None:
    ours = list(inspect.signature(acompletion).parameters)
    theirs = list(inspect.signature(litellm.acompletion).parameters)
    assert ours[:2] == theirs[:2] == ["model", "messages"]


def test_public_api_is_sorted_and_importable() -> None:
    names = litellm_router_plugin.__all__
    assert names == sorted(names)
    assert set(names) == set(litellm_router_plugin._EXPORTS)  # the lazy loader knows every public name
    for name in names:
        assert getattr(litellm_router_plugin, name) is not None


def test_all_lists_exactly_what_the_package_exports() -> None:
    # As httpx's test_exported_members: every public name the package binds is in __all__, and only those.
    # The names are bound on first use (the module's __getattr__), so ask dir(), which lists them.
    offered = {name for name in dir(litellm_router_plugin) if not name.startswith("_")}
    submodules = {m.name for m in pkgutil.iter_modules(litellm_router_plugin.__path__)}
    future = {"annotations"}  # bound by `from __future__ import annotations`
    assert sorted(offered - submodules - future) == litellm_router_plugin.__all__


def test_the_public_names_are_few_and_the_type_checkers_see_the_same() -> None:
    # The names a user types, at most 35; the TYPE_CHECKING imports (what mypy and editors read) are
    # the runtime table written once more, so they must not drift apart.
    assert len(litellm_router_plugin.__all__) <= 35
    tree = ast.parse(Path(litellm_router_plugin.__file__).read_text())
    static = {
        alias.asname or alias.name: node.module
        for block in tree.body
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert static == litellm_router_plugin._EXPORTS
