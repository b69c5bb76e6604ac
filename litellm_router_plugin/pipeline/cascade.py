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
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random_exponential

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import OVERRIDES_KEY, CascadeConfig, CheckName
from litellm_router_plugin.errors import (
    BudgetExceededError,
    CircuitBreakerOpen,
    ConfigError,
    NoDeploymentAvailable,
    RouterPluginError,
    UnsupportedRequest,
    checked_amount,
)
from litellm_router_plugin.guards.breaker import counts_as_failure
from litellm_router_plugin.pipeline.attempts import is_config_fault
from litellm_router_plugin.pipeline.confidence import (
    CheckResult,
    Verifier,
    answer_text,
    check_consistency,
    check_logprobs,
    check_verifier,
    load_verifier,
)
from litellm_router_plugin.pricing import response_cost
from litellm_router_plugin.routing.decision import METADATA_KEY, decision_logger
from litellm_router_plugin.routing.tiers import Tier, TierDeployment

if TYPE_CHECKING:
    from litellm_router_plugin.pipeline.routed import Routed, RoutingHost

logger = logging.getLogger(__name__)

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
@dataclass(frozen=True, slots=True)
class Settings:
    """The cascade settings of one request: the config, overridden by ``metadata.router``."""

    checks: tuple[CheckName, ...]
    consistency_threshold: float
    logprob_threshold: float
    verifier_threshold: float
    max_cost_usd: float | None
    sample_temperature: float | None

    @classmethod
    def of(cls, config: CascadeConfig, overrides: Mapping[str, Any]) -> Settings:
        """``config`` with a request's overrides (``max_cost_usd`` may only lower the configured cap)."""
        cap = config.max_cost_usd
        asked = overrides.get("max_cost_usd")
        if asked is not None:
            asked = checked_amount(f"metadata.{OVERRIDES_KEY}.max_cost_usd", asked)
            cap = asked if cap is None else min(cap, asked)
        checks = overrides.get("checks", config.checks)
        allowed = ("consistency", "logprobs", "verifier")
        if not isinstance(checks, list | tuple) or any(c not in allowed for c in checks):
            raise ConfigError(f"metadata.{OVERRIDES_KEY}.checks", checks, f"Give a list of: {', '.join(allowed)}.")
        return cls(
            tuple(checks),
            _fraction(overrides, "consistency_threshold", config.consistency_threshold),
            _fraction(overrides, "logprob_threshold", config.logprob_threshold),
            _fraction(overrides, "verifier_threshold", config.verifier_threshold),
            cap,
            config.sample_temperature,
        )


def _fraction(overrides: Mapping[str, Any], key: str, default: float) -> float:
    value = overrides.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"metadata.{OVERRIDES_KEY}.{key}", value, "Use a number between 0 and 1.")
    return float(value)


def overrides_of(request: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request's ``metadata.router`` mapping (empty when absent)."""
    metadata = request.get("metadata")
    raw = metadata.get(OVERRIDES_KEY) if isinstance(metadata, Mapping) else None
    return raw if isinstance(raw, Mapping) else {}


def cascade_requested(config: CascadeConfig, request: Mapping[str, Any]) -> bool:
    """Whether this request cascades: ``metadata.router.cascade`` if given, else ``cascade.enabled``.

    A stream cannot be checked before it is sent: it cascades only when asked explicitly, and then
    it is refused (``ConfigError``)."""
    asked = overrides_of(request).get("cascade")
    if asked is not None and not isinstance(asked, bool):
        raise ConfigError(f"metadata.{OVERRIDES_KEY}.cascade", asked, "Use true or false.")
    if request.get("stream"):
        if asked:
            raise ConfigError("stream", True, "A cascade checks whole answers; send stream: false to cascade.")
        return False
    return bool(config.enabled if asked is None else asked)


# -- the cost cap ------------------------------------------------------------------------------
@dataclass(slots=True)
class CostCap:
    """``max_cost_usd`` of one request: charged so far, plus the worst case of calls in flight."""

    limit: float | None
    spent: float = 0.0
    outstanding: float = 0.0

    def available(self) -> float:
        """What a new call may still cost."""
        return math.inf if self.limit is None else self.limit - self.spent - self.outstanding

    def take(self, estimate: float) -> bool:
        """Reserve ``estimate`` if it fits."""
        if estimate > self.available() + 1e-12:
            return False
        self.outstanding += estimate
        return True

    def release(self, estimate: float, charged: float) -> None:
        """A call ended: drop its reservation and count what it was charged."""
        self.outstanding -= estimate
        self.spent += charged


class CapReached(RouterPluginError):
    """No deployment of the tier fits what is left of ``max_cost_usd``: the call is not made."""

    def __init__(self, tier: str, available: float, cheapest: float) -> None:
        self.tier = tier
        self.available = available
        self.cheapest = cheapest
        super().__init__(
            f"max_cost_usd: the {tier} tier's cheapest call may cost ${cheapest:.6f}, "
            f"${max(available, 0):.6f} is left of the cap"
        )


class TierFailed(RouterPluginError):
    """Every deployment of a tier failed (errors, open breakers); ``cause`` is the last error."""

    def __init__(self, tier: str, cause: BaseException) -> None:
        self.tier = tier
        self.cause = cause
        super().__init__(f"tier {tier} failed: {type(cause).__name__}: {cause}")


def is_transient(error: BaseException) -> bool:
    """429, 5xx, timeouts and connection errors of a provider (never our own refusals)."""
    return not isinstance(error, RouterPluginError) and counts_as_failure(error)


@dataclass(slots=True)
class _Run:
    """The mutable state of one cascade."""

    messages: list[Any]
    call_kwargs: dict[str, Any]
    metadata: dict[str, Any]
    settings: Settings
    cap: CostCap
    max_tokens: int
    prompt_tokens: int
    started: float
    calls: list[CallRecord] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    decisions: dict[int, dict[str, Any]] = field(default_factory=dict)


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

    # -- the ladder -------------------------------------------------------------------------
    async def ladder(self, messages: Sequence[Mapping[str, Any]], request: Mapping[str, Any]) -> tuple[Any, list[Tier]]:
        """The plan of the request and the tiers to climb: from the routed (or cheapest) tier up to
        the strongest the request may use."""
        plan = await self.pipeline.planner.plan(messages, request)
        top = plan.route.tiers[-1].rank
        tiers = self.pipeline.tier_map.tiers
        if self.config.cascade.start == "cheapest":
            low = self.pipeline.planner._tier(overrides_of(request), "min_tier")
            first = low.rank if low is not None else 0
        else:
            first = plan.route.tiers[0].rank
        return plan, list(tiers[first : top + 1])

    # -- one request ------------------------------------------------------------------------
    async def acompletion(self, messages: list[Any] | None = None, **kwargs: Any) -> Any:
        """Run the cascade; return the final answer with the result on ``_hidden_params``."""
        messages = messages or []
        verifier = kwargs.pop("cascade_verifier", None)
        if verifier is not None:
            self._verifier = verifier
        settings = Settings.of(self.config.cascade, overrides_of(kwargs))
        if "verifier" in settings.checks and self.verifier() is None:
            raise ConfigError(
                "cascade.verifier", None, "The verifier check needs a verifier: set cascade.verifier or pass one."
            )
        plan, ladder = await self.ladder(messages, kwargs)
        metadata = dict(kwargs.pop("metadata", None) or {})
        if settings.max_cost_usd is not None and self.pipeline.planner.requested_max_tokens(kwargs) is None:
            kwargs["max_tokens"] = plan.max_tokens  # the provider then bounds what the estimate assumed
        run = _Run(
            messages,
            kwargs,
            metadata,
            settings,
            CostCap(settings.max_cost_usd),
            plan.max_tokens,
            plan.prompt_tokens,
            time.perf_counter(),
        )
        return await self._climb(run, ladder)

    async def _climb(self, run: _Run, ladder: list[Tier]) -> Any:
        settings = run.settings
        escalations: list[Escalation] = []
        checks: list[dict[str, Any]] = []
        tried: list[str] = []
        answered: list[tuple[str, float | None]] = []  # (model, quality) per answered step, for learning
        best: tuple[Any, Tier] | None = None
        stopped: Stop = "strongest"
        last_error: BaseException | None = None
        for i, tier in enumerate(ladder):
            last = i == len(ladder) - 1
            samples = 2 if "consistency" in settings.checks and not last else 1
            try:
                responses = await self._step(run, i, tier, samples, last)
            except CapReached as exc:
                if best is None:
                    raise BudgetExceededError(
                        "request", "per_request", run.cap.limit or 0.0, run.cap.spent, 0.0, exc.cheapest
                    ).with_note(f"max_cost_usd of the cascade: {exc}") from None
                escalations.append(Escalation(from_tier=best[1].name, to_tier=None, check="cost_cap", detail=str(exc)))
                stopped = "cost_cap"
                break
            except BudgetExceededError as exc:  # a daily budget ran out mid-cascade: keep what we have
                if best is None:
                    raise
                escalations.append(
                    Escalation(from_tier=best[1].name, to_tier=None, check="budget", detail=str(exc)[:200])
                )
                stopped = "budget"
                break
            except TierFailed as exc:
                tried.append(tier.name)
                last_error = exc.cause
                if not self.config.resilience.fallback or last:
                    if best is None:
                        raise exc.cause from None
                    escalations.append(
                        Escalation(from_tier=tier.name, to_tier=None, check="fallback", detail=str(exc)[:200])
                    )
                    stopped = "failed"
                    break
                next_tier = ladder[i + 1].name
                escalations.append(
                    Escalation(from_tier=tier.name, to_tier=next_tier, check="fallback", detail=str(exc)[:200])
                )
                continue
            tried.append(tier.name)
            best = (responses[0], tier)
            model = next((c.model for c in reversed(run.calls) if c.step == i and c.status == "ok"), tier.name)
            if last or not settings.checks:
                answered.append((model, None))
                stopped = "strongest" if last else "no_checks"
                break
            failed = await self._judge(run, responses)
            answered.append((model, 1.0 if failed[0] is None else min(1.0, max(0.0, failed[0].value or 0.0))))
            checks += [r.as_dict() | {"tier": tier.name} for r in failed[1]]
            if failed[0] is None:
                stopped = "confident"
                break
            escalations.append(
                Escalation(
                    from_tier=tier.name,
                    to_tier=ladder[i + 1].name,
                    check=failed[0].check,
                    value=failed[0].value,
                    threshold=failed[0].threshold,
                    detail=failed[0].detail,
                )
            )
        if best is None:
            assert last_error is not None
            raise last_error
        if len(answered) > 1 and self.pipeline.learner is not None:
            self.pipeline.learner.cascade_outcome(run.messages, answered)
        return self._finish(run, best, tried, escalations, checks, stopped)

    async def _judge(self, run: _Run, responses: list[Any]) -> tuple[CheckResult | None, list[CheckResult]]:
        """Run the checks in order; the first that fails, and every result made."""
        settings = run.settings
        results: list[CheckResult] = []
        for name in settings.checks:
            if name == "consistency":
                result = check_consistency(responses[0], responses[1], settings.consistency_threshold)
            elif name == "logprobs":
                result = check_logprobs(responses[0], settings.logprob_threshold)
            else:
                result = await check_verifier(
                    self.verifier(), run.messages, answer_text(responses[0]), settings.verifier_threshold
                )
            results.append(result)
            if not result.passed:
                return result, results
        return None, results

    # -- one step: its samples, each with retries and fallbacks ------------------------------
    async def _step(self, run: _Run, index: int, tier: Tier, samples: int, last: bool) -> list[Any]:
        """``samples`` answers from ``tier``. The step's worst case (every sample on the dearest
        deployment that fits) is reserved against the cap before the first call; failed attempts
        are charged nothing, so retries and fallbacks within the tier stay inside it."""
        available = run.cap.available()
        usable = [d for d in tier.deployments if d.deployment_id not in run.failed]
        allowed = [d for d in usable if self._estimate(run, d) * samples <= available + 1e-12]
        if not allowed:
            if not usable:
                raise TierFailed(tier.name, NoDeploymentAvailable([tier.name], "every deployment failed earlier"))
            raise CapReached(tier.name, available, min(self._estimate(run, d) for d in usable) * samples)
        too_dear = {d.deployment_id for d in tier.deployments} - {d.deployment_id for d in allowed}
        reserved = max(self._estimate(run, d) for d in allowed) * samples
        run.cap.take(reserved)
        temperature = run.settings.sample_temperature if samples > 1 else None
        logprobs = "logprobs" in run.settings.checks and not last
        try:
            calls = [self._resilient(run, index, tier, too_dear, temperature, logprobs) for _ in range(samples)]
            # every sample ends (and is charged) before the step's reservation is released
            answers = await asyncio.gather(*calls, return_exceptions=True)
            for answer in answers:
                if isinstance(answer, BaseException):
                    raise answer
            return list(answers)
        finally:
            run.cap.release(reserved, sum(c.cost_usd for c in run.calls if c.step == index))

    def _estimate(self, run: _Run, deployment: TierDeployment) -> float:
        """The worst case of one call: this request's prompt tokens (the largest count seen) and
        ``max_tokens``, at the deployment's LiteLLM price."""
        return deployment.price.estimate(run.prompt_tokens, run.max_tokens)

    async def _resilient(
        self, run: _Run, index: int, tier: Tier, too_dear: set[str], temperature: float | None, logprobs: bool
    ) -> Any:
        """One answer from ``tier``: retries on a deployment, then the tier's next deployment."""
        resilience = self.config.resilience
        last_error: BaseException | None = None
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
                        routed = await self.pipeline.route(
                            {**run.call_kwargs, "metadata": run.metadata},
                            run.messages,
                            tier=tier.name,
                            unhealthy=run.failed | too_dear,
                        )
                        return await self._call(run, index, routed, temperature, logprobs)
            except (CircuitBreakerOpen, NoDeploymentAvailable, UnsupportedRequest) as exc:
                raise TierFailed(tier.name, last_error or exc) from exc
            except Exception as exc:
                blamed = getattr(exc, "_router_deployment", None)
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

    async def _call(self, run: _Run, index: int, routed: Routed, temperature: float | None, logprobs: bool) -> Any:
        """Call the admitted deployment, settle its ticket (success or error), record the call."""
        pipeline = self.pipeline
        deployment = routed.deployment
        tier = deployment.tier
        metadata = dict(run.metadata)
        routed.attach(metadata)
        kwargs = {**deployment.litellm_params, **run.call_kwargs}
        timeout = self.config.resilience.tier_timeouts.get(tier, self.config.resilience.timeout_seconds)
        asked = kwargs.get("timeout")
        if isinstance(asked, int | float) and 0 < asked < timeout:
            timeout = float(asked)
        kwargs.update(timeout=timeout, max_retries=0, num_retries=0)
        if logprobs:
            kwargs["logprobs"] = True
        if temperature is not None and "temperature" not in run.call_kwargs:
            kwargs["temperature"] = temperature
        estimate = self._estimate(run, deployment)
        start = time.perf_counter()
        try:
            async with asyncio.timeout(timeout + 5):  # a stuck client must not outlive the tier's timeout
                response = await litellm.acompletion(
                    **kwargs, model=deployment.model, messages=run.messages, metadata=metadata
                )
        except BaseException as exc:
            error = exc if isinstance(exc, Exception) else RuntimeError("cancelled")
            if routed.ticket is not None:
                await pipeline.settle(routed.ticket, error=error)
            run.calls.append(self._record(index, routed, f"error:{type(exc).__name__}", None, estimate, 0.0, start))
            if isinstance(exc, Exception):
                exc._router_deployment = deployment.deployment_id  # type: ignore[attr-defined]
            raise
        usage = getattr(response, "usage", None)
        actual = response_cost(response, deployment.model, deployment.price)  # LiteLLM's figure
        if routed.ticket is not None:
            await pipeline.settle(routed.ticket, usage=usage, cost=actual)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        charged = actual if actual is not None else deployment.price.estimate(prompt, completion)
        run.prompt_tokens = max(run.prompt_tokens, prompt)  # later estimates use the provider's count
        run.calls.append(self._record(index, routed, "ok", usage, estimate, charged, start))
        run.decisions[index] = metadata[METADATA_KEY]
        return response

    @staticmethod
    def _record(
        index: int, routed: Routed, status: str, usage: Any, estimate: float, charged: float, start: float
    ) -> CallRecord:
        return CallRecord(
            step=index,
            tier=routed.deployment.tier,
            model=routed.deployment.model,
            deployment_id=routed.deployment.deployment_id,
            status=status,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            estimated_cost_usd=estimate,
            cost_usd=charged,
            latency_ms=round((time.perf_counter() - start) * 1000, 3),
        )

    def _finish(
        self,
        run: _Run,
        best: tuple[Any, Tier],
        tried: list[str],
        escalations: list[Escalation],
        checks: list[dict[str, Any]],
        stopped: Stop,
    ) -> Any:
        response, tier = best
        final = [c for c in run.calls if c.tier == tier.name and c.status == "ok"]
        result = CascadeResult(
            final_tier=tier.name,
            final_model=final[0].model if final else "",
            tiers_tried=tried,
            escalations=escalations,
            checks=checks,
            calls=run.calls,
            stopped=stopped,
            prompt_tokens=sum(c.prompt_tokens for c in run.calls),
            completion_tokens=sum(c.completion_tokens for c in run.calls),
            total_cost_usd=run.cap.spent,
            total_latency_ms=round((time.perf_counter() - run.started) * 1000, 3),
            max_cost_usd=run.cap.limit,
            policy_version=getattr(self.pipeline, "policy_version", None),
        )
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
