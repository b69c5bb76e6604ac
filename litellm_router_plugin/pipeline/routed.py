"""What a routed request carries, and what the cascade asks of the pipeline that routes it.

Apart from ``pipeline.pipeline`` so the cascade (which ``Pipeline`` runs) types against the pipeline
without importing it back: ``Pipeline`` satisfies ``RoutingHost`` structurally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.pipeline.request import Request
from litellm_router_plugin.pipeline.ticket import TICKET_KEY, Ticket
from litellm_router_plugin.routing.decision import (
    LITELLM_METADATA_KEY,
    METADATA_KEY,
    RoutingDecision,
    litellm_routing_decision,
    tier_tags,
)
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.routing.tiers import TierDeployment, TierMap


class LearnerHook(Protocol):
    """What the pipeline asks of the learning loop (``online.learner.Learner``), when one is attached."""

    async def refresh(self) -> None:
        """Adopt the published model version, if it changed (before a request)."""
        ...

    def cascade_outcome(self, messages: Sequence[Mapping[str, Any]], steps: Sequence[tuple[str, float | None]]) -> None:
        """Record a cascade's escalations that produced both answers ((model, quality) per step)."""
        ...


@dataclass(frozen=True, slots=True)
class Routed:
    """A planned and admitted request: the decision, the deployment to call, the ticket to settle."""

    decision: RoutingDecision
    deployment: TierDeployment
    ticket: Ticket | None
    baseline: TierDeployment | None = None
    """The deployment savings are measured against (the strongest tier's cheapest)."""

    def attach(self, metadata: dict[str, Any]) -> None:
        """Put the decision and the ticket in the request's metadata (where LiteLLM's hooks find them),
        and the decision in LiteLLM's own shape and the tier as a request tag (for its logs and OTEL).
        Every attempt writes or clears both, so a retry never carries an earlier attempt's."""
        metadata[METADATA_KEY] = self.decision.model_dump(mode="json")
        if self.ticket is not None:
            metadata[TICKET_KEY] = self.ticket.to_metadata()
        base = self.baseline
        native = litellm_routing_decision(
            self.decision, base.model if base else None, base.deployment_id if base else None
        )
        if native is None:
            metadata.pop(LITELLM_METADATA_KEY, None)
        else:
            metadata[LITELLM_METADATA_KEY] = native
        if native is not None or "tags" in metadata:
            metadata["tags"] = tier_tags(metadata.get("tags"), self.decision.tier if native else None)


class RoutingHost(Protocol):
    """The pipeline as the cascade uses it: its policy, planning, admission and settling."""

    @property
    def config(self) -> PluginConfig: ...

    @property
    def planner(self) -> Planner: ...

    @property
    def tier_map(self) -> TierMap: ...

    @property
    def learner(self) -> LearnerHook | None: ...

    async def route(self, request: Request) -> Routed:
        """Plan the request and admit the first option it can."""
        ...

    async def settle(
        self, ticket: Ticket, *, usage: Any = None, error: BaseException | None = None, cost: float | None = None
    ) -> None:
        """Charge a ticket its actual cost (or settle it on an error)."""
        ...
