"""Our classifier inside LiteLLM's own complexity router (classifier_type: custom)."""

from __future__ import annotations

import litellm
import pytest
from litellm.types.router import ClassifierPlugin

from litellm_router_plugin.integrations.complexity_plugin import ComplexityRouterClassifier, classifier

TIERS = {"SIMPLE": "small", "MEDIUM": "medium", "COMPLEX": "large", "REASONING": "thinker"}


def complexity_router() -> litellm.Router:
    deployments = [
        {"model_name": name, "litellm_params": {"model": model, "api_key": "x"}}
        for name, model in (
            ("small", "gpt-4o-mini"),
            ("medium", "gpt-4.1-mini"),
            ("large", "gpt-4.1"),
            ("thinker", "o3"),
        )
    ]
    smart = {
        "model_name": "smart",
        "litellm_params": {
            "model": "auto_router/complexity_router",
            "complexity_router_config": {"classifier_type": "custom", "classifier_plugin": classifier, "tiers": TIERS},
        },
    }
    return litellm.Router(model_list=[*deployments, smart])


def test_it_satisfies_litellms_classifier_protocol() -> None:
    assert isinstance(classifier, ClassifierPlugin)


@pytest.mark.parametrize(
    ("prompt", "model"),
    [
        ("Hello!", "gpt-4o-mini"),
        ("Summarise this paragraph about tides for a newsletter.", "gpt-4.1-mini"),
        ("Write a Python function that merges two sorted lists, with unit tests.", "gpt-4.1"),
        ("Prove rigorously that there are infinitely many primes.", "o3"),
    ],
)
async def test_complexity_router_routes_by_our_classification(prompt: str, model: str) -> None:
    router = complexity_router()
    response = await router.acompletion(
        model="smart", messages=[{"role": "user", "content": prompt}], mock_response="ok"
    )
    assert response._hidden_params["litellm_model_name"] == model


async def test_declines_without_text() -> None:
    class Context:
        def __init__(self) -> None:
            self.structured_messages = [{"role": "user", "content": ""}]

    assert await ComplexityRouterClassifier().classify(Context()) is None
