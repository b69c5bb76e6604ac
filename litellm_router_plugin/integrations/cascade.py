"""Cascades inside LiteLLM's Router and proxy: a model group whose one deployment runs the cascade.

A cascade makes several calls, which a Router deployment choice cannot express; so the proxy plugin
sends a cascading request for the alias to a placeholder group ``router-plugin-placeholder-cascade-
<alias>``, whose deployment is ``router-cascade/<pipeline id>``: a LiteLLM custom provider that runs
``Cascade`` on that pipeline (every step admitted and settled there, under the caller's identity,
which rides in the request metadata). The placeholder itself is neither admitted nor charged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from litellm.llms.custom_llm import CustomLLM
from litellm.utils import custom_llm_setup

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import OVERRIDES_KEY
from litellm_router_plugin.integrations.router import PLACEHOLDER_PREFIX
from litellm_router_plugin.pipeline.cascade import CASCADE_KEY, Cascade, CascadeResult
from litellm_router_plugin.pipeline.pipeline import Pipeline

PROVIDER = "router-cascade"
"""The provider prefix of the cascade deployment: ``router-cascade/<pipeline id>``."""

CLIENT_SETTINGS = (
    "cascade",
    "max_cost_usd",
    "checks",
    "consistency_threshold",
    "logprob_threshold",
    "verifier_threshold",
)
"""Cascade settings a proxy client may send in ``metadata.router`` (``max_cost_usd`` only lowers the cap)."""

_INTERNAL = frozenset({"stream", "extra_body"})


def cascade_group(alias: str) -> str:
    """The model group of the alias' cascade deployment."""
    return f"{PLACEHOLDER_PREFIX}-cascade-{alias}"


def cascade_entry(pipeline: Pipeline) -> dict[str, Any]:
    """The Router ``model_list`` entry that runs ``pipeline``'s cascade."""
    group = cascade_group(pipeline.alias)
    return {
        "model_name": group,
        "litellm_params": {"model": f"{PROVIDER}/{pipeline.id}"},
        "model_info": {"id": group},
    }


class CascadeProvider(CustomLLM):  # type: ignore[misc]  # litellm is untyped here
    """Runs ``router-cascade/<pipeline id>`` calls as cascades of that pipeline."""

    async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """Run the cascade; the final response carries the ``CascadeResult``."""
        pipeline = Pipeline.lookup(model)
        if pipeline is None:
            raise litellm.BadRequestError(
                message=f"{PROVIDER}/{model}: no such pipeline in this process", model=model, llm_provider=PROVIDER
            )
        optional = kwargs.get("optional_params") or {}
        call = {k: v for k, v in optional.items() if k not in _INTERNAL}
        metadata = dict((kwargs.get("litellm_params") or {}).get("metadata") or {})
        overrides = metadata.get(OVERRIDES_KEY)
        metadata[OVERRIDES_KEY] = {**(overrides if isinstance(overrides, Mapping) else {}), "cascade": True}
        try:
            return await Cascade(pipeline).acompletion(messages, metadata=metadata, **call)
        except Exception as exc:
            # The cascade already retried and fell back; a Router retry would run it all again.
            exc.num_retries = 0  # type: ignore[attr-defined]
            raise

    def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """The synchronous twin: runs :meth:`acompletion` on a private event loop."""
        return asyncio.run(self.acompletion(model, messages, *args, **kwargs))


_PROVIDER = CascadeProvider()


def register_cascade_provider() -> None:
    """Add the ``router-cascade`` provider to LiteLLM (idempotent)."""
    if any(e.get("provider") == PROVIDER for e in litellm.custom_provider_map):
        return
    litellm.custom_provider_map = [*litellm.custom_provider_map, {"provider": PROVIDER, "custom_handler": _PROVIDER}]
    custom_llm_setup()


def cascade_headers(response: Any) -> dict[str, str]:
    """``x-router-cascade-*`` headers of a cascaded response (empty for any other)."""
    hidden = getattr(response, "_hidden_params", None)
    data = hidden.get(CASCADE_KEY) if isinstance(hidden, Mapping) else None
    if not isinstance(data, Mapping):
        return {}
    return CascadeResult.model_validate(data).headers()
