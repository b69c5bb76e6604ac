"""``Cascade``: the pipeline run step by step, cheapest tier first, escalating while confidence is low.

Every call of a cascade (each sample, each retry, each fallback) is planned, admitted and settled
through the pipeline like any other request, so budgets count it and its deployment's breaker sees
it. Around that:

- **confidence**: after each step but the last, the configured checks (self-consistency of two
  samples, token logprobs, a verifier) run in order; the first that fails escalates a tier;
- **retries**: 429, 5xx, timeouts and connection errors are retried with tenacity (jittered
  exponential backoff, bounded attempts and time), each retry admitted again;
- **timeouts**: per tier (``resilience.tier_timeouts``);
- **fallbacks**: a deployment that fails for good is skipped for the rest of the request: the
  tier's next deployment, then the next tier;
- **``max_cost_usd``**: before every call its worst case (this request's prompt tokens, the
  ``max_tokens`` sent, LiteLLM's prices) is reserved against the cap; a call that does not fit is
  never made, so the charged total stays within the cap.

The outcome (``CascadeResult``) rides on ``response._hidden_params["router_cascade"]`` and is
logged as one JSON line (``event: cascade``) on the decision logger.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random_exponential

from litellm_router_plugin.errors import (
    BudgetExceededError,
    CircuitBreakerOpen,
    ConfigError,
    NoDeploymentAvailable,
    RouterPluginError,
    UnsupportedRequest,
)
from litellm_router_plugin.pipeline.attempts import is_config_fault
from litellm_router_plugin.pipeline.calls import call_deployment, usage_tokens
from litellm_router_plugin.pipeline.cascade_records import CASCADE_KEY, CallRecord, CascadeResult
from litellm_router_plugin.pipeline.cascade_settings import (
    CapReached,
    CostCap,
    Settings,
    TierFailed,
    cascade_requested,
    is_transient,
)
from litellm_router_plugin.pipeline.cascade_state import Climb, Run
from litellm_router_plugin.pipeline.confidence import (
    Check,
    Consistency,
    Logprobs,
    Needs,
    Verification,
    Verifier,
    first_failure,
    load_verifier,
    needs_of,
)
from litellm_router_plugin.pipeline.request import Request
from litellm_router_plugin.pricing import response_cost
from litellm_router_plugin.routing.decision import METADATA_KEY, decision_logger
from litellm_router_plugin.routing.tiers import Tier, TierDeployment

if TYPE_CHECKING:
    from litellm_router_plugin.pipeline.routed import Routed, RoutingHost

__all__ = [
    "CASCADE_KEY",
    "Cascade",
    "CascadeResult",
    "Settings",
    "cascade_requested",
]  # records, settings: their modules

logger = logging.getLogger(__name__)


class Cascade:
    """Runs one pipeline's requests as cascades (see the module docstring)."""

    def __init__(self, pipeline: RoutingHost, *, verifier: Verifier | Any | None = None) -> None:
        self.pipeline = pipeline
        self.config = pipeline.config
        self._verifier = verifier

    def verifier(self) -> Any:
        """The verifier passed in code, else the one ``cascade.verifier`` names."""
        if self._verifier is None and self.config.cascade.verifier is not None:
            self._verifier = load_verifier(self.config.cascade.verifier)
        return self._verifier

    def checks(self, settings: Settings) -> tuple[Check, ...]:
        """The request's confidence checks, in its order."""
        made: dict[str, Check] = {
            "consistency": Consistency(settings.consistency_threshold, settings.sample_temperature),
            "logprobs": Logprobs(settings.logprob_threshold),
        }
        if "verifier" in settings.checks:
            made["verifier"] = Verification(self.verifier(), settings.verifier_threshold)
        return tuple(made[name] for name in settings.checks)

    # -- the ladder -------------------------------------------------------------------------
    async def ladder(self, request: Request) -> tuple[Any, list[Tier]]:
        """The plan of the request and the tiers to climb: from the routed (or cheapest) tier up to
        the strongest the request may use."""
        planner = self.pipeline.planner
        plan = planner.plan(await planner.analyse(request.prompt), request)
        top = plan.route.tiers[-1].rank
        tiers = self.pipeline.tier_map.tiers
        if self.config.cascade.start == "cheapest":
            low = request.overrides.min_tier
            first = self.pipeline.tier_map[low].rank if low is not None else 0
        else:
            first = plan.route.tiers[0].rank
        return plan, list(tiers[first : top + 1])

    # -- one request ------------------------------------------------------------------------
    async def acompletion(self, request: Request) -> Any:
        """Run the cascade of ``request`` (read by ``Pipeline.request``); return the final answer with
        the result on ``_hidden_params``."""
        settings = Settings.of(self.config.cascade, request.overrides)
        if "verifier" in settings.checks and self.verifier() is None:
            raise ConfigError(
                "cascade.verifier", None, "The verifier check needs a verifier: set cascade.verifier or pass one."
            )
        plan, ladder = await self.ladder(request)
        metadata = dict(request.call.get("metadata") or {})
        kwargs = {k: v for k, v in request.call.items() if k != "metadata"}
        if settings.max_cost_usd is not None and not request.max_tokens_asked:
            kwargs["max_tokens"] = plan.max_tokens  # the provider then bounds what the estimate assumed
            asked = {**request.call, "max_tokens": plan.max_tokens}
            request = dataclasses.replace(request, call=asked, max_tokens_asked=True)
        run = Run(
            list(request.messages or []),
            kwargs,
            metadata,
            settings,
            self.checks(settings),
            CostCap(settings.max_cost_usd),
            plan.max_tokens,
            plan.prompt_tokens,
            time.perf_counter(),
            request,
        )
        return await self._climb(run, ladder)

    async def _climb(self, run: Run, ladder: list[Tier]) -> Any:
        climb = Climb()
        for i, tier in enumerate(ladder):
            needs = Needs() if i == len(ladder) - 1 else needs_of(run.checks)  # the last step is not checked
            try:
                responses = await self._step(run, i, tier, needs)
            except (CapReached, BudgetExceededError, TierFailed) as exc:
                if self._stops(climb, run, exc, ladder, i):
                    break
                continue
            if await self._answered(climb, run, responses, ladder, i):
                break
        if climb.best is None:
            assert climb.last_error is not None
            raise climb.last_error
        if len(climb.answered) > 1 and self.pipeline.learner is not None:
            self.pipeline.learner.cascade_outcome(run.messages, climb.answered)
        return self._finish(run, climb)

    def _stops(self, climb: Climb, run: Run, exc: Exception, ladder: list[Tier], i: int) -> bool:
        """After a step that gave no answer: whether the cascade stops (with the best answer so far);
        raises when there is none."""
        best, tier = climb.best, ladder[i]
        if isinstance(exc, CapReached):
            if best is None:
                raise BudgetExceededError(
                    "request", "per_request", run.cap.limit or 0.0, run.cap.spent, 0.0, exc.cheapest
                ).with_note(f"max_cost_usd of the cascade: {exc}") from None
            climb.stop("cost_cap", best[1].name, "cost_cap", str(exc))
            return True
        if isinstance(exc, BudgetExceededError):  # a daily budget ran out mid-cascade: keep what we have
            if best is None:
                raise exc
            climb.stop("budget", best[1].name, "budget", str(exc))
            return True
        assert isinstance(exc, TierFailed)
        climb.tried.append(tier.name)
        climb.last_error = exc.cause
        if not self.config.resilience.fallback or i == len(ladder) - 1:
            if best is None:
                raise exc.cause from None
            climb.stop("failed", tier.name, "fallback", str(exc))
            return True
        climb.escalate(tier.name, ladder[i + 1].name, detail=str(exc))
        return False

    async def _answered(self, climb: Climb, run: Run, responses: list[Any], ladder: list[Tier], i: int) -> bool:
        """After a step that answered: keep it as the best, run the checks; whether the cascade stops."""
        tier, last = ladder[i], i == len(ladder) - 1
        climb.tried.append(tier.name)
        climb.best = (responses[0], tier)
        model = next((c.model for c in reversed(run.calls) if c.step == i and c.status == "ok"), tier.name)
        if last or not run.checks:
            climb.answered.append((model, None))
            climb.stopped = "strongest" if last else "no_checks"
            return True
        failed = await first_failure(run.checks, run.messages, responses)
        climb.answered.append((model, 1.0 if failed[0] is None else min(1.0, max(0.0, failed[0].value or 0.0))))
        climb.checks += [r.as_dict() | {"tier": tier.name} for r in failed[1]]
        if failed[0] is None:
            climb.stopped = "confident"
            return True
        climb.escalate(tier.name, ladder[i + 1].name, failed[0])
        return False

    # -- one step: its samples, each with retries and fallbacks ------------------------------
    async def _step(self, run: Run, index: int, tier: Tier, needs: Needs) -> list[Any]:
        """``needs.samples`` answers from ``tier``. The step's worst case (every sample on the dearest
        deployment that fits) is reserved against the cap before the first call; failed attempts
        are charged nothing, so retries and fallbacks within the tier stay inside it."""
        available, samples = run.cap.available(), needs.samples
        usable = [d for d in tier.deployments if d.deployment_id not in run.failed]
        allowed = [d for d in usable if self._estimate(run, d) * samples <= available + 1e-12]
        if not allowed:
            if not usable:
                raise TierFailed(tier.name, NoDeploymentAvailable([tier.name], "every deployment failed earlier"))
            raise CapReached(tier.name, available, min(self._estimate(run, d) for d in usable) * samples)
        too_dear = {d.deployment_id for d in tier.deployments} - {d.deployment_id for d in allowed}
        reserved = max(self._estimate(run, d) for d in allowed) * samples
        run.cap.take(reserved)
        try:
            calls = [self._resilient(run, index, tier, too_dear, needs) for _ in range(samples)]
            # every sample ends (and is charged) before the step's reservation is released
            answers = await asyncio.gather(*calls, return_exceptions=True)
            for answer in answers:
                if isinstance(answer, BaseException):
                    raise answer
            return list(answers)
        finally:
            run.cap.release(reserved, sum(c.cost_usd for c in run.calls if c.step == index))

    def _estimate(self, run: Run, deployment: TierDeployment) -> float:
        """The worst case of one call: this request's prompt tokens (the largest count seen) and
        ``max_tokens``, at the deployment's LiteLLM price."""
        return deployment.price.estimate(run.prompt_tokens, run.max_tokens)

    async def _resilient(self, run: Run, index: int, tier: Tier, too_dear: set[str], needs: Needs) -> Any:
        """One answer from ``tier``: retries on a deployment, then the tier's next deployment."""
        resilience = self.config.resilience
        last_error: BaseException | None = None
        blamed: str | None = None  # the deployment the latest attempt called
        while True:
            try:
                retrying = AsyncRetrying(
                    stop=stop_after_attempt(resilience.retries + 1) | stop_after_delay(resilience.retry_budget_seconds),
                    wait=wait_random_exponential(
                        multiplier=resilience.backoff_seconds, max=resilience.backoff_max_seconds
                    ),
                    retry=retry_if_exception(is_transient),
                    reraise=True,
                )
                async for attempt in retrying:
                    with attempt:
                        blamed = None
                        routed = await self.pipeline.route(run.request.for_tier(tier.name, run.failed | too_dear))
                        blamed = routed.deployment.deployment_id
                        return await self._call(run, index, routed, needs)
            except (CircuitBreakerOpen, NoDeploymentAvailable, UnsupportedRequest) as exc:
                raise TierFailed(tier.name, last_error or exc) from exc
            except Exception as exc:
                if isinstance(exc, RouterPluginError) or blamed is None or not resilience.fallback:
                    raise
                if not (is_transient(exc) or is_config_fault(exc)):
                    raise
                run.failed.add(blamed)
                last_error = exc
                if all(d.deployment_id in run.failed | too_dear for d in tier.deployments):
                    if is_config_fault(exc):
                        raise  # a dearer tier cannot fix credentials or a bad request
                    raise TierFailed(tier.name, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(self, run: Run, index: int, routed: Routed, needs: Needs) -> Any:
        """Call the admitted deployment as ``needs`` asks, settle its ticket (success or error), record the call."""
        deployment = routed.deployment
        resilience = self.config.resilience
        timeout = resilience.tier_timeouts.get(deployment.tier, resilience.timeout_seconds)
        asked = {**deployment.litellm_params, **run.call_kwargs}.get("timeout")
        if isinstance(asked, int | float) and 0 < asked < timeout:
            timeout = float(asked)
        kwargs = {**run.call_kwargs, "timeout": timeout, "max_retries": 0, "num_retries": 0}
        if needs.logprobs:
            kwargs["logprobs"] = True
        if needs.temperature is not None and "temperature" not in run.call_kwargs:
            kwargs["temperature"] = needs.temperature
        estimate = self._estimate(run, deployment)
        start = time.perf_counter()
        try:
            response = await call_deployment(
                self.pipeline.settle, routed, run.messages, kwargs, run.metadata, deadline=timeout + 5
            )
        except BaseException as exc:
            run.calls.append(self._record(index, routed, f"error:{type(exc).__name__}", None, estimate, 0.0, start))
            raise
        usage = getattr(response, "usage", None)
        actual = response_cost(response, deployment.model, deployment.price)  # LiteLLM's figure
        if routed.ticket is not None:
            await self.pipeline.settle(routed.ticket, usage=usage, cost=actual)
        prompt, completion = usage_tokens(usage)
        charged = actual if actual is not None else deployment.price.estimate(prompt, completion)
        run.prompt_tokens = max(run.prompt_tokens, prompt)  # later estimates use the provider's count
        run.calls.append(self._record(index, routed, "ok", usage, estimate, charged, start))
        run.decisions[index] = routed.decision.model_dump(mode="json")
        return response

    @staticmethod
    def _record(
        index: int, routed: Routed, status: str, usage: Any, estimate: float, charged: float, start: float
    ) -> CallRecord:
        prompt, completion = usage_tokens(usage)
        return CallRecord(
            step=index,
            tier=routed.deployment.tier,
            model=routed.deployment.model,
            deployment_id=routed.deployment.deployment_id,
            status=status,
            prompt_tokens=prompt,
            completion_tokens=completion,
            estimated_cost_usd=estimate,
            cost_usd=charged,
            latency_ms=round((time.perf_counter() - start) * 1000, 3),
        )

    def _finish(self, run: Run, climb: Climb) -> Any:
        response, result, final = climb.result(run, getattr(self.pipeline, "policy_version", None))
        hidden = getattr(response, "_hidden_params", None)
        if isinstance(hidden, dict):
            hidden[CASCADE_KEY] = result.model_dump(mode="json")
            step = max((c.step for c in final), default=None)
            if step is not None and step in run.decisions:
                hidden[METADATA_KEY] = run.decisions[step]
        if decision_logger.isEnabledFor(logging.INFO):
            record = {"event": "cascade", **result.model_dump(mode="json", exclude={"calls"})}
            record["calls"] = [c.model_dump(mode="json") for c in run.calls]
            decision_logger.info(json.dumps(record, sort_keys=True))
        return response
