"""Shared state: one ``Store`` protocol, in memory or in Redis."""

from __future__ import annotations

from litellm_router_plugin.state.base import (
    AdmitCandidate,
    AdmitRequest,
    AdmitResult,
    Admitted,
    AllOpen,
    BreakerSpec,
    BreakerStatus,
    BudgetRefused,
    DuplicateRequest,
    ScopeLimit,
    SettleRequest,
    SettleResult,
    Store,
    to_micros,
)
from litellm_router_plugin.state.memory import MemoryStore
from litellm_router_plugin.state.redis import RedisStore

__all__ = [
    "AdmitCandidate",
    "AdmitRequest",
    "AdmitResult",
    "Admitted",
    "AllOpen",
    "BreakerSpec",
    "BreakerStatus",
    "BudgetRefused",
    "DuplicateRequest",
    "MemoryStore",
    "RedisStore",
    "ScopeLimit",
    "SettleRequest",
    "SettleResult",
    "Store",
    "to_micros",
]
