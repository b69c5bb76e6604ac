"""The state of one cascade: the request's (``Run``) and the climb's (``Climb``), and the result it makes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from litellm_router_plugin.pipeline.cascade_records import CallRecord, CascadeResult, Escalation, Stop
from litellm_router_plugin.pipeline.cascade_settings import CostCap, Settings
from litellm_router_plugin.pipeline.confidence import Check, CheckResult
from litellm_router_plugin.pipeline.request import Request
from litellm_router_plugin.routing.tiers import Tier


@dataclass(slots=True)
class Run:
    """The mutable state of one cascade."""

    messages: list[Any]
    call_kwargs: dict[str, Any]
    metadata: dict[str, Any]
    settings: Settings
    checks: tuple[Check, ...]
    """The confidence checks of every step but the last, in order."""
    cap: CostCap
    max_tokens: int
    prompt_tokens: int
    started: float
    request: Request
    """The request each step is routed as (sent to the step's tier)."""
    calls: list[CallRecord] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    decisions: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class Climb:
    """How far up the ladder a cascade went: the best answer so far, what was tried and why it moved on."""

    escalations: list[Escalation] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    answered: list[tuple[str, float | None]] = field(default_factory=list)
    """(model, quality) per answered step, for learning."""
    best: tuple[Any, Tier] | None = None
    stopped: Stop = "strongest"
    last_error: BaseException | None = None

    def stop(self, why: Stop, from_tier: str, check: str, detail: str) -> None:
        """End the climb on the best answer so far."""
        self.escalations.append(Escalation(from_tier=from_tier, to_tier=None, check=check, detail=detail[:200]))
        self.stopped = why

    def escalate(self, from_tier: str, to_tier: str, failed: CheckResult | None = None, detail: str = "") -> None:
        """Move on to ``to_tier``: after ``failed`` (a confidence check), else a fallback (``detail``: why)."""
        if failed is None:
            escalation = Escalation(from_tier=from_tier, to_tier=to_tier, check="fallback", detail=detail[:200])
        else:
            escalation = Escalation(
                from_tier=from_tier,
                to_tier=to_tier,
                check=failed.check,
                value=failed.value,
                threshold=failed.threshold,
                detail=failed.detail,
            )
        self.escalations.append(escalation)

    def result(self, run: Run, policy_version: str | None) -> tuple[Any, CascadeResult, list[CallRecord]]:
        """The best response, the cascade's result, and the calls of the final tier that answered."""
        assert self.best is not None
        response, tier = self.best
        final = [c for c in run.calls if c.tier == tier.name and c.status == "ok"]
        result = CascadeResult(
            final_tier=tier.name,
            final_model=final[0].model if final else "",
            tiers_tried=self.tried,
            escalations=self.escalations,
            checks=self.checks,
            calls=run.calls,
            stopped=self.stopped,
            prompt_tokens=sum(c.prompt_tokens for c in run.calls),
            completion_tokens=sum(c.completion_tokens for c in run.calls),
            total_cost_usd=run.cap.spent,
            total_latency_ms=round((time.perf_counter() - run.started) * 1000, 3),
            max_cost_usd=run.cap.limit,
            policy_version=policy_version,
        )
        return response, result, final
