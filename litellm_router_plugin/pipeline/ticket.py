"""``Ticket``: what an admitted call carries to its settlement, and its one metadata form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.guards.scopes import scope_name
from litellm_router_plugin.pricing import Price
from litellm_router_plugin.state.records import LedgerRow

TICKET_KEY = "router_ticket"
"""Request metadata key of the ticket (plain data: LiteLLM copies metadata between attempts)."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """An admitted call: which pipeline, request and deployment, its prices, breaker and identity."""

    pipeline: str
    request_id: str
    deployment_id: str
    model: str
    tier: str
    """The tier that served it, or ``none`` for a deployment called by name."""
    input_cost_per_token: float
    output_cost_per_token: float
    identity: Identity
    breaker: str | None = None
    probe: bool = False
    unaccounted: bool = False
    reason: str | None = None
    mocked: bool = False
    """A ``mock_response`` call: its usage is made up (LiteLLM ignores ``max_tokens``), so a charge
    beyond the hold is not reported as an overrun."""
    priced_by: str = "litellm.model_cost"
    """Where the deployment's price comes from (``pricing.PriceSource``): ``deployment`` prices the
    response at the deployment's own price per token, as LiteLLM does."""
    soft: tuple[tuple[str, str, int], ...] = ()
    """LiteLLM soft budgets to check after the settle: (scope, period, micros)."""
    spent_ttl_s: int | None = None
    """How long the charged counters must live (LiteLLM budget periods outlast the default)."""

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """What a call with this usage costs at the deployment's prices (LiteLLM's, resolved at plan time)."""
        return prompt_tokens * self.input_cost_per_token + completion_tokens * self.output_cost_per_token

    def ledger_row(self, ts: float, day: str, usage: tuple[int, int], strongest_micros: int, status: str) -> LedgerRow:
        """This call's ledger line: ``usage`` is ``(prompt, completion)`` tokens, ``day`` the budget day."""
        prompt, completion = usage
        return LedgerRow(
            ts=round(ts, 3),
            day=day,
            user=self.identity.user,
            key=scope_name("key", self.identity.key),  # the key's hash, never the key
            team=self.identity.team,
            tier=self.tier,
            model=self.model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            strongest_micros=strongest_micros,
            status=status,
            reason=self.reason,
        )

    def price(self) -> Price:
        """The deployment's price as resolved at plan time."""
        return Price(self.input_cost_per_token, self.output_cost_per_token, self.priced_by)  # type: ignore[arg-type]

    def to_metadata(self) -> dict[str, Any]:
        """The ticket as plain data for request metadata."""
        # Field by field, not dataclasses.asdict: asdict deep-copies every value (every request pays it).
        data = {name: getattr(self, name) for name in _FIELDS}
        data["identity"] = {name: getattr(self.identity, name) for name in _IDENTITY_FIELDS}
        return data

    @classmethod
    def from_metadata(cls, data: Any) -> Ticket | None:
        """The ticket in ``data`` (a request's ``metadata[TICKET_KEY]``), or ``None`` if there is none."""
        if not isinstance(data, Mapping):
            return None
        try:
            fields = dict(data)
            fields["identity"] = Identity(**fields.get("identity", {}))
            return cls(**fields)
        except TypeError:
            return None


_FIELDS = tuple(f.name for f in fields(Ticket))
_IDENTITY_FIELDS = ("user", "key", "team")  # the budgets are the hold's business: settling needs none
