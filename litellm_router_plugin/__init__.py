"""litellm-router-plugin: send every LiteLLM call to the cheapest model that can do the job."""

from __future__ import annotations

from litellm_router_plugin._litellm import litellm as _litellm  # noqa: F401  (sets offline prices first)
from litellm_router_plugin.classify import (
    AgentClassifier,
    CachedClassifier,
    Classifier,
    ComplexityAnalysis,
    HeuristicClassifier,
)
from litellm_router_plugin.config import ClassifierConfig, DeploymentConfig, PluginConfig, TierConfig
from litellm_router_plugin.errors import (
    BudgetExceededError,
    CircuitBreakerOpen,
    ConfigError,
    NoDeploymentAvailable,
    RouterPluginError,
    StoreUnavailableError,
    UnknownModelError,
)
from litellm_router_plugin.guards.breaker import CircuitBreaker
from litellm_router_plugin.guards.budget import BudgetGuard, BudgetLimit, Hold
from litellm_router_plugin.guards.costs import CostRecord, CostSummary, CostTracker, LedgerSummary, summarise_ledger
from litellm_router_plugin.integrations.completion import acompletion, configure
from litellm_router_plugin.integrations.router import CostAwareRoutingStrategy, build_router
from litellm_router_plugin.pricing import Price, price_for
from litellm_router_plugin.routing.decision import RoutingDecision
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.routing.tiers import Tier, TierMap
from litellm_router_plugin.state import MemoryStore, RedisStore, Store

__version__ = "0.1.0"

__all__ = [
    "AgentClassifier",
    "BudgetExceededError",
    "BudgetGuard",
    "BudgetLimit",
    "CachedClassifier",
    "CircuitBreaker",
    "CircuitBreakerOpen",
    "Classifier",
    "ClassifierConfig",
    "ComplexityAnalysis",
    "ConfigError",
    "CostAwareRoutingStrategy",
    "CostRecord",
    "CostSummary",
    "CostTracker",
    "DeploymentConfig",
    "HeuristicClassifier",
    "Hold",
    "LedgerSummary",
    "MemoryStore",
    "NoDeploymentAvailable",
    "Planner",
    "PluginConfig",
    "Price",
    "RedisStore",
    "RouterPluginError",
    "RoutingDecision",
    "Store",
    "StoreUnavailableError",
    "Tier",
    "TierConfig",
    "TierMap",
    "UnknownModelError",
    "acompletion",
    "build_router",
    "configure",
    "price_for",
    "summarise_ledger",
]
