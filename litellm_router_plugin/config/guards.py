"""Budgets, breakers, the shared store and the durable ledger."""

from __future__ import annotations

import math
import os
import warnings
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator, model_validator

from litellm_router_plugin.config.common import (
    ConfigWarning,
    _seconds,
    _Strict,
)
from litellm_router_plugin.errors import ConfigError


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
