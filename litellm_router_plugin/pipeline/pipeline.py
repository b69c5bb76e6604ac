"""``Pipeline``: plan -> admit -> call -> settle, the one request path every entry point uses.

Every entry point reads its request once (``request``: a ``pipeline.request.Request``). The Router
strategy and the proxy run ``route`` (plan and admit) inside LiteLLM's Router, which makes the call;
LiteLLM's hooks then ``settle`` the ticket. ``acompletion`` (ours, and
``litellm.acompletion(model="router/<alias>")`` through the custom provider) runs all four steps here.
Errors settle through the same ``settle`` as successes.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
import weakref
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from litellm_router_plugin import metrics
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import BudgetExceededError, RouterPluginError
from litellm_router_plugin.guards.admission import Admission, NullAdmission, Offer
from litellm_router_plugin.guards.breaker import outcome_of
from litellm_router_plugin.guards.budget import Hold
from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.pipeline.attempts import is_config_fault
from litellm_router_plugin.pipeline.calls import call_deployment, usage_tokens
from litellm_router_plugin.pipeline.cascade import Cascade
from litellm_router_plugin.pipeline.faults import ConfigFaults
from litellm_router_plugin.pipeline.policy import Policy, PolicyWatcher, build_policy, config_version
from litellm_router_plugin.pipeline.request import CascadeTarget, NamedTarget, Request, Target, read_target
from litellm_router_plugin.pipeline.routed import LearnerHook, Routed
from litellm_router_plugin.pipeline.ticket import Ticket
from litellm_router_plugin.routing.decision import (
    RoutingDecision,
    decision_logger,
)
from litellm_router_plugin.routing.plan import Option, Plan
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.routing.tiers import TierDeployment, TierMap

logger = logging.getLogger(__name__)

_PROXY_SERVER = "litellm.proxy.proxy_server"

_PIPELINES: weakref.WeakValueDictionary[str, Pipeline] = weakref.WeakValueDictionary()


__all__ = ["LearnerHook", "Pipeline", "Routed", "run_without_loop"]  # Routed and LearnerHook live in routed.py


def run_without_loop(coro: Any) -> Any:
    """Run a coroutine that never suspends (the memory store's) from synchronous code."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RouterPluginError(
        "Router.completion (synchronous) cannot reach a Redis store for budgets and breakers; "
        "use Router.acompletion, or store.kind: memory."
    )


def _savings_baseline(tier_map: TierMap) -> TierDeployment | None:
    """The strongest tier's cheapest deployment, named in LiteLLM's decision as the baseline of its
    savings figure; inside the proxy only: outside it, LiteLLM's savings calculation imports the
    whole proxy server (seconds, once per process) to look for a router that is not there."""
    if _PROXY_SERVER not in sys.modules:
        return None
    return min(tier_map.strongest.deployments, key=lambda d: d.price.estimate(1000, 1000))


def _mocked(request: Mapping[str, Any], deployment: TierDeployment) -> bool:
    """Whether the call will be answered by LiteLLM's ``mock_response`` (the caller's or the deployment's)."""
    return request.get("mock_response") is not None or deployment.litellm_params.get("mock_response") is not None


class Pipeline:
    """Plans, admits and settles requests for one ``PluginConfig``."""

    def __init__(
        self,
        config: PluginConfig | Mapping[str, Any] | str | Path | None = None,
        *,
        planner: Planner | None = None,
        admission: Admission | None = None,
    ) -> None:
        loaded = planner.config if planner is not None else PluginConfig.load(config)
        self.watcher = PolicyWatcher.watch(self, config, loaded) if planner is None else None
        version = self.watcher.version if self.watcher is not None else config_version(loaded)
        self.policy: Policy = build_policy(loaded, version, planner=planner, admission=admission)
        """The running policy, replaced whole on a reload (``pipeline.policy``) or a learned model's adoption."""
        self.id = uuid.uuid4().hex
        self.faults = ConfigFaults()
        self.learner: LearnerHook | None = None
        """The learning loop, attached by ``online.learner.Learner.attach`` (``learning`` settings)."""
        _PIPELINES[self.id] = self

    # The running policy's parts, for readers (a reload swaps ``policy``; nothing assigns these).
    @property
    def config(self) -> PluginConfig:
        """The running policy's configuration."""
        return self.policy.config

    @property
    def planner(self) -> Planner:
        """The running policy's planner."""
        return self.policy.planner

    @property
    def tier_map(self) -> TierMap:
        """The running policy's tiers."""
        return self.policy.tier_map

    @property
    def policy_version(self) -> str:
        """The running policy's version (stamped on every decision)."""
        return self.policy.version

    @property
    def admission(self) -> Admission | None:
        """The running policy's budgets and breakers (``None`` when neither is on)."""
        admission = self.policy.admission
        return admission if admission.enabled else None

    def admit_every_request(self) -> None:
        """Admit every request even without configured limits, now and after every reload (the proxy:
        LiteLLM's key, user and team budgets arrive with each request)."""
        policy = self.policy
        self.policy = build_policy(
            policy.config,
            policy.version,
            previous=policy,
            planner=policy.planner,
            admission=self.admission,
            admit_always=True,
        )

    @staticmethod
    def lookup(pipeline_id: str) -> Pipeline | None:
        """The live pipeline with this id: LiteLLM's process-wide hooks find it from a ticket."""
        return _PIPELINES.get(pipeline_id)

    @property
    def alias(self) -> str:
        """The model name that triggers routing."""
        return self.config.alias

    def request(
        self,
        call: Mapping[str, Any],
        *,
        model: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        input: Any = None,
        unhealthy: Collection[str] = (),
    ) -> Request:
        """Read a request once, under the current policy (``pipeline.request``): every entry point's
        one constructor. ``model``: the name the caller asked for (``None``: the alias)."""
        policy = self.policy
        return Request.of(
            policy.config, policy.tier_map, call, model=model, messages=messages, input=input, unhealthy=unhealthy
        )

    def target(self, call: Mapping[str, Any], model: str | None = None) -> Target:
        """What :meth:`request` would decide ``call`` targets, with the same errors, reading nothing else."""
        policy = self.policy
        return read_target(policy.config, policy.tier_map, call, model)

    async def refresh(self) -> None:
        """Adopt a changed policy and the learning loop's published model (before a request)."""
        if self.watcher is not None:
            await self.watcher.refresh()
        if self.learner is not None:
            await self.learner.refresh()

    # -- plan + admit ----------------------------------------------------------------------
    async def route(self, request: Request) -> Routed:
        """Plan the request (classifying its prompt, the one awaited step) and admit the first option it can."""
        await self.refresh()
        return await self._route(request)

    async def _route(self, request: Request) -> Routed:
        # One policy for the whole request, read once: another request's refresh may swap it while the
        # classifier is awaited, and the plan, its admission and its decision must not mix two versions.
        policy = self.policy
        planner = policy.planner
        plan = planner.plan(await planner.analyse(request.prompt), request)
        return await self._admit(policy, plan, request)

    async def _admit(self, policy: Policy, plan: Plan, request: Request) -> Routed:
        attempts, unhealthy, admission = request.attempts, request.unhealthy, policy.admission
        within = None
        if attempts.fault is not None:
            failed = policy.tier_map.deployment(str(attempts.fault["deployment_id"]))
            within = failed.tier if failed is not None else None
        try:
            usable = plan.usable(
                unhealthy=unhealthy, avoid=attempts.failed, within_tier=within, downgrade=admission.budgets_on
            )
        except RouterPluginError:
            if attempts.fault is not None:
                raise attempts.replay() from None  # the caller gets the deployment's own error, no dearer tier
            raise
        if within is not None:
            usable = [o for o in usable if o.deployment.deployment_id not in attempts.failed]
            if not usable:
                raise attempts.replay()
        # No escalation past a remembered fault.
        usable = await self.faults.hold_back(admission, plan, usable, unhealthy)
        hold = await self._hold(admission, plan, usable, request.identity)
        chosen = usable[hold.index] if hold is not None else usable[0]
        refused = usable[: hold.index] if hold is not None else ()
        decision = self._decision(policy, plan, chosen, refused, unhealthy, request.tier or policy.config.alias)
        metrics.child(metrics.DECISIONS, decision.tier, decision.model).inc()
        metrics.child(metrics.ROUTING, decision.tier, metrics.reason_label(decision.reason)).inc()
        return self._routed(
            policy, hold, chosen.deployment, request.identity, decision, _mocked(request.call, chosen.deployment)
        )

    @staticmethod
    def _decision(
        policy: Policy,
        plan: Plan,
        chosen: Option,
        refused: Sequence[Option],
        unhealthy: Collection[str],
        requested: str,
    ) -> RoutingDecision:
        """The decision for ``chosen``, stamped with the version of ``policy``, and its log line."""
        decision = plan.decision(chosen, refused, unhealthy, requested_model=requested, policy_version=policy.version)
        decision.log(plan.prompt, include_prompt=policy.config.log_prompts)
        return decision

    @staticmethod
    async def _hold(
        admission: Admission | NullAdmission, plan: Plan, usable: Sequence[Option], identity: Identity
    ) -> Hold | None:
        offers = [Offer(o.estimate, o.deployment.deployment_id) for o in usable]
        try:
            return await admission.admit(offers, identity)  # None: nothing to hold
        except BudgetExceededError as exc:
            if plan.max_tokens_defaulted:
                raise exc.with_note(
                    f"The estimate assumed {plan.max_tokens} completion tokens (default_max_tokens) because the "
                    "request set no max_tokens; set max_tokens to what you need to lower it"
                ) from None
            raise

    def _routed(
        self,
        policy: Policy,
        hold: Hold | None,
        deployment: TierDeployment,
        identity: Identity,
        decision: RoutingDecision,
        mocked: bool = False,
    ) -> Routed:
        """The admitted request: its decision, and the ticket its settlement needs (none without admission)."""
        baseline = _savings_baseline(policy.tier_map)
        if hold is None:
            return Routed(decision, deployment, None, baseline)
        ticket = Ticket(
            pipeline=self.id,
            request_id=hold.request_id,
            deployment_id=deployment.deployment_id,
            model=deployment.model,
            tier=deployment.tier,
            input_cost_per_token=deployment.price.input_per_token,
            output_cost_per_token=deployment.price.output_per_token,
            identity=identity,
            breaker=deployment.deployment_id if policy.config.breaker.enabled else None,
            probe=hold.probe,
            unaccounted=hold.unaccounted,
            reason=decision.reason,
            mocked=mocked,
            priced_by=deployment.price.source,
            soft=hold.soft,
            spent_ttl_s=hold.spent_ttl_s,
        )
        return Routed(decision, deployment, ticket, baseline)

    async def admit_named(self, request: Request, entry: Mapping[str, Any], requested: str) -> Routed:
        """Admit a call to a Router deployment named by the caller (not routed): priced from that
        deployment, charged to the same budgets, guarded by its breaker, with its own decision."""
        policy = self.policy  # one policy for the whole request, as in ``_route``
        plan = policy.planner.plan_named(policy.named.resolve(entry), request)
        option = plan.options[0]
        hold = await self._hold(policy.admission, plan, [option], request.identity)
        decision = self._decision(policy, plan, option, (), (), requested)
        return self._routed(
            policy, hold, option.deployment, request.identity, decision, _mocked(request.call, option.deployment)
        )

    def _named_entry(self, model: str) -> dict[str, Any]:
        """The Router-style entry for a model called by name outside a Router: a tier deployment of
        that model when there is one (its credentials, price and breaker), else the bare model."""
        for tier in self.tier_map.tiers:
            for deployment in tier.deployments:
                if deployment.model == model:
                    return deployment.router_entry()
        return {"model_name": model, "litellm_params": {"model": model}}

    # -- settle ----------------------------------------------------------------------------
    async def settle(
        self, ticket: Ticket, *, usage: Any = None, error: BaseException | None = None, cost: float | None = None
    ) -> None:
        """Charge the actual cost, once, and feed the deployment's breaker. Never raises.

        ``cost``: LiteLLM's ``response_cost`` of the call (see ``pricing.response_cost``); without
        it, usage x the deployment's price. A failed call costs 0."""
        policy = self.policy
        admission = policy.admission
        if ticket.unaccounted or not admission.enabled:
            return  # nothing was held (or budgets and breakers are off since)
        prompt, completion = usage_tokens(usage)
        actual = cost if cost is not None else ticket.cost(prompt, completion)
        actual = 0.0 if error is not None else actual
        now = admission.guard.clock.now()
        strongest = round(policy.tier_map.strongest_estimate(prompt, completion) * 1_000_000)
        day = datetime.fromtimestamp(now, admission.guard.tz).date().isoformat()
        status = "ok" if error is None else f"error:{type(error).__name__}"
        row = ticket.ledger_row(now, day, (prompt, completion), strongest, status)
        if error is not None and is_config_fault(error):
            event = {"event": "config_fault", "model": ticket.model, "tier": ticket.tier, "error": type(error).__name__}
            decision_logger.warning(json.dumps(event, sort_keys=True))
        metrics.child(metrics.SPEND, ticket.tier, ticket.model).inc(actual)
        metrics.child(metrics.STRONGEST, ticket.tier, ticket.model).inc(strongest / 1_000_000)
        await admission.settle(
            ticket.request_id,
            actual,
            ledger=row,
            outcome=outcome_of(error, policy.config.breaker.failure_status_codes),
            breaker=ticket.breaker,
            probe=ticket.probe,
            report_overrun=not ticket.mocked,
            soft=ticket.soft,
            spent_ttl_s=ticket.spent_ttl_s,
        )
        if error is not None:
            await self.faults.record(admission, policy.tier_map, ticket.deployment_id, ticket.model, error)

    # -- the whole path, for callers outside LiteLLM's Router --------------------------------
    async def acompletion(self, messages: list[Any] | None = None, *, model: str | None = None, **kwargs: Any) -> Any:
        """Route, admit, call the chosen deployment with ``litellm.acompletion``; LiteLLM's hooks
        (``integrations.hooks.DecisionHook``, registered by the caller) settle it, streams included.
        ``model``: as a caller names it (``None``: the alias; see ``pipeline.request`` for what each
        kind of name does). A cascade (``metadata.router.cascade`` or ``cascade.enabled``) runs the
        steps in ``pipeline.cascade``."""
        verifier = kwargs.pop("cascade_verifier", None)
        await self.refresh()  # before the request is read and the cascade reads the policy
        request = self.request(kwargs, model=model, messages=messages)
        target = request.target
        if isinstance(target, CascadeTarget):
            return await Cascade(self, verifier=verifier).acompletion(request)
        if isinstance(target, NamedTarget):
            routed = await self.admit_named(request, self._named_entry(target.model), target.model)
        else:
            routed = await self._route(request)  # the policy was refreshed above
        metadata = kwargs.get("metadata") or {}
        call = {k: v for k, v in kwargs.items() if k != "metadata"}  # kwargs is request.call: left as read
        return await call_deployment(self.settle, routed, messages or [], call, metadata)
