"""Our classifier for LiteLLM's built-in complexity router (``classifier_type: custom``).

For users who already run ``auto_router/complexity_router``::

    complexity_router_config:
      classifier_type: custom
      classifier_plugin: litellm_router_plugin.integrations.complexity_plugin.classifier
      tiers: {SIMPLE: gpt-4o-mini, MEDIUM: gpt-4.1-mini, COMPLEX: gpt-4.1, REASONING: o3}

The complexity router then keeps its own tier pools and fallbacks; only the classification is ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litellm_router_plugin.classify import Category, Classifier, HeuristicClassifier
from litellm_router_plugin.routing.request import prompt_text

DEFAULT_TIER_NAMES: dict[Category, str] = {
    "simple": "SIMPLE",
    "moderate": "MEDIUM",
    "complex": "COMPLEX",
    "reasoning": "REASONING",
}


class ComplexityRouterClassifier:
    """A LiteLLM ``ClassifierPlugin``: ``classify(context)`` returns the complexity router's tier name."""

    def __init__(self, classifier: Classifier | None = None, tier_names: Mapping[Category, str] | None = None) -> None:
        self.classifier = classifier if classifier is not None else HeuristicClassifier()
        self.tier_names = dict(tier_names or DEFAULT_TIER_NAMES)

    async def classify(self, context: Any) -> str | None:
        """The tier for the request's newest user turn; ``None`` (decline) when there is no text."""
        messages = list(getattr(context, "structured_messages", None) or getattr(context, "raw_messages", None) or [])
        prompt = prompt_text(messages)
        if not prompt.strip():
            return None
        analysis = await self.classifier.aclassify(prompt)
        return self.tier_names[analysis.category]


classifier = ComplexityRouterClassifier()
"""The instance to name in ``classifier_plugin``."""
