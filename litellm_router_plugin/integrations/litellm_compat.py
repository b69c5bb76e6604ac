"""What differs between the LiteLLM versions we support (1.108.7 up to 1.110.x), in one place.

Our strategy is LiteLLM's custom routing strategy, so every pick of the Router reaches it; for a model
it does not route (one the caller names, a fallback group) it needs LiteLLM's *stock* pick to admit.

- **Up to 1.109**: ``Router.async_get_available_deployment`` / ``get_available_deployment`` read on
  the class are the stock picks (the instance's are replaced by the strategy's).
- **1.110**: selection runs in a Rust core that asks the registered strategy on every pick, and the
  class attribute resolves to the router's current pick, i.e. back to us (``RecursionError``). The
  stock pick is rebuilt from what 1.110 offers: ``Router.select(model, kwargs, kind="healthy")`` (the
  deployments a pick chooses among, after cooldowns, pre-call checks, tags and the request's excluded
  ids, without the strategy) and the configured strategy's choice among them (``simple_shuffle``, or
  the strategy's selector for least-busy, usage-, latency- and cost-based routing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import version
from typing import Any

from litellm.router import Router
from packaging.version import Version

LITELLM_VERSION = Version(version("litellm"))
RUST_CORE = Version("1.110") <= LITELLM_VERSION
"""1.110 and later: the Router's selection runs in ``litellm.router_rust`` (see the module docstring)."""

__all__ = ["LITELLM_VERSION", "RUST_CORE", "stock_pick", "stock_pick_sync"]


async def stock_pick(
    router: Router,
    model: str,
    *,
    messages: Any,
    input: Any,
    specific_deployment: bool | None,
    request_kwargs: dict[str, Any],
) -> Any:
    """LiteLLM's own pick of a deployment of ``model``, as if no custom strategy were installed."""
    if not RUST_CORE:
        return await Router.async_get_available_deployment(
            router,
            model=model,
            messages=messages,
            input=input,
            specific_deployment=specific_deployment,
            request_kwargs=request_kwargs,
        )
    healthy = await router.select(
        model,
        request_kwargs,
        kind="healthy",
        messages=messages,
        input=input,
        specific_deployment=specific_deployment,
    )
    if isinstance(healthy, Mapping):  # a deployment named by its id comes alone
        return healthy
    return await _choose(router, model, list(healthy), messages, input, request_kwargs)


def stock_pick_sync(
    router: Router,
    model: str,
    *,
    messages: Any,
    input: Any,
    specific_deployment: bool | None,
    request_kwargs: dict[str, Any],
) -> Any:
    """The synchronous twin of :func:`stock_pick` (``Router.completion``)."""
    if not RUST_CORE:
        return Router.get_available_deployment(
            router,
            model=model,
            messages=messages,
            input=input,
            specific_deployment=specific_deployment,
            request_kwargs=request_kwargs,
        )
    step = stock_pick(
        router,
        model,
        messages=messages,
        input=input,
        specific_deployment=specific_deployment,
        request_kwargs=request_kwargs,
    )
    try:
        step.send(None)
    except StopIteration as done:
        return done.value
    step.close()
    raise RuntimeError(  # the Router's cache is remote (Redis): the pick has to wait for it
        "Router.completion (synchronous) cannot pick a named model on LiteLLM >= 1.110 with a Redis "
        "routing cache; use Router.acompletion."
    )


async def _choose(
    router: Router, model: str, healthy: list[dict[str, Any]], messages: Any, input: Any, request: dict[str, Any]
) -> Any:
    """The configured strategy's choice among ``healthy`` (the 1.110 Rust core's strategy step)."""
    if not healthy:
        return None
    strategy = router.settings().routing_strategy or "simple-shuffle"
    if strategy != "simple-shuffle":
        picked = await _strategy_pick(router, strategy, model, healthy, messages, input, request)
        if picked is not None:
            return picked
    return _shuffle(model, healthy, request)


async def _strategy_pick(
    router: Router,
    strategy: str,
    model: str,
    healthy: list[dict[str, Any]],
    messages: Any,
    input: Any,
    request: dict[str, Any],
) -> Any:
    """A non-default strategy's selector (least-busy, usage-, latency-, cost-based), as the core asks it."""
    from litellm.router_rust.steps.selection import pick_async

    selectors = getattr(router.__dict__.get("_core"), "_selectors", None)
    selector = selectors.selector_for(strategy, "default", None, request) if selectors is not None else None
    if selector is None:
        return None
    return await pick_async(strategy, selector, model, healthy, messages, input, request)


def _shuffle(model: str, healthy: Sequence[dict[str, Any]], request: Mapping[str, Any]) -> Any:
    """LiteLLM's default choice: weighted by the request's router weights, then weight, rpm, tpm."""
    from litellm.router_strategy.simple_shuffle import simple_shuffle

    return simple_shuffle(lambda _name: None, healthy, model, request)
