"""litellm-router-plugin: send every LiteLLM call to the cheapest model that can do the job.

The names a user types are importable from here (``__all__``); everything else from its module. The names are imported
on first use, so ``import litellm_router_plugin`` (and the pytest plugin, which every pytest run of
a project with this package installed loads) costs almost nothing: LiteLLM comes with the first name
that needs it, ``pydantic_ai`` only with the agent classifier, ``ProxyRouterPlugin`` (the ``[proxy]``
extra) only when asked for.

PYTEST_DONT_REWRITE: this module has no asserts; rewriting it (pytest does, for the package of its
plugin) would only add names to it.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

# Importing the package leaves LiteLLM's price-map source alone (live or bundled, as LiteLLM decides):
# offline prices are the caller's explicit choice, ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (see _litellm).

if _typing.TYPE_CHECKING:  # the same names for type checkers (a test keeps the two equal)
    from litellm_router_plugin.config import ClassifierConfig as ClassifierConfig
    from litellm_router_plugin.config import DeploymentConfig as DeploymentConfig
    from litellm_router_plugin.config import PluginConfig as PluginConfig
    from litellm_router_plugin.config import TierConfig as TierConfig
    from litellm_router_plugin.errors import BudgetExceededError as BudgetExceededError
    from litellm_router_plugin.errors import CircuitBreakerOpen as CircuitBreakerOpen
    from litellm_router_plugin.errors import ConfigError as ConfigError
    from litellm_router_plugin.errors import ModelNotAllowed as ModelNotAllowed
    from litellm_router_plugin.errors import NoDeploymentAvailable as NoDeploymentAvailable
    from litellm_router_plugin.errors import RouterPluginError as RouterPluginError
    from litellm_router_plugin.errors import StoreResetError as StoreResetError
    from litellm_router_plugin.errors import StoreUnavailableError as StoreUnavailableError
    from litellm_router_plugin.errors import UnknownModelError as UnknownModelError
    from litellm_router_plugin.errors import UnsupportedRequest as UnsupportedRequest
    from litellm_router_plugin.evaluation.evals import EvalCase as EvalCase
    from litellm_router_plugin.evaluation.evals import EvalResult as EvalResult
    from litellm_router_plugin.evaluation.evals import EvalSuite as EvalSuite
    from litellm_router_plugin.evaluation.evals import MaxCostUSD as MaxCostUSD
    from litellm_router_plugin.evaluation.evals import eval_case as eval_case
    from litellm_router_plugin.guards.breaker import CircuitBreaker as CircuitBreaker
    from litellm_router_plugin.guards.budget import BudgetGuard as BudgetGuard
    from litellm_router_plugin.guards.budget import BudgetLimit as BudgetLimit
    from litellm_router_plugin.guards.costs import CostTracker as CostTracker
    from litellm_router_plugin.integrations.completion import acompletion as acompletion
    from litellm_router_plugin.integrations.completion import configure as configure
    from litellm_router_plugin.integrations.completion import feedback as feedback
    from litellm_router_plugin.integrations.provider import register as register
    from litellm_router_plugin.integrations.proxy import ProxyRouterPlugin as ProxyRouterPlugin
    from litellm_router_plugin.integrations.router import CostAwareRoutingStrategy as CostAwareRoutingStrategy
    from litellm_router_plugin.integrations.router import build_router as build_router
    from litellm_router_plugin.pipeline.pipeline import Pipeline as Pipeline
    from litellm_router_plugin.routing.planner import Planner as Planner
    from litellm_router_plugin.state import MemoryStore as MemoryStore
    from litellm_router_plugin.state import RedisStore as RedisStore
    from litellm_router_plugin.state import Store as Store

# The public names, declared once: what a user types (the config, the entry points, the stores, the
# errors to catch, the eval helpers and the parts that work on their own). Everything else is
# imported from its module.
_MODULES: dict[str, tuple[str, ...]] = {
    "config": ("ClassifierConfig", "DeploymentConfig", "PluginConfig", "TierConfig"),
    "errors": (
        "BudgetExceededError",
        "CircuitBreakerOpen",
        "ConfigError",
        "ModelNotAllowed",
        "NoDeploymentAvailable",
        "RouterPluginError",
        "StoreResetError",
        "StoreUnavailableError",
        "UnknownModelError",
        "UnsupportedRequest",
    ),
    "evaluation.evals": ("EvalCase", "EvalResult", "EvalSuite", "MaxCostUSD", "eval_case"),
    "guards.breaker": ("CircuitBreaker",),
    "guards.budget": ("BudgetGuard", "BudgetLimit"),
    "guards.costs": ("CostTracker",),
    "integrations.completion": ("acompletion", "configure", "feedback"),
    "integrations.provider": ("register",),
    "integrations.proxy": ("ProxyRouterPlugin",),
    "integrations.router": ("CostAwareRoutingStrategy", "build_router"),
    "pipeline.pipeline": ("Pipeline",),
    "routing.planner": ("Planner",),
    "state": ("MemoryStore", "RedisStore", "Store"),
}
_EXPORTS = {name: f"{__name__}.{module}" for module, names in _MODULES.items() for name in names}

__version__ = "0.1.0"

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
