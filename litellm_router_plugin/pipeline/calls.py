"""One call of an admitted deployment, shared by the pipeline's own path and the cascade's steps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.routing.decision import METADATA_KEY

if TYPE_CHECKING:
    from litellm_router_plugin.pipeline.routed import Routed
    from litellm_router_plugin.pipeline.ticket import Ticket

Settle = Callable[..., Awaitable[None]]
"""``Pipeline.settle``: ``(ticket, *, usage=None, error=None, cost=None)``."""

__all__ = ["call_deployment", "usage_tokens"]


def usage_tokens(usage: Any) -> tuple[int, int]:
    """``(prompt_tokens, completion_tokens)`` of a response's usage (0 where missing)."""
    return int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)


async def call_deployment(
    settle: Settle,
    routed: Routed,
    messages: list[Any],
    kwargs: Mapping[str, Any],
    metadata: Mapping[str, Any],
    *,
    deadline: float | None = None,
) -> Any:
    """``litellm.acompletion`` on the routed deployment, the decision in its metadata and on the
    response's ``_hidden_params``. A call that fails (or outlives ``deadline`` seconds) settles its
    ticket as failed before the error goes on; a successful one is settled by the caller (the
    cascade, with LiteLLM's cost) or by LiteLLM's success hook."""
    attached = dict(metadata)
    routed.attach(attached)
    try:
        async with asyncio.timeout(deadline):  # a stuck client must not outlive the caller's timeout
            response = await litellm.acompletion(
                **{**routed.deployment.litellm_params, **kwargs},
                model=routed.deployment.model,
                messages=messages,
                metadata=attached,
            )
    except BaseException as exc:
        ticket: Ticket | None = routed.ticket
        if ticket is not None:
            # Often settled already by LiteLLM's failure hook; settling is idempotent.
            await settle(ticket, error=exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
        raise
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, dict):
        hidden[METADATA_KEY] = attached[METADATA_KEY]
    return response
