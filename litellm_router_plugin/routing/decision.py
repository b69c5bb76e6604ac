"""``RoutingDecision``: what the router chose and why; travels with the request and its response."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict

from litellm_router_plugin.classify.base import ComplexityAnalysis

decision_logger = logging.getLogger("litellm_router_plugin.decisions")

METADATA_KEY = "router_decision"
"""Key of the decision in request metadata and in ``response._hidden_params``."""


class Candidate(BaseModel):
    """A deployment the planner looked at."""

    model_config = ConfigDict(frozen=True)

    tier: str
    model: str
    deployment_id: str
    estimated_cost_usd: float
    healthy: bool
    skipped: str | None = None
    """Why it could not serve this request (a missing capability), if so."""


class RoutingDecision(BaseModel):
    """The outcome of planning one request."""

    model_config = ConfigDict(frozen=True)

    analysis: ComplexityAnalysis | None
    """``None`` for a deployment the caller named (not routed, so not classified)."""
    tier: str
    """The tier that serves the request (after overrides and escalation)."""
    model: str
    """LiteLLM model name of the chosen deployment."""
    deployment_id: str
    candidates: list[Candidate]
    """Every deployment considered, in the order looked at."""
    reason: str
    estimated_cost_usd: float
    """Prompt tokens x input price + max completion tokens x output price."""
    prompt_tokens: int
    max_tokens: int
    requested_model: str | None = None
    """The model the caller named: the alias, a tier name or a deployment (``tier`` is then ``none``)."""
    policy_version: str | None = None
    """The version of the routing policy (configuration) that made the decision."""

    def log_record(self, prompt: str, include_prompt: bool = False) -> dict[str, Any]:
        """The JSON log line's fields: a hash of the prompt, never its text unless asked."""
        analysis = self.analysis
        record: dict[str, Any] = {
            "event": "route",
            "prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16],
            "category": analysis and analysis.category,
            "score": analysis and analysis.score,
            "classifier": analysis and analysis.classifier,
            "classifier_ms": analysis and round(analysis.latency_ms, 3),
            "fallback_reason": analysis and analysis.fallback_reason,
            "cached": analysis and analysis.cached,
            "requested_model": self.requested_model,
            "tier": self.tier,
            "model": self.model,
            "estimated_cost_usd": self.estimated_cost_usd,
            "prompt_tokens": self.prompt_tokens,
            "reason": self.reason,
            "policy_version": self.policy_version,
        }
        if include_prompt:
            record["prompt"] = prompt
        return record

    def log(self, prompt: str, include_prompt: bool = False) -> None:
        """Write the decision as one JSON line to the ``litellm_router_plugin.decisions`` logger."""
        if decision_logger.isEnabledFor(logging.INFO):
            decision_logger.info(json.dumps(self.log_record(prompt, include_prompt), sort_keys=True))


LITELLM_METADATA_KEY = "routing_decision"
"""Where LiteLLM's own routers put their decision (``StandardLoggingRoutingDecision``): its OTEL
attributes, spend logs, callbacks' standard logging payload and savings views read it there."""

TIER_TAG_PREFIX = "router-tier:"
"""The tier goes to LiteLLM's spend logs as a request tag, e.g. ``router-tier:cheap``."""


def _cause(analysis: ComplexityAnalysis) -> str:
    """LiteLLM's ``RoutingDecisionCause`` for our classifier's answer."""
    if analysis.fallback_reason:
        return "classifier_fallback"
    return "llm_classifier" if analysis.classifier.startswith("agent") else "heuristic_scorer"


def litellm_routing_decision(
    decision: RoutingDecision, baseline_model: str | None = None, baseline_id: str | None = None
) -> dict[str, Any] | None:
    """``decision`` in the shape of LiteLLM's ``StandardLoggingRoutingDecision`` (router type, tier,
    score, routed model; ``baseline_*``: the deployment savings are measured against); ``None`` for
    a call not routed (a deployment the caller named), as LiteLLM leaves it for plain model groups."""
    analysis = decision.analysis
    if analysis is None:
        return None
    record: dict[str, Any] = {
        "router_model_name": decision.requested_model or "",
        "router_type": "complexity",
        "routed_model": decision.model,
        "cause": _cause(analysis),
        "tier": decision.tier,
        "tier_label": decision.tier,
        "request_type": str(analysis.category),
        "score": float(analysis.score),
        "escalated": "; escalated to " in decision.reason,
    }
    if analysis.classifier.startswith("agent:"):
        record["classifier_model"] = analysis.classifier.removeprefix("agent:")
    if decision.policy_version:
        record["router_config_fingerprint"] = decision.policy_version
    if baseline_model is not None and baseline_id is not None:
        record["savings_baseline_model"] = baseline_model
        record["savings_baseline_deployment_id"] = baseline_id
    return record


def tier_tags(tags: Any, tier: str | None) -> list[str]:
    """``tags`` (a request's ``metadata["tags"]``) with this attempt's tier tag, and no other."""
    listed = tags if isinstance(tags, list) else []
    kept = [t for t in listed if not (isinstance(t, str) and t.startswith(TIER_TAG_PREFIX))]
    return kept if tier is None else [*kept, TIER_TAG_PREFIX + tier]
