"""``Identity``: who a request is charged to (user, API key, team)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litellm_router_plugin.config import RequestOverrides
from litellm_router_plugin.guards.litellm_budgets import LiteLLMBudget


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a request is charged to; the key is only ever stored hashed."""

    user: str | None = None
    key: str | None = None
    team: str | None = None
    budgets: tuple[LiteLLMBudget, ...] = ()
    """LiteLLM's own budgets of the key, user and team (from the proxy's ``UserAPIKeyAuth``)."""

    @classmethod
    def of(
        cls,
        request: Mapping[str, Any],
        *,
        trust_client_user: bool = False,
        overrides: RequestOverrides | None = None,
    ) -> Identity:
        """From the proxy's authenticated identity, else ``metadata["router"]`` (``overrides``, read
        from the request when not given), else LiteLLM's key metadata; the request's ``user`` field
        only when ``trust_client_user``."""
        own = overrides if overrides is not None else RequestOverrides.of(request)
        metadata = request.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        budgets: tuple[LiteLLMBudget, ...] = ()
        if own.authenticated:
            # Set by the proxy hook from the authenticated key: nothing in the request body counts.
            user, key, team = own.user, own.key, own.team
            budgets = tuple(LiteLLMBudget.from_data(b) for b in own.litellm_budgets)
        else:
            user = own.user or metadata.get("user_api_key_user_id")
            key = own.key or metadata.get("user_api_key_hash") or metadata.get("user_api_key")
            team = own.team or metadata.get("user_api_key_team_id")
        if user is None and trust_client_user:
            user = request.get("user")
        return cls(user, key, team, budgets)


ANONYMOUS = Identity()
"""No user, key or team: only the global budget applies."""
