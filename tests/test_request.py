"""The request object: read once by every entry point, and a malformed override is one error everywhere."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from litellm_router_plugin import ConfigError, ModelNotAllowed, Pipeline, PluginConfig, build_router
from litellm_router_plugin.config import RequestOverrides
from litellm_router_plugin.integrations import completion
from litellm_router_plugin.integrations.http_errors import error_body
from litellm_router_plugin.integrations.server import create_app
from litellm_router_plugin.pipeline.request import AliasTarget, CascadeTarget, NamedTarget, TierTarget
from tests.conftest import TWO_TIERS, user

EASY = user("Hi there!")

MALFORMED: list[tuple[Any, str]] = [
    ({"tier": "platinum"}, "metadata.router.tier"),
    ({"min_tier": "strong", "max_tier": "cheap"}, "metadata.router.min_tier"),
    ({"cascade": "yes"}, "metadata.router.cascade"),
    ({"max_cost_usd": -1}, "metadata.router.max_cost_usd"),
    ({"checks": ["vibes"]}, "metadata.router.checks"),
    ({"colour": "blue"}, "metadata.router.colour"),
    ("strong", "metadata.router"),
]
"""Malformed ``metadata.router`` values and the field their error names (the tiers: cheap, strong)."""


def expected(overrides: Any) -> ConfigError:
    """The one error a malformed override gets, read in process."""
    with pytest.raises(ConfigError) as info:
        RequestOverrides.parse(overrides, ["cheap", "strong"])
    return info.value


@pytest.mark.parametrize(("overrides", "field"), MALFORMED)
def test_the_error_names_the_field_and_what_it_accepts(overrides: Any, field: str) -> None:
    error = expected(overrides)
    assert error.field == field
    assert str(error).startswith(f"{field}: invalid value ")
    assert error.fix  # what to write instead


@pytest.mark.parametrize(("overrides", "field"), MALFORMED)
async def test_the_router_path_raises_that_error(overrides: Any, field: str) -> None:
    router = build_router(TWO_TIERS, num_retries=0)
    with pytest.raises(ConfigError) as info:
        await router.acompletion(model="auto", messages=EASY, mock_response="x", metadata={"router": overrides})
    assert (info.value.field, str(info.value)) == (field, str(expected(overrides)))


@pytest.mark.parametrize(("overrides", "field"), MALFORMED)
async def test_acompletion_raises_that_error_whatever_the_model(overrides: Any, field: str) -> None:
    pipeline = Pipeline(TWO_TIERS)
    for model in ("auto", "strong", "gpt-4o-mini"):
        with pytest.raises(ConfigError) as info:
            await completion.acompletion(
                model=model, messages=EASY, mock_response="x", metadata={"router": overrides}, pipeline=pipeline
            )
        assert (info.value.field, str(info.value)) == (field, str(expected(overrides)))


@pytest.mark.parametrize(("overrides", "field"), MALFORMED)
async def test_serve_answers_that_error_as_a_400(overrides: Any, field: str) -> None:
    app = create_app(Pipeline(TWO_TIERS))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post("/router/route", json={"prompt": "x", "metadata": {"router": overrides}})
    assert response.status_code == 400
    assert response.json() == error_body(400, str(expected(overrides)), "invalid_request_error", field)


def test_which_target_a_model_name_is_is_decided_once() -> None:
    pipeline = Pipeline(TWO_TIERS)
    assert pipeline.request({}, model="auto").target == AliasTarget()
    assert pipeline.request({}).target == AliasTarget()  # no model: the alias
    cascade = {"metadata": {"router": {"cascade": True}}}
    assert pipeline.request(cascade, model="auto").target == CascadeTarget()
    assert pipeline.request(cascade, model="strong").target == TierTarget("strong")  # only the alias cascades
    assert pipeline.request({}, model="gpt-4o").target == NamedTarget("gpt-4o")


def test_whether_the_caller_may_use_it_too() -> None:
    config = {**TWO_TIERS, "alias_only": ["team:interns"]}
    pipeline = Pipeline(config)
    intern = {"metadata": {"router": {"user": "ann", "team": "interns"}}}
    assert pipeline.request(intern, model="auto").target == AliasTarget()
    with pytest.raises(ModelNotAllowed):
        pipeline.request(intern, model="strong")
    staff = {"metadata": {"router": {"user": "bob", "team": "staff"}}}
    assert pipeline.request(staff, model="strong").target == TierTarget("strong")
    closed = Pipeline({**TWO_TIERS, "allow_tier_models": False})
    with pytest.raises(ModelNotAllowed):
        closed.request({}, model="strong")


def test_the_request_is_read_once_into_a_frozen_object() -> None:
    pipeline = Pipeline(PluginConfig.load({**TWO_TIERS, "default_max_tokens": 300}))
    call = {
        "max_tokens": 50,
        "stream": True,
        "metadata": {
            "router": {"max_tier": "cheap", "user": "ann", "team": "ml"},
            "previous_models": [{"deployment_id": "cheap/0/gpt-4o-mini", "exception_type": "RateLimitError"}],
        },
    }
    request = pipeline.request(call, model="auto", messages=EASY, unhealthy=["strong/0/gpt-4o"])
    assert (request.prompt, request.max_tokens, request.max_tokens_asked, request.stream) == (
        "Hi there!",
        50,
        True,
        True,
    )
    assert request.overrides.max_tier == "cheap"
    assert (request.identity.user, request.identity.team) == ("ann", "ml")
    assert request.attempts.failed == {"cheap/0/gpt-4o-mini"}
    assert request.unhealthy == {"strong/0/gpt-4o"}
    defaulted = pipeline.request({}, messages=EASY)
    assert (defaulted.max_tokens, defaulted.max_tokens_asked) == (300, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.stream = False  # type: ignore[misc]
    with pytest.raises(Exception, match="frozen"):
        request.overrides.tier = "strong"  # type: ignore[misc]


def test_every_override_is_documented() -> None:
    fields = RequestOverrides.model_fields
    assert all(info.description for info in fields.values())
    assert set(RequestOverrides.ACCEPTED) == set(fields)


def test_the_target_alone_is_decided_as_the_request_decides_it() -> None:
    """``Pipeline.target`` (the proxy's pre-call hook) reads only what the target needs: the same
    answer and the same errors as ``Pipeline.request``."""
    pipeline = Pipeline({**TWO_TIERS, "alias_only": ["team:interns"]})
    intern = {"metadata": {"router": {"user": "ann", "team": "interns"}}}
    calls: list[dict[str, Any]] = [{}, {"metadata": {"router": {"cascade": True}}}, intern, {"stream": True}]
    for call in calls:
        for model in ("auto", None, "strong", "gpt-4o"):
            try:
                target = pipeline.request(call, model=model).target
            except ModelNotAllowed:
                with pytest.raises(ModelNotAllowed):
                    pipeline.target(call, model)
                continue
            assert pipeline.target(call, model) == target
    for overrides, _ in MALFORMED:
        for model in ("auto", "strong", "gpt-4o"):
            with pytest.raises(ConfigError) as info:
                pipeline.target({"metadata": {"router": overrides}}, model)
            assert str(info.value) == str(expected(overrides))


def test_a_parsed_override_is_reused_only_for_the_same_values_and_tiers() -> None:
    identity = {"user": "ann", "key": "k-1", "team": None, "authenticated": True, "litellm_budgets": []}
    first = RequestOverrides.parse(dict(identity), ["cheap", "strong"])
    assert RequestOverrides.parse(dict(identity), ["cheap", "strong"]) is first  # validated once
    assert (first.user, first.key, first.team, first.authenticated) == ("ann", "k-1", None, True)
    assert RequestOverrides.parse({**identity, "user": "bob"}, ["cheap", "strong"]).user == "bob"
    # 1 == True, but the strict field takes only the bool, whichever was read first
    assert RequestOverrides.parse({"cascade": True}).cascade is True
    with pytest.raises(ConfigError):
        RequestOverrides.parse({"cascade": 1})
    # a tier valid under one policy is checked again under another
    assert RequestOverrides.parse({"tier": "cheap"}, ["cheap", "strong"]).tier == "cheap"
    with pytest.raises(ConfigError):
        RequestOverrides.parse({"tier": "cheap"}, ["small", "large"])
    budgets = {**identity, "litellm_budgets": [{"kind": "key", "name": "k-1", "max_budget": 1.0}]}
    assert RequestOverrides.parse(budgets) is not RequestOverrides.parse(budgets)  # not kept: not plain values
