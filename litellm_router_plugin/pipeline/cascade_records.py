"""What a cascade reports: each call, each escalation, and the result (with its response headers)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

CASCADE_KEY = "router_cascade"
"""Key of the ``CascadeResult`` in ``response._hidden_params`` (and in the proxy's request metadata)."""

Stop = Literal["confident", "strongest", "cost_cap", "budget", "failed", "no_checks"]
"""Why the cascade ended: the checks passed; the strongest tier answered; the next step did not fit
``max_cost_usd`` or the budget; the next tier failed (the earlier answer is kept); no checks set."""


# -- what happened ---------------------------------------------------------------------------
class CallRecord(BaseModel):
    """One call of the cascade (an answer, a sample, a retry)."""

    model_config = ConfigDict(frozen=True)

    step: int
    tier: str
    model: str
    deployment_id: str
    status: str
    """``ok``, or ``error:<ExceptionType>``."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_cost_usd: float
    cost_usd: float
    latency_ms: float


class Escalation(BaseModel):
    """Why the cascade left a tier: the check that failed with its value, or a failure."""

    model_config = ConfigDict(frozen=True)

    from_tier: str
    to_tier: str | None
    """``None`` when the next tier did not fit ``max_cost_usd`` (the weaker answer was kept)."""
    check: str
    """The check that failed, or ``fallback`` when the tier failed (errors, breakers)."""
    value: float | None = None
    threshold: float | None = None
    detail: str = ""


class CascadeResult(BaseModel):
    """The whole cascade: where it ended, how it got there, what it cost."""

    model_config = ConfigDict(frozen=True)

    final_tier: str
    final_model: str
    tiers_tried: list[str]
    escalations: list[Escalation]
    checks: list[dict[str, Any]]
    calls: list[CallRecord]
    stopped: Stop
    prompt_tokens: int
    completion_tokens: int
    total_cost_usd: float
    total_latency_ms: float
    max_cost_usd: float | None
    policy_version: str | None = None

    def headers(self) -> dict[str, str]:
        """The result as ``x-router-cascade-*`` response headers."""
        reasons = ";".join(
            f"{e.from_tier}>{e.to_tier or '-'}:{e.check}"
            + ("" if e.value is None else f"={e.value:.3f}<{e.threshold:g}" if e.threshold is not None else "")
            for e in self.escalations
        )
        return {
            "x-router-cascade-final-tier": self.final_tier,
            "x-router-cascade-final-model": self.final_model,
            "x-router-cascade-tiers": ",".join(self.tiers_tried),
            "x-router-cascade-escalations": str(len(self.escalations)),
            "x-router-cascade-reasons": reasons or "none",
            "x-router-cascade-stopped": self.stopped,
            "x-router-cascade-calls": str(len(self.calls)),
            "x-router-cascade-cost": f"{self.total_cost_usd:.8f}",
            "x-router-cascade-latency-ms": f"{self.total_latency_ms:.1f}",
        }


# -- settings of one request -------------------------------------------------------------------
