"""``litellm.acompletion(model="router/<alias>")``: the pipeline as a LiteLLM custom provider.

``register()`` adds a ``CustomLLM`` handler under the provider name ``router`` to
``litellm.custom_provider_map``; the stock ``litellm.completion`` / ``acompletion`` then route
``router/<alias>`` through the configured pipeline (plan, admit, call, settle), streams included.
The decision is on the response's ``_hidden_params["router_decision"]`` (non-streamed calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

from litellm.llms.custom_llm import CustomLLM
from litellm.utils import custom_llm_setup

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import BudgetExceededError
from litellm_router_plugin.integrations.completion import configure, default_pipeline
from litellm_router_plugin.integrations.hooks import ensure_decision_hook
from litellm_router_plugin.routing.decision import METADATA_KEY

PROVIDER = "router"
"""The provider prefix: ``model="router/auto"``."""

# What LiteLLM passes in optional_params that litellm.acompletion does not take back as is.
_INTERNAL = frozenset({"stream", "extra_body"})


def _call_kwargs(optional_params: Mapping[str, Any], litellm_params: Mapping[str, Any] | None) -> dict[str, Any]:
    kwargs = {k: v for k, v in optional_params.items() if k not in _INTERNAL}
    metadata = (litellm_params or {}).get("metadata")
    if isinstance(metadata, Mapping):
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


class RouterProvider(CustomLLM):  # type: ignore[misc]  # litellm is untyped here
    """Routes ``router/<alias>`` calls through the default pipeline (see :func:`register`)."""

    async def _route(
        self, model: str, messages: list[Any], optional_params: dict[str, Any], litellm_params: Any, stream: bool
    ) -> Any:
        pipeline = default_pipeline()
        if model != pipeline.alias:
            raise litellm.BadRequestError(
                message=f"router/{model}: only router/{pipeline.alias} is routed", model=model, llm_provider=PROVIDER
            )
        ensure_decision_hook()
        return await pipeline.acompletion(messages, stream=stream, **_call_kwargs(optional_params, litellm_params))

    async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """Route, admit, call, settle; the response carries the decision."""
        return await self._route(
            model, messages, kwargs.get("optional_params") or {}, kwargs.get("litellm_params"), False
        )

    def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """The synchronous twin: runs :meth:`acompletion` on a private event loop."""
        return asyncio.run(self.acompletion(model, messages, *args, **kwargs))

    async def astreaming(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream the routed call's chunks; the inner call settles when its stream ends."""
        stream = await self._route(
            model, messages, kwargs.get("optional_params") or {}, kwargs.get("litellm_params"), True
        )
        async for chunk in stream:
            yield _generic_chunk(chunk)

    def streaming(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Synchronous streaming: collected on a private event loop, then replayed."""

        async def collect() -> list[dict[str, Any]]:
            return [c async for c in self.astreaming(model, messages, *args, **kwargs)]

        return iter(asyncio.run(collect()))


_PROVIDER = RouterProvider()


def register(config: PluginConfig | Mapping[str, Any] | str | Path | None = None) -> None:
    """Make the stock ``litellm.acompletion(model="router/<alias>")`` route; ``config`` as for :func:`configure`.

    Idempotent; a new ``config`` replaces the previous one.
    """
    if config is not None:
        configure(config)
    entries = [e for e in litellm.custom_provider_map if e.get("provider") != PROVIDER]
    litellm.custom_provider_map = [*entries, {"provider": PROVIDER, "custom_handler": _PROVIDER}]
    custom_llm_setup()  # LiteLLM's own step that adds the provider name to its lists
    # LiteLLM re-maps a provider's unknown exceptions (a budget refusal would reach the caller as a
    # BadRequestError); the types listed here pass through as raised.
    if BudgetExceededError not in litellm.LITELLM_EXCEPTION_TYPES:
        litellm.LITELLM_EXCEPTION_TYPES.append(BudgetExceededError)


__all__ = ["METADATA_KEY", "PROVIDER", "RouterProvider", "register"]
