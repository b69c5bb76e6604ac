"""``Identity``: who a request is charged to (user, API key, team)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litellm_router_plugin.config import OVERRIDES_KEY
from litellm_router_plugin.guards.litellm_budgets import LITELLM_BUDGETS_KEY, LiteLLMBudget


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a request is charged to; the key is only ever stored hashed."""

    user: str | None = None
    key: str | None = None
    team: str | None = None
    budgets: tuple[LiteLLMBudget, ...] = ()
    """LiteLLM's own budgets of the key, user and team (from the proxy's ``UserAPIKeyAuth``)."""

    @classmethod
    def of(cls, request: Mapping[str, Any], *, trust_client_user: bool = False) -> Identity:
        """From the proxy's authenticated identity, else ``metadata["router"]``, else LiteLLM's key
        metadata; the request's ``user`` field only when ``trust_client_user``."""
        metadata = request.get("metadata") or {}
        own = metadata.get(OVERRIDES_KEY)
        own = own if isinstance(own, Mapping) else {}  # a malformed value is the planner's error to report
        budgets: tuple[LiteLLMBudget, ...] = ()
        if own.get("authenticated"):
            # Set by the proxy hook from the authenticated key: nothing in the request body counts.
            user, key, team = own.get("user"), own.get("key"), own.get("team")
            budgets = tuple(LiteLLMBudget.from_data(b) for b in own.get(LITELLM_BUDGETS_KEY) or ())
        else:
            user = own.get("user") or metadata.get("user_api_key_user_id")
            key = own.get("key") or metadata.get("user_api_key_hash") or metadata.get("user_api_key")
            team = own.get("team") or metadata.get("user_api_key_team_id")
        if user is None and trust_client_user:
            user = request.get("user")
        return cls(user, key, team, budgets)
