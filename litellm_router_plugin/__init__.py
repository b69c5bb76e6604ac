"""litellm-router-plugin: send every LiteLLM call to the cheapest model that can do the job.

Everything a user needs is importable from here; the submodules may change. ``ProxyRouterPlugin``
(the LiteLLM proxy callback) is imported on first use, since it needs the ``[proxy]`` extra.
"""

from __future__ import annotations

import typing as _typing

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
    ModelNotAllowed,
    NoDeploymentAvailable,
    RouterPluginError,
    StoreUnavailableError,
    UnknownModelError,
    UnsupportedRequest,
)
from litellm_router_plugin.evaluation.evals import EvalCase, EvalResult, EvalSuite, MaxCostUSD, eval_case
from litellm_router_plugin.guards.admission import Admission, Offer
from litellm_router_plugin.guards.breaker import CircuitBreaker
from litellm_router_plugin.guards.budget import BudgetGuard, BudgetLimit, Hold
from litellm_router_plugin.guards.costs import CostRecord, CostSummary, CostTracker, LedgerSummary, summarise_ledger
from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.integrations.completion import acompletion, configure
from litellm_router_plugin.integrations.provider import register
from litellm_router_plugin.integrations.router import CostAwareRoutingStrategy, build_router
from litellm_router_plugin.pipeline.pipeline import Pipeline, Routed
from litellm_router_plugin.pipeline.ticket import Ticket
from litellm_router_plugin.pricing import Price, price_for
from litellm_router_plugin.routing.capabilities import Capabilities, Needs
from litellm_router_plugin.routing.decision import Candidate, RoutingDecision
from litellm_router_plugin.routing.plan import Option, Plan, Route
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.routing.tiers import Tier, TierDeployment, TierMap
from litellm_router_plugin.state import MemoryStore, RedisStore, Store

if _typing.TYPE_CHECKING:
    from litellm_router_plugin.integrations.proxy import ProxyRouterPlugin

__version__ = "0.1.0"


def __getattr__(name: str) -> _typing.Any:
    if name == "ProxyRouterPlugin":
        from litellm_router_plugin.integrations.proxy import ProxyRouterPlugin

        return ProxyRouterPlugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Admission",
    "AgentClassifier",
    "BudgetExceededError",
    "BudgetGuard",
    "BudgetLimit",
    "CachedClassifier",
    "Candidate",
    "Capabilities",
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
    "EvalCase",
    "EvalResult",
    "EvalSuite",
    "HeuristicClassifier",
    "Hold",
    "Identity",
    "LedgerSummary",
    "MaxCostUSD",
    "MemoryStore",
    "ModelNotAllowed",
    "Needs",
    "NoDeploymentAvailable",
    "Offer",
    "Option",
    "Pipeline",
    "Plan",
    "Planner",
    "PluginConfig",
    "Price",
    "ProxyRouterPlugin",
    "RedisStore",
    "Route",
    "Routed",
    "RouterPluginError",
    "RoutingDecision",
    "Store",
    "StoreUnavailableError",
    "Ticket",
    "Tier",
    "TierConfig",
    "TierDeployment",
    "TierMap",
    "UnknownModelError",
    "UnsupportedRequest",
    "acompletion",
    "build_router",
    "configure",
    "eval_case",
    "price_for",
    "register",
    "summarise_ledger",
]
