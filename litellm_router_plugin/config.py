"""``PluginConfig``: tiers, classifier and routing settings, from a YAML or JSON file or a dict."""

from __future__ import annotations

import itertools
import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from litellm_router_plugin.categories import CATEGORIES, Category
from litellm_router_plugin.errors import ConfigError

OVERRIDES_KEY = "router"
"""Request metadata key of our per-request settings: ``{"tier", "min_tier", "max_tier", "cascade",
"max_cost_usd", "user", ...}``."""


class ConfigWarning(UserWarning):
    """A valid setting that is probably not what was meant (``daily: 0``, ``per_request`` above ``daily``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_SECONDS = 86_400.0
"""Upper bound of every duration setting: a day. Durations become integer milliseconds in the store."""


def _seconds(value: float | None, *, allow_zero: bool = False) -> float | None:
    """A duration must be a finite number of seconds within (0, a day]; ``.inf`` would overflow later."""
    if value is None:
        return None
    low_ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and low_ok and value <= MAX_SECONDS):
        raise ValueError(
            f"must be a finite number of seconds, {'0' if allow_zero else 'above 0'} to {MAX_SECONDS:.0f} "
            "(a day); write e.g. 30"
        )
    return value


_PRICE_KEYS = ("input_cost_per_token", "output_cost_per_token")


class DeploymentConfig(_Strict):
    """One LiteLLM deployment of a tier, as in a LiteLLM ``model_list`` entry."""

    model: str = Field(min_length=1)
    """LiteLLM model name, e.g. ``gpt-4o-mini`` or ``ollama/llama3.1``."""
    litellm_params: dict[str, Any] = Field(default_factory=dict)
    """Passed to LiteLLM as is: ``api_base``, ``api_key``, ``input_cost_per_token``, ``timeout``..."""
    model_info: dict[str, Any] = Field(default_factory=dict)
    """As in LiteLLM's ``model_list``; ``supports_vision``, ``supports_function_calling``,
    ``supports_response_schema``, ``max_input_tokens``, ``max_output_tokens`` override LiteLLM's table."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # Accept "gpt-4o-mini" and LiteLLM's {"litellm_params": {"model": ...}} as well.
        if isinstance(data, str):
            return {"model": data}
        if isinstance(data, Mapping) and "model" not in data:
            params = data.get("litellm_params")
            if isinstance(params, Mapping) and "model" in params:
                rest = {k: v for k, v in params.items() if k != "model"}
                return {**data, "model": params["model"], "litellm_params": rest}
        return data

    @field_validator("litellm_params")
    @classmethod
    def _no_model_in_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        if "model" in params:
            raise ValueError("give the model once, as `model:` beside `litellm_params`, not inside it")
        given = [k for k in _PRICE_KEYS if k in params]
        if len(given) == 1:
            missing = next(k for k in _PRICE_KEYS if k not in given)
            raise ValueError(
                f"gives {given[0]} without {missing}; give both (0 for a free side) or neither "
                "(then LiteLLM's price table prices the model)"
            )
        return params


class TierConfig(_Strict):
    """A tier: deployments of about the same strength; the router picks the cheapest healthy one."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    """Also the Router model group of the tier's deployments, so ``model=<name>`` forces the tier."""
    deployments: list[DeploymentConfig] = Field(min_length=1)


class CustomPrice(_Strict):
    """USD per token for a model missing from LiteLLM's table (or to override it)."""

    input_cost_per_token: float = Field(ge=0)
    output_cost_per_token: float = Field(ge=0)

    @field_validator("input_cost_per_token", "output_cost_per_token")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of USD per token")
        return value


class ClassifierConfig(_Strict):
    """Which classifier rates prompts, and how."""

    kind: Literal["heuristic", "learned", "agent"] = "learned"
    """``heuristic`` (local, free, microseconds), ``learned`` (local linear model shipped with the
    package, well under a millisecond) or ``agent`` (a Pydantic AI agent, cached)."""
    model_path: str | None = None
    """The learned classifier's model file; default: the one shipped in the package."""
    model: str | None = None
    """The same as ``model_path`` (``classifier: {kind: learned, model: PATH}``, e.g. from ``litellm-router learn``)."""
    agent_model: str = "openai:gpt-4o-mini"
    """Pydantic AI model name of the agent; priced from LiteLLM's table."""
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    """Past this the agent's answer is abandoned and the fallback answers (at most 60)."""
    retries: int = Field(default=2, ge=0, le=5)
    """Retries of transient agent errors (5xx, 429, connection), within the timeout."""
    fallback: Literal["heuristic", "learned"] = "heuristic"
    """The local classifier used when the agent is slow, failing or returns garbage."""
    cache_size: int = Field(default=1024, ge=1)
    """Prompts remembered, so a repeated prompt costs no second agent call."""
    strong_threshold: float | None = None
    """When set (``litellm-router calibrate`` writes it): prompts whose strength is at or above it go
    to the strongest tier, all others at most to the tier below it."""
    tier_thresholds: list[float] | None = None
    """One strength per boundary between consecutive tiers, ascending (``calibrate --tier-shares``
    writes them): the strength alone picks the tier. Takes precedence over ``strong_threshold``."""

    @field_validator("tier_thresholds")
    @classmethod
    def _ascending(cls, values: list[float] | None) -> list[float] | None:
        if values is not None and (
            not all(math.isfinite(v) for v in values) or any(b < a for a, b in itertools.pairwise(values))
        ):
            raise ValueError("thresholds must be finite numbers in ascending order, one per tier boundary")
        return values

    @model_validator(mode="after")
    def _one_model_file(self) -> ClassifierConfig:
        if self.model is not None and self.model_path is not None and self.model != self.model_path:
            raise ValueError("classifier.model and classifier.model_path name different files: give one of them")
        return self

    @property
    def model_file(self) -> str | None:
        """The learned model file given (``model`` or ``model_path``); None for the shipped one."""
        return self.model if self.model is not None else self.model_path


class LimitConfig(_Strict):
    """Budget limits in USD for one scope; omit a field for no limit of that kind."""

    per_request: float | None = Field(default=None, ge=0)
    daily: float | None = Field(default=None, ge=0)

    @field_validator("per_request", "daily")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite amount in USD")
        return value


class BudgetsConfig(_Strict):
    """Budgets enforced before every routed call, shared by every worker through the store."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    all_requests: LimitConfig | None = Field(default=None, alias="global")
    """Limits over every request (YAML key ``global``)."""
    per_user: LimitConfig | None = None
    per_key: LimitConfig | None = None
    """Per API key (the proxy's authenticated key; only a hash of it is stored)."""
    per_team: LimitConfig | None = None
    timezone: str = "UTC"
    """Daily windows roll over at midnight of this IANA timezone."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                "budgets.timezone", value, "Not an IANA time zone; use a name such as 'UTC' or 'Europe/Paris'."
            ) from None
        return value

    lease_seconds: float = 300.0
    """A hold not settled within this time (its worker died) stops being held (at most a day)."""
    on_lost_settle: Literal["charge_estimate", "release"] = "charge_estimate"
    """What a hold whose lease expires without a settle becomes: ``charge_estimate`` charges its
    estimate (a crash can over-count, never under-count; a late settle corrects it to the actual
    cost), ``release`` gives the budget back. Each such expiry is logged (WARNING, ids and amounts)
    and counted in ``lrp_lost_settles``."""
    on_store_error: Literal["fail_closed", "fail_open"] = "fail_closed"
    on_reset: Literal["continue", "refuse"] = "continue"
    """When the store is found without its epoch marker (new, or restarted without its data) and no
    durable ledger can rebuild today's spend (none configured, or it is unreachable): ``continue``
    counts from zero (logged as a ``store_reset`` event naming the cause and counted in
    ``lrp_store_resets``; with a ledger, reconciled from it once it answers), ``refuse`` refuses
    every request until the ledger answers or ``litellm-router ack-reset``. With a reachable ledger
    the counters are rebuilt from it instead (a new prefix, without rows, starts from zero)."""
    downgrade: bool = False
    """Plan a request that cannot afford its tier again on cheaper tiers before refusing it."""
    trust_client_user: bool = False
    """Count the request's ``user`` field as the user scope (otherwise only authenticated identities)."""
    litellm_budgets: bool = True
    """In the proxy: enforce LiteLLM's own budgets of the key, user and team (``max_budget``,
    ``budget_duration``, ``soft_budget`` on ``UserAPIKeyAuth``) exactly, beside these limits."""

    @model_validator(mode="after")
    def _suspicious_limits(self) -> BudgetsConfig:
        for name in ("global", "per_user", "per_key", "per_team"):
            limit: LimitConfig | None = getattr(self, "all_requests" if name == "global" else name)
            if limit is None:
                continue
            if limit.daily == 0:
                warnings.warn(
                    f"budgets.{name}.daily: 0 refuses every request of this scope. "
                    "Remove it for no daily limit, or give a positive amount in USD.",
                    ConfigWarning,
                    stacklevel=2,
                )
            elif limit.per_request is not None and limit.daily is not None and limit.per_request > limit.daily:
                warnings.warn(
                    f"budgets.{name}.per_request ({limit.per_request}) is above budgets.{name}.daily "
                    f"({limit.daily}), so it never applies: the daily limit refuses first. Lower per_request or "
                    "raise daily.",
                    ConfigWarning,
                    stacklevel=2,
                )
        return self

    @field_validator("lease_seconds")
    @classmethod
    def _duration(cls, value: float) -> float:
        return _seconds(value) or value


class BreakerConfig(_Strict):
    """One circuit breaker per deployment, shared by every worker through the store."""

    enabled: bool = True
    failure_threshold: int = Field(default=5, ge=1)
    window_seconds: float = 60.0
    """Failures older than this stop counting (at most a day)."""
    recovery_timeout: float = 30.0
    """Seconds an open breaker waits before letting one probe through (at most a day)."""
    failure_status_codes: list[int] | None = None
    """HTTP statuses that count as failures; default 429 and every 5xx. Timeouts and connection
    errors always count; other errors (4xx request errors) never do."""

    @field_validator("window_seconds", "recovery_timeout")
    @classmethod
    def _duration(cls, value: float) -> float:
        return _seconds(value) or value

    @field_validator("failure_status_codes")
    @classmethod
    def _statuses(cls, codes: list[int] | None) -> list[int] | None:
        bad = [c for c in codes or [] if not 400 <= c <= 599]
        if bad:
            raise ValueError(f"{bad} are not HTTP error statuses; list codes between 400 and 599")
        return codes


class StoreConfig(_Strict):
    """Where budgets, breakers and the ledger live."""

    kind: Literal["memory", "redis"] = "memory"
    """``memory``: this process only. ``redis``: shared by every worker."""
    url: str | None = None
    """Redis URL; default ``$REDIS_URL``, else ``redis://127.0.0.1:6379/0``. For a cluster, any node."""
    cluster: bool = False
    """The URL names a Redis Cluster node: use the cluster client (all state of one prefix shares a
    hash slot, so every script runs on one shard)."""
    prefix: str = Field(default="lrp", min_length=1, pattern=r"^[^{}]+$")
    ledger_retention: int = Field(default=100_000, ge=1)
    """Settled calls kept in the ledger (newest)."""


class LedgerConfig(_Strict):
    """A durable spend ledger beside the store: every charged settle, exactly once, off the hot path."""

    kind: Literal["none", "postgres"] = "none"
    dsn: str | None = None
    """PostgreSQL DSN, e.g. ``postgresql://user@127.0.0.1:5432/db``; default ``$LEDGER_DSN``."""
    schema_name: str = Field(default="lrp", pattern=r"^[a-z_][a-z0-9_]{0,62}$", alias="schema")
    """The PostgreSQL schema of the ledger's tables (created on first use)."""
    batch_size: int = Field(default=500, ge=1, le=10_000)
    flush_seconds: float = 0.2
    """How long the writer lets a batch gather (at most a day; keep it well under a second)."""
    max_queued: int = Field(default=100_000, ge=1)
    """Rows kept in memory while PostgreSQL is unreachable; beyond that a row is logged and dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("flush_seconds")
    @classmethod
    def _duration(cls, value: float) -> float:
        return _seconds(value) or value

    @model_validator(mode="after")
    def _dsn_given(self) -> LedgerConfig:
        if self.kind == "postgres" and not (self.dsn or os.environ.get("LEDGER_DSN")):
            raise ConfigError("ledger.dsn", None, "Give the PostgreSQL DSN, e.g. postgresql://app@127.0.0.1/app.")
        return self


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


def _default_tiers() -> list[TierConfig]:
    # Models in LiteLLM's bundled price table, ordered cheapest to strongest.
    table = {
        "simple": ["groq/openai/gpt-oss-20b", "gemini/gemini-2.5-flash-lite", "gpt-4o-mini"],
        "moderate": ["gpt-4.1-mini", "gemini/gemini-2.5-flash"],
        "complex": ["gpt-4.1", "claude-sonnet-4-5"],
        "reasoning": ["o3", "claude-opus-4-5"],
    }
    return [
        TierConfig(name=name, deployments=[DeploymentConfig(model=m) for m in models]) for name, models in table.items()
    ]


class PluginConfig(_Strict):
    """Everything the router needs; the same file serves Python and the LiteLLM proxy."""

    alias: str = Field(default="auto", min_length=1)
    """The model name that triggers routing; any other name goes to LiteLLM untouched."""
    tiers: list[TierConfig] = Field(default_factory=_default_tiers, min_length=1)
    """Ordered cheapest to strongest."""
    category_tiers: dict[Category, str] = Field(default_factory=dict)
    """Category -> tier name. Default: the tier of the same name, else spread by position."""
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    default_max_tokens: int = Field(default=1024, ge=1)
    """Completion tokens assumed in cost estimates when a request sets no ``max_tokens``."""
    token_counter_model: str = "gpt-4o"
    """Tokenizer used once per request to count prompt tokens for estimates."""
    custom_prices: dict[str, CustomPrice] = Field(default_factory=dict)
    """Prices for models missing from LiteLLM's table (registered with ``litellm.register_model``)."""
    log_prompts: bool = False
    """Write prompt text in the decision log; by default only a hash of it."""
    allow_tier_models: bool = True
    """Accept a tier name as the model (the tier is forced, still admitted); ``false`` refuses it."""
    alias_only: bool | list[str] = False
    """Refuse any model but the alias: ``true`` for everyone, or a list of users/teams (``team:<id>``,
    ``user:<id>``) restricted to it. Other models in the Router's list are otherwise admitted and
    charged like routed calls."""
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    cascade: CascadeConfig = Field(default_factory=CascadeConfig)
    resilience: ResilienceConfig = Field(default_factory=ResilienceConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    """Outcomes from shadow comparisons, feedback and cascades, and the model learned from them."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        # `budgets: null` removes a section explicitly (a policy reload refuses a section that merely vanished).
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> PluginConfig:
        names = [tier.name for tier in self.tiers]
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise ConfigError(f"tiers[{i}].name", name, "This name is used twice; give every tier its own.")
            seen.add(name)
        if self.alias in seen:
            raise ConfigError("alias", self.alias, "It is also a tier name; pick an alias no tier uses.")
        for category, tier in self.category_tiers.items():
            if tier not in seen:
                raise ConfigError(f"category_tiers.{category}", tier, f"No such tier; use one of: {', '.join(names)}.")
        thresholds = self.classifier.tier_thresholds
        if thresholds is not None and len(thresholds) != len(names) - 1:
            raise ConfigError(
                "classifier.tier_thresholds",
                thresholds,
                f"Give one threshold per boundary between consecutive tiers: {len(names) - 1} for {len(names)} tiers "
                "(litellm-router calibrate --tier-shares writes them).",
            )
        shares = self.learning.tier_shares
        if shares is not None and len(shares) != len(names):
            raise ConfigError(
                "learning.tier_shares", shares, f"Give one share per tier: {len(names)} for {len(names)} tiers."
            )
        for tier in self.resilience.tier_timeouts:
            if tier not in seen:
                raise ConfigError(
                    f"resilience.tier_timeouts.{tier}", tier, f"No such tier; use one of: {', '.join(names)}."
                )
        return self

    def tier_for_category(self) -> dict[Category, str]:
        """The full category -> tier mapping, defaults filled in."""
        names = [tier.name for tier in self.tiers]
        last = len(names) - 1
        mapping: dict[Category, str] = {}
        for i, category in enumerate(CATEGORIES):
            if category in self.category_tiers:
                mapping[category] = self.category_tiers[category]
            elif category in names:
                mapping[category] = category
            else:
                mapping[category] = names[round(i * last / (len(CATEGORIES) - 1))]
        return mapping

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any] | PluginConfig | None = None) -> PluginConfig:
        """Load from a YAML/JSON file path, a dict, or return the default config for ``None``.

        A dict may be the config itself or hold it under a ``router_plugin`` key (so one file can
        also carry a LiteLLM proxy config). Raises ``ConfigError`` naming the field and the fix.
        """
        if source is None:
            return cls()
        if isinstance(source, PluginConfig):
            return source
        data: Any
        if isinstance(source, Mapping):
            data = source
        else:
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError("config", str(path), f"Cannot read the file ({exc.strerror}).") from exc
            try:
                data = json.loads(text) if path.suffix == ".json" else parse_yaml(text, str(path))
            except json.JSONDecodeError as exc:
                raise ConfigError("config", str(path), f"Not valid JSON: {exc}") from exc
            if data is None:  # an empty file is a mistake (a truncated write, a wrong path), not the defaults
                raise ConfigError(
                    "config",
                    str(path),
                    "The file is empty (or only comments). Write the settings (at least `tiers:`), or give no "
                    "config file for the built-in tiers.",
                )
        if not isinstance(data, Mapping):
            raise ConfigError("config", type(data).__name__, "The top level must be a mapping of settings.")
        if "router_plugin" in data:
            data = data["router_plugin"] or {}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _config_error(exc) from None


def parse_yaml(text: str, origin: str) -> Any:
    """``yaml.safe_load`` whose errors name ``origin`` (the file), not ``"<unicode string>"``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        for mark in (getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)):
            if mark is not None:
                mark.name = origin
        raise ConfigError("config", origin, f"Not valid YAML/JSON: {exc}") from None


_FIXES = {
    "extra_forbidden": "Remove it or fix its spelling.",
    "missing": "Add it.",
    "literal_error": "Use one of the allowed values.",
}


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path.lstrip(".") or "config"


def _config_error(exc: ValidationError) -> ConfigError:
    errors = exc.errors(include_url=False)
    # A misspelt field (``deploymnets``) also makes the real one missing: name the misspelling first.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    original = first.get("ctx", {}).get("error")
    if isinstance(original, ConfigError):
        return original  # raised by our own validators: already names the field and the fix
    field = _field_path(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    fix = _FIXES.get(first["type"], "")
    if first["type"] == "extra_forbidden":
        parent = _model_at(first["loc"][:-1])
        if parent is not None:
            known = [f.alias or name for name, f in parent.model_fields.items()]
            fix = f"Remove it or fix its spelling; known fields: {', '.join(known)}."
    value = first.get("input")
    more = f" ({exc.error_count() - 1} more error(s) after this one)" if exc.error_count() > 1 else ""
    return ConfigError(field, value, f"{message}. {fix}".strip() + more)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (for listing its known fields)."""
    model: type[BaseModel] = PluginConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        found = next((t for t in inner if isinstance(t, type) and issubclass(t, BaseModel)), None)
        if found is None:
            return None
        model = found
    return model
