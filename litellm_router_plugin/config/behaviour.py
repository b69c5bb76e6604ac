"""Cascades, resilience, policy reloads, shadow comparisons and the learning loop."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from litellm_router_plugin.config.common import (
    _seconds,
    _Strict,
)

CheckName = Literal["consistency", "logprobs", "verifier"]


class CascadeConfig(_Strict):
    """Cascade mode: start cheap, escalate a tier while the answer's confidence is low."""

    enabled: bool = False
    """Cascade every request of the alias; a request turns it on or off with ``metadata.router.cascade``."""
    start: Literal["routed", "cheapest"] = "routed"
    """The first tier: the one the classifier routes to, or the cheapest (within ``min_tier``)."""
    checks: list[CheckName] = Field(default_factory=lambda: list[CheckName](["consistency"]))
    """Confidence checks, in order; the first that fails escalates. ``consistency``: two samples
    compared; ``logprobs``: the mean token probability (skipped when the provider returns none);
    ``verifier``: the callable named by ``verifier`` (or passed in code). Empty: retries and
    fallbacks only."""
    consistency_threshold: float = Field(default=0.8, ge=0, le=1)
    """Escalate when the two samples' similarity (0-1, on normalised text) is below this."""
    logprob_threshold: float = Field(default=0.7, ge=0, le=1)
    """Escalate when exp(mean token logprob), the geometric-mean token probability, is below this."""
    verifier: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    """``module:attribute`` of a verifier: a callable ``(messages, answer) -> Verdict | bool | float``
    (may be async) or a Pydantic AI agent whose output is a ``Verdict``."""
    verifier_threshold: float = Field(default=0.5, ge=0, le=1)
    """Escalate when the verifier's confidence is below this (a ``False`` verdict always escalates)."""
    max_cost_usd: float | None = Field(default=None, ge=0)
    """Cap on the whole cascade, retries included; a request may lower it with ``metadata.router.max_cost_usd``."""
    sample_temperature: float | None = Field(default=None, ge=0, le=2)
    """Temperature of the consistency samples when the request sets none (``None``: the provider's default)."""

    @field_validator("max_cost_usd")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite amount in USD")
        return value


class ResilienceConfig(_Strict):
    """Retries of transient errors, per-tier timeouts and the fallback chain (cascade mode)."""

    retries: int = Field(default=2, ge=0, le=10)
    """Retries per deployment of 429, 5xx, timeouts and connection errors (then the next deployment)."""
    backoff_seconds: float = Field(default=0.2, gt=0, le=60)
    """First backoff; exponential with full jitter (tenacity's ``wait_random_exponential``)."""
    backoff_max_seconds: float = Field(default=4.0, gt=0, le=300)
    retry_budget_seconds: float = Field(default=30.0, gt=0, le=86_400)
    """No retry starts once this much time has passed on a deployment."""
    timeout_seconds: float = Field(default=60.0, gt=0, le=86_400)
    """Per-call timeout of tiers not in ``tier_timeouts``."""
    tier_timeouts: dict[str, float] = Field(default_factory=dict)
    """Tier name -> per-call timeout in seconds (tight for cheap tiers, generous for strong ones)."""
    fallback: bool = True
    """After a deployment fails for good, try the tier's next deployment, then the next tier."""

    @field_validator("tier_timeouts")
    @classmethod
    def _positive(cls, timeouts: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in timeouts.items() if not (math.isfinite(v) and 0 < v <= 86_400)}
        if bad:
            raise ValueError(f"{bad}: timeouts are positive, finite seconds")
        return timeouts


class PolicyConfig(_Strict):
    """Hot reload of the file this configuration was loaded from (the routing policy)."""

    watch: bool = False
    """Reload the file when it changes, in every worker, without a restart; an invalid file keeps
    the previous policy and logs one error naming the field."""
    poll_seconds: float = Field(default=0.0, ge=0, le=3600)
    """How often to look for a change (0: before every request: one ``stat``, and one Redis ``GET``
    with a Redis store, where the version key makes every worker switch at the same request)."""


class ShadowConfig(_Strict):
    """Shadow comparisons: a share of routed requests is also sent, off the caller's path, to the next
    stronger tier, and a judge compares the two answers (an outcome for the learning loop)."""

    share: float = Field(default=0.0, ge=0, le=1)
    """Share of routed requests shadowed (0: none, the default; 0.05: one in twenty)."""
    daily_usd: float = Field(default=1.0, ge=0)
    """Most the shadow and judge calls may cost per day (budget window), on top of the other budgets."""
    judge: str | None = None
    """Pydantic AI model name of the judge, e.g. ``openai:gpt-4o-mini`` (priced from LiteLLM's table).
    ``None``: only requests carrying a reference (``metadata.router.reference``) are compared."""
    judge_max_tokens: int = Field(default=256, ge=1, le=8192)
    """Output tokens a judge call's estimate assumes."""

    @field_validator("daily_usd")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite amount in USD, e.g. 1.0")
        return value


class LearningConfig(_Strict):
    """The learning loop: outcomes of this deployment's own traffic train a routing model that every
    worker adopts once it beats the current one."""

    enabled: bool = False
    """Retrain after ``retrain_every`` new outcomes, promote a better model, adopt the published one."""
    shadow: ShadowConfig = Field(default_factory=ShadowConfig)
    store_prompts: bool = False
    """Keep the raw prompt text with each outcome; by default only its hashed features are stored."""
    max_outcomes: int = Field(default=20_000, ge=1)
    """Outcomes kept in the store (newest); older ones are dropped."""
    retrain_every: int = Field(default=200, ge=1)
    """New outcomes (across every worker) between two retrainings."""
    min_outcomes: int = Field(default=50, ge=2)
    """Labelled outcomes (both answers rated) needed before a model is trained at all."""
    margin: float = Field(default=0.01, ge=0, le=1)
    """A candidate is promoted only when its cross-validated APGR beats the current model's by this much."""
    folds: int = Field(default=5, ge=2, le=20)
    """Folds of the cross-validation that compares candidate and current model."""
    tier_shares: list[float] | None = None
    """Share of traffic per tier (cheapest first) the re-calibrated thresholds keep; default: the
    shares the current thresholds give on the stored outcomes."""
    feedback_ttl_seconds: float = 86_400.0
    """How long a response stays open to feedback (``POST /router/feedback``), at most a day."""
    poll_seconds: float = Field(default=0.0, ge=0, le=3600)
    """How often a worker looks for a newly published model (0: before every request, one Redis read)."""

    @field_validator("feedback_ttl_seconds")
    @classmethod
    def _duration(cls, value: float) -> float:
        return _seconds(value) or value

    @field_validator("tier_shares")
    @classmethod
    def _shares(cls, values: list[float] | None) -> list[float] | None:
        if values is not None and (any(not 0 <= v <= 1 for v in values) or abs(sum(values) - 1) > 1e-6):
            raise ValueError("give one share per tier, each 0-1, summing to 1, e.g. [0.6, 0.3, 0.1]")
        return values
