"""The base of the plugin's LiteLLM custom providers (``router/<alias>``, ``router-cascade/<id>``).

Both run asynchronously: the synchronous entry points run the async one on a private event loop, and
the call's own parameters are read back from what LiteLLM hands a ``CustomLLM``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from litellm.llms.custom_llm import CustomLLM
from litellm.utils import custom_llm_setup

from litellm_router_plugin._litellm import litellm

# What LiteLLM passes in optional_params that litellm.acompletion does not take back as is.
_INTERNAL = frozenset({"stream", "extra_body"})


class PluginProvider(CustomLLM):  # type: ignore[misc]  # litellm is untyped here
    """A ``CustomLLM`` registered under :attr:`provider`; subclasses implement ``acompletion``."""

    provider: ClassVar[str]

    def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """The synchronous twin: runs :meth:`acompletion` on a private event loop."""
        return asyncio.run(self.acompletion(model, messages, *args, **kwargs))

    @staticmethod
    def call_kwargs(optional_params: Mapping[str, Any]) -> dict[str, Any]:
        """The caller's parameters, as ``litellm.acompletion`` takes them back."""
        return {k: v for k, v in optional_params.items() if k not in _INTERNAL}

    @staticmethod
    def metadata(kwargs: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The request's metadata, as LiteLLM hands it to a provider."""
        found = (kwargs.get("litellm_params") or {}).get("metadata")
        return found if isinstance(found, Mapping) else None

    def register(self, *, replace: bool) -> None:
        """Add this handler to ``litellm.custom_provider_map``: ``replace`` an entry of the same
        provider, else keep the first one registered (idempotent either way)."""
        entries = litellm.custom_provider_map
        if not replace and any(e.get("provider") == self.provider for e in entries):
            return
        kept = [e for e in entries if e.get("provider") != self.provider]
        litellm.custom_provider_map = [*kept, {"provider": self.provider, "custom_handler": self}]
        custom_llm_setup()  # LiteLLM's own step that adds the provider name to its lists
