"""Cascades inside LiteLLM's Router and proxy: a model group whose one deployment runs the cascade.

A cascade makes several calls, which a Router deployment choice cannot express; so the proxy plugin
sends a cascading request for the alias to a placeholder group ``router-plugin-placeholder-cascade-
<alias>``, whose deployment is ``router-cascade/<pipeline id>``: a LiteLLM custom provider that runs
``Cascade`` on that pipeline (every step admitted and settled there, under the caller's identity,
which rides in the request metadata). The placeholder itself is neither admitted nor charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import OVERRIDES_KEY
from litellm_router_plugin.integrations.deployments import CASCADE_PROVIDER, cascade_entry, cascade_group
from litellm_router_plugin.integrations.llm_provider import PluginProvider
from litellm_router_plugin.pipeline.cascade import CASCADE_KEY, Cascade, CascadeResult
from litellm_router_plugin.pipeline.pipeline import Pipeline

PROVIDER = CASCADE_PROVIDER
"""The provider prefix of the cascade deployment: ``router-cascade/<pipeline id>``."""

__all__ = [
    "PROVIDER",
    "CascadeProvider",
    "cascade_entry",
    "cascade_group",
    "cascade_headers",
    "register_cascade_provider",
]  # the entries live in deployments.py


class CascadeProvider(PluginProvider):
    """Runs ``router-cascade/<pipeline id>`` calls as cascades of that pipeline."""

    provider = PROVIDER

    async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """Run the cascade; the final response carries the ``CascadeResult``."""
        pipeline = Pipeline.lookup(model)
        if pipeline is None:
            raise litellm.BadRequestError(
                message=f"{PROVIDER}/{model}: no such pipeline in this process", model=model, llm_provider=PROVIDER
            )
        call = self.call_kwargs(kwargs.get("optional_params") or {})
        metadata = dict(self.metadata(kwargs) or {})
        overrides = metadata.get(OVERRIDES_KEY)
        metadata[OVERRIDES_KEY] = {**(overrides if isinstance(overrides, Mapping) else {}), "cascade": True}
        try:
            request = pipeline.request({**call, "metadata": metadata}, messages=messages)
            return await Cascade(pipeline).acompletion(request)
        except Exception as exc:
            # The cascade already retried and fell back; a Router retry would run it all again.
            exc.num_retries = 0  # type: ignore[attr-defined]
            raise


_PROVIDER = CascadeProvider()


def register_cascade_provider() -> None:
    """Add the ``router-cascade`` provider to LiteLLM (idempotent)."""
    _PROVIDER.register(replace=False)


def cascade_headers(response: Any) -> dict[str, str]:
    """``x-router-cascade-*`` headers of a cascaded response (empty for any other)."""
    hidden = getattr(response, "_hidden_params", None)
    data = hidden.get(CASCADE_KEY) if isinstance(hidden, Mapping) else None
    if not isinstance(data, Mapping):
        return {}
    return CascadeResult.model_validate(data).headers()
