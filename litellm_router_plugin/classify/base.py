"""What every classifier returns, and the protocols they implement."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from litellm_router_plugin.categories import CATEGORIES as CATEGORIES
from litellm_router_plugin.categories import Category as Category


def category_for_score(score: int) -> Category:
    """The category a 1-10 score falls in: 1-3 simple, 4-5 moderate, 6-7 complex, 8-10 reasoning."""
    if score <= 3:
        return "simple"
    if score <= 5:
        return "moderate"
    if score <= 7:
        return "complex"
    return "reasoning"


class ComplexityAnalysis(BaseModel):
    """How hard a prompt is, and who said so."""

    model_config = ConfigDict(frozen=True)

    score: int = Field(ge=1, le=10)
    """1 (a greeting) to 10 (a research-level proof)."""
    category: Category
    """The tier family the prompt needs."""
    reasoning: str
    """Why, in a sentence; never the prompt itself."""
    classifier: str = ""
    """Name of the classifier that answered, e.g. ``heuristic`` or ``agent:openai:gpt-4o-mini``."""
    latency_ms: float = 0.0
    """How long the classification took."""
    fallback_reason: str | None = None
    """Set when the agent could not answer and the local classifier did: timeout, error, invalid output."""
    cached: bool = False
    """True when the answer came from the cache (no LLM call)."""
    strength: float | None = None
    """The score before rounding, where the classifier has one: finer for thresholds and rankings."""


class Classifier(Protocol):
    """Anything that rates a prompt asynchronously."""

    @property
    def name(self) -> str:
        """Shown in ``ComplexityAnalysis.classifier``."""
        ...

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``."""
        ...


@runtime_checkable
class LocalClassifier(Protocol):
    """A classifier that needs no network and can answer synchronously."""

    @property
    def name(self) -> str:
        """Shown in ``ComplexityAnalysis.classifier``."""
        ...

    def classify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` without I/O."""
        ...

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``."""
        ...
