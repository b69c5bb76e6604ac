"""Configuration faults remembered across requests, so a cooldown does not become an escalation.

A deployment that failed with a configuration fault (401/403/404/400/422, missing credentials) is
cooled down by LiteLLM's Router; the planner then skips it, and without this memory the next
requests would be served by a dearer tier, silently, for as long as the key stays wrong. So the
fault is remembered in the shared store (every worker) for the cooldown's length, and a request
whose plan would have used a cooling deployment with a remembered fault gets that fault's error
(same LiteLLM type and status), served at most by the same tier's other healthy deployments.
Transient failures (429, 5xx, timeouts) clear the memory and keep escalating as before.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from litellm_router_plugin.errors import RouterPluginError, StoreUnavailableError
from litellm_router_plugin.guards.admission import Admission, NullAdmission
from litellm_router_plugin.pipeline.attempts import Attempts, fault_kind
from litellm_router_plugin.routing.plan import Option, Plan
from litellm_router_plugin.routing.tiers import TierMap

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN_SECONDS = 5.0
"""LiteLLM's Router default ``cooldown_time``; ``build_router`` and the proxy use their Router's."""

_MESSAGE_CHARS = 300


class ConfigFaults:
    """Remembers configuration faults in the admission's store and holds plans back from escalating."""

    def __init__(self, seconds: float = DEFAULT_COOLDOWN_SECONDS) -> None:
        self.seconds = seconds
        """How long a fault is remembered: the Router's ``cooldown_time`` (a deployment's own wins)."""

    async def record(
        self, admission: Admission, tier_map: TierMap, deployment_id: str, model: str, error: BaseException
    ) -> None:
        """Remember ``error`` if it is a configuration fault, forget the deployment's fault if it is a
        transient failure; never raises (the call already happened)."""
        kind = fault_kind(error)
        try:
            if kind is None:
                await admission.store.forget_fault(deployment_id)
                return
            deployment = tier_map.deployment(deployment_id)
            own = deployment.litellm_params.get("cooldown_time") if deployment is not None else None
            seconds = float(own) if isinstance(own, int | float) and own > 0 else self.seconds
            fault = {"kind": kind, "model": model, "message": str(error)[:_MESSAGE_CHARS], "seconds": f"{seconds:g}"}
            await admission.store.remember_fault(deployment_id, fault, seconds)
        except (RouterPluginError, OSError) as exc:  # a store that cannot be reached: the cooldown still holds
            logger.warning("configuration fault of %s not remembered: %s", model, exc)

    async def hold_back(
        self, admission: Admission | NullAdmission, plan: Plan, usable: list[Option], unhealthy: Collection[str]
    ) -> list[Option]:
        """``usable`` without the dearer tiers a remembered fault would escalate to; raises the fault's
        error when its tier has no other healthy deployment. Reads the store only when a deployment the
        plan would have used is cooling down."""
        if not unhealthy or not usable:
            return usable
        ahead = _cooling_ahead(plan, usable[0], unhealthy)
        if not ahead:
            return usable
        try:
            faults = await admission.faults([o.deployment.deployment_id for o in ahead])  # none without a store
        except StoreUnavailableError:
            return usable  # the admit that follows meets the same store and applies on_store_error
        faulted = next((o for o in ahead if o.deployment.deployment_id in faults), None)
        if faulted is None:
            return usable
        kept = [o for o in usable if o.deployment.tier == faulted.deployment.tier or o.downgrade]
        if kept:
            return kept
        fault = faults[faulted.deployment.deployment_id]
        raise _replay(faulted, fault)


def _cooling_ahead(plan: Plan, first: Option, unhealthy: Collection[str]) -> Sequence[Option]:
    """The options the plan puts before ``first`` that it skipped only because they are cooling down."""
    ahead = []
    for option in plan.options:
        if option is first:
            break
        if option.deployment.deployment_id in unhealthy and option.unmet is None and not option.downgrade:
            ahead.append(option)
    return ahead


def _replay(option: Option, fault: dict[str, str]) -> Exception:
    deployment = option.deployment
    message = (
        f"{deployment.model} (deployment {deployment.deployment_id}, tier {deployment.tier}) failed with a "
        f"configuration fault ({fault.get('kind')}) that a dearer tier cannot fix; no escalation while it cools "
        f"down ({fault.get('seconds')} s). Fix the deployment's settings (API key, permissions, model name). "
        f"Its error: {fault.get('message', '')}"
    )
    record = {"replay_as": fault.get("kind"), "exception_string": message, "model": deployment.model}
    return Attempts(fault=record).replay()
