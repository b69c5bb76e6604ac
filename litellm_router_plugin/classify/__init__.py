"""Classifiers: each rates a prompt and returns a ``ComplexityAnalysis``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litellm_router_plugin.classify.base import (
    CATEGORIES,
    Category,
    Classifier,
    ComplexityAnalysis,
    LocalClassifier,
    category_for_score,
)
from litellm_router_plugin.classify.cache import CachedClassifier
from litellm_router_plugin.classify.heuristic import HeuristicClassifier

if TYPE_CHECKING:
    from litellm_router_plugin.classify.agent import AgentClassifier, AgentVerdict, ClassifierSpend

_AGENT_NAMES = ("AgentClassifier", "AgentVerdict", "ClassifierSpend")


def __getattr__(name: str) -> Any:
    # pydantic_ai costs ~0.4 s to import: only load it when the agent classifier is asked for.
    if name in _AGENT_NAMES:
        from litellm_router_plugin.classify import agent

        return getattr(agent, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CATEGORIES",
    "AgentClassifier",
    "AgentVerdict",
    "CachedClassifier",
    "Category",
    "Classifier",
    "ClassifierSpend",
    "ComplexityAnalysis",
    "HeuristicClassifier",
    "LocalClassifier",
    "category_for_score",
]
