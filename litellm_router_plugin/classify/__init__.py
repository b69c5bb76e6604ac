"""Classifiers: each rates a prompt and returns a ``ComplexityAnalysis``."""

from __future__ import annotations

from litellm_router_plugin.classify.agent import AgentClassifier, AgentVerdict, ClassifierSpend
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
