"""litellm-router-plugin: send every LiteLLM call to the cheapest model that can do the job.

Everything a user needs is importable from here; the submodules may change. The names are imported
on first use, so ``import litellm_router_plugin`` (and the pytest plugin, which every pytest run of
a project with this package installed loads) costs almost nothing: LiteLLM comes with the first name
that needs it, ``pydantic_ai`` only with the agent classifier, ``ProxyRouterPlugin`` (the ``[proxy]``
extra) only when asked for.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

# Importing the package leaves LiteLLM's price-map source alone (live or bundled, as LiteLLM decides):
# offline prices are the caller's explicit choice, ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (see _litellm).

if _typing.TYPE_CHECKING:
    from litellm_router_plugin.classify import CachedClassifier, Classifier, ComplexityAnalysis, HeuristicClassifier
    from litellm_router_plugin.classify.agent import AgentClassifier
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
    from litellm_router_plugin.integrations.completion import acompletion, configure, feedback
    from litellm_router_plugin.integrations.provider import register
    from litellm_router_plugin.integrations.proxy import ProxyRouterPlugin
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

_MODULES: dict[str, tuple[str, ...]] = {
    "classify": ("CachedClassifier", "Classifier", "ComplexityAnalysis", "HeuristicClassifier"),
    "classify.agent": ("AgentClassifier",),
    "config": ("ClassifierConfig", "DeploymentConfig", "PluginConfig", "TierConfig"),
    "errors": (
        "BudgetExceededError",
        "CircuitBreakerOpen",
        "ConfigError",
        "ModelNotAllowed",
        "NoDeploymentAvailable",
        "RouterPluginError",
        "StoreUnavailableError",
        "UnknownModelError",
        "UnsupportedRequest",
    ),
    "evaluation.evals": ("EvalCase", "EvalResult", "EvalSuite", "MaxCostUSD", "eval_case"),
    "guards.admission": ("Admission", "Offer"),
    "guards.breaker": ("CircuitBreaker",),
    "guards.budget": ("BudgetGuard", "BudgetLimit", "Hold"),
    "guards.costs": ("CostRecord", "CostSummary", "CostTracker", "LedgerSummary", "summarise_ledger"),
    "guards.identity": ("Identity",),
    "integrations.completion": ("acompletion", "configure", "feedback"),
    "integrations.provider": ("register",),
    "integrations.proxy": ("ProxyRouterPlugin",),
    "integrations.router": ("CostAwareRoutingStrategy", "build_router"),
    "pipeline.pipeline": ("Pipeline", "Routed"),
    "pipeline.ticket": ("Ticket",),
    "pricing": ("Price", "price_for"),
    "routing.capabilities": ("Capabilities", "Needs"),
    "routing.decision": ("Candidate", "RoutingDecision"),
    "routing.plan": ("Option", "Plan", "Route"),
    "routing.planner": ("Planner",),
    "routing.tiers": ("Tier", "TierDeployment", "TierMap"),
    "state": ("MemoryStore", "RedisStore", "Store"),
}
_EXPORTS = {name: f"{__name__}.{module}" for module, names in _MODULES.items() for name in names}

__version__ = "0.1.0"

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
    "feedback",
    "price_for",
    "register",
    "summarise_ledger",
]


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
