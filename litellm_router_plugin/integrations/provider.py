"""``litellm.acompletion(model="router/<alias>")``: the pipeline as a LiteLLM custom provider.

``register()`` adds a ``CustomLLM`` handler under the provider name ``router`` to
``litellm.custom_provider_map``; the stock ``litellm.completion`` / ``acompletion`` then route
``router/<alias>`` through the configured pipeline (plan, admit, call, settle), streams included.
The decision is on the response's ``_hidden_params["router_decision"]``; for a stream, on the stream
object's (and every chunk's) once the first chunk is read, since the route is taken then.
``litellm.completion`` runs on the bridge loop of ``integrations/blocking.py``, so it works inside
and outside a running event loop, with any store.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import BudgetExceededError
from litellm_router_plugin.integrations.blocking import run_blocking
from litellm_router_plugin.integrations.completion import configure, default_pipeline
from litellm_router_plugin.integrations.hooks import ensure_decision_hook
from litellm_router_plugin.integrations.llm_provider import PluginProvider
from litellm_router_plugin.routing.decision import METADATA_KEY

PROVIDER = "router"
"""The provider prefix: ``model="router/auto"``."""


def _call_kwargs(optional_params: Mapping[str, Any], litellm_params: Mapping[str, Any] | None) -> dict[str, Any]:
    kwargs = PluginProvider.call_kwargs(optional_params)
    metadata = PluginProvider.metadata({"litellm_params": litellm_params})
    if metadata is not None:
        kwargs["metadata"] = dict(metadata)
    return kwargs


def _generic_chunk(chunk: Any) -> dict[str, Any]:
    choice = chunk.choices[0] if getattr(chunk, "choices", None) else None
    delta = getattr(choice, "delta", None)
    usage = getattr(chunk, "usage", None)
    return {
        "text": (getattr(delta, "content", None) or "") if delta is not None else "",
        "tool_use": None,
        "is_finished": bool(getattr(choice, "finish_reason", None)),
        "finish_reason": getattr(choice, "finish_reason", None) or "",
        "usage": (
            {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
            if usage is not None
            else None
        ),
        "index": 0,
    }


def _publish(decision: Any, logging_obj: Any) -> None:
    """Put the decision on the stream object LiteLLM wrapped around ours (and so on its chunks).

    LiteLLM builds that ``CustomStreamWrapper`` after our generator is created and never hands it to
    us; it is the caller reading our first chunk, found a few frames up by its logging object.
    """
    if decision is None or logging_obj is None:
        return
    frame = sys._getframe(1)
    for _ in range(8):
        frame = frame.f_back  # type: ignore[assignment]
        if frame is None:
            return
        wrapper = frame.f_locals.get("self")
        if isinstance(wrapper, CustomStreamWrapper) and wrapper.logging_obj is logging_obj:
            wrapper._hidden_params[METADATA_KEY] = decision
            base = getattr(wrapper, "_base_hidden_params", None)  # copied onto every chunk
            if isinstance(base, dict):
                base[METADATA_KEY] = decision
            return


class RouterProvider(PluginProvider):
    """Routes ``router/<alias>`` calls through the default pipeline (see :func:`register`)."""

    provider = PROVIDER

    async def _route(
        self, model: str, messages: list[Any], optional_params: dict[str, Any], litellm_params: Any, stream: bool
    ) -> Any:
        ensure_decision_hook()
        # router/<name> accepts what model=<name> does through the Router: the alias, a tier, any model.
        kwargs = _call_kwargs(optional_params, litellm_params)
        return await default_pipeline().acompletion(messages, model=model, stream=stream, **kwargs)

    async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """Route, admit, call, settle; the response carries the decision."""
        return await self._route(
            model, messages, kwargs.get("optional_params") or {}, kwargs.get("litellm_params"), False
        )

    def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """The synchronous twin: runs :meth:`acompletion` on the bridge loop (in or out of a running loop)."""
        return run_blocking(self.acompletion(model, messages, *args, **kwargs))

    async def astreaming(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream the routed call's chunks; the inner call settles when its stream ends."""
        stream = await self._route(
            model, messages, kwargs.get("optional_params") or {}, kwargs.get("litellm_params"), True
        )
        decision = (getattr(stream, "_hidden_params", None) or {}).get(METADATA_KEY)
        first = True
        async for chunk in stream:
            if first:
                _publish(decision, kwargs.get("logging_obj"))
                first = False
            yield _generic_chunk(chunk)

    def streaming(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Synchronous streaming: collected on the bridge loop, then replayed."""

        async def collect() -> tuple[Any, list[dict[str, Any]]]:
            stream = await self._route(
                model, messages, kwargs.get("optional_params") or {}, kwargs.get("litellm_params"), True
            )
            decision = (getattr(stream, "_hidden_params", None) or {}).get(METADATA_KEY)
            return decision, [_generic_chunk(c) async for c in stream]

        decision, chunks = run_blocking(collect())

        def replay() -> Iterator[dict[str, Any]]:
            _publish(decision, kwargs.get("logging_obj"))
            yield from chunks

        return replay()


_PROVIDER = RouterProvider()


def register(config: PluginConfig | Mapping[str, Any] | str | Path | None = None) -> None:
    """Make the stock ``litellm.acompletion(model="router/<alias>")`` route; ``config`` as for :func:`configure`.

    Idempotent; a new ``config`` replaces the previous one.
    """
    if config is not None:
        configure(config)
    _PROVIDER.register(replace=True)
    # LiteLLM re-maps a provider's unknown exceptions (a budget refusal would reach the caller as a
    # BadRequestError); the types listed here pass through as raised.
    if BudgetExceededError not in litellm.LITELLM_EXCEPTION_TYPES:
        litellm.LITELLM_EXCEPTION_TYPES.append(BudgetExceededError)


__all__ = ["METADATA_KEY", "PROVIDER", "RouterProvider", "register"]
