"""Shadow comparisons: a routed request answered again by the next stronger tier, and the two rated.

Runs off the caller's path (the learner starts it in a background task once the response is on its
way). Every call it makes, the shadow answer and the judge alike, is planned by the pipeline's
planner, admitted against the same budgets and breakers as any request, and settled through the
pipeline (so it reaches the ledger); on top of those budgets every one also counts against the
``learning:shadow`` scope, whose daily limit is ``learning.shadow.daily_usd``. Calls carry no ticket
in their metadata, so LiteLLM's hooks neither settle them twice nor shadow them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from pydantic_ai.models import Model

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.config import RequestOverrides, ShadowConfig
from litellm_router_plugin.errors import BudgetExceededError, RouterPluginError, UnknownModelError
from litellm_router_plugin.guards.admission import Offer
from litellm_router_plugin.guards.holds import Hold, hold_of
from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.learning.judge import Judge, Rating, by_reference
from litellm_router_plugin.online.observed import PASSED, answer_of
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.pipeline.ticket import Ticket
from litellm_router_plugin.pricing import Price, price_for
from litellm_router_plugin.routing.request import TierTarget
from litellm_router_plugin.state import ScopeLimit, to_micros

logger = logging.getLogger(__name__)

SHADOW_SCOPE = "learning:shadow"
"""The budget scope every shadow and judge call is also charged to (limit: ``shadow.daily_usd``)."""
SHADOW_KEY = "router_shadow"
"""Request metadata flag of the learner's own calls."""
IDENTITY = Identity()
"""Shadow and judge calls are the deployment's own: charged to the global scope, no user or key."""


class ShadowSkipped(Exception):
    """A shadow comparison that could not be made (budget, breaker, error); logged, never raised to a caller."""


def sampled(request_id: str, share: float) -> bool:
    """Whether ``request_id`` is in the shadowed share: a stable hash, the same in every worker."""
    digest = hashlib.sha256(request_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def pricing_name(model: str | Model) -> str:
    """``openai:gpt-4o-mini`` (Pydantic AI's naming) -> ``gpt-4o-mini`` (LiteLLM's)."""
    name = model if isinstance(model, str) else model.model_name
    provider, _, rest = name.partition(":")
    if not rest:
        return name
    return rest if provider == "openai" else f"{provider}/{rest}"


def reference_of(request: Mapping[str, Any]) -> str | None:
    """The reference answer a request carries (``metadata.router.reference``), if any (the overrides
    were checked when the request was routed)."""
    return RequestOverrides.of(request).reference


class Shadow:
    """Makes shadow calls and judge calls for one pipeline, within ``learning.shadow``."""

    def __init__(self, pipeline: Pipeline, judge: str | Model | None = None) -> None:
        self.pipeline = pipeline
        self._judge_model = judge
        self._judge: Judge | None = None
        self._judge_price: Price | None = None

    @property
    def config(self) -> ShadowConfig:
        """The current policy's shadow settings (a reloaded policy applies at once)."""
        return self.pipeline.config.learning.shadow

    # -- admission against the budgets and the shadow scope ---------------------------------
    async def _hold(self, offers: Sequence[Offer]) -> Hold:
        admission = self.pipeline.admission
        if admission is None:
            raise ShadowSkipped("no admission (budgets and breakers off): shadow calls could not be charged")
        guard = admission.guard
        request_id = uuid.uuid4().hex
        request, _ = guard.admit_request(
            request_id, [o.estimate for o in offers], breakers=[admission.breaker(o.breaker) for o in offers]
        )
        cap = ScopeLimit(SHADOW_SCOPE, request.scopes[0].window, to_micros(self.config.daily_usd))
        capped = dataclasses.replace(request, scopes=(*request.scopes, cap))
        result = await guard.submit(capped)
        if result is None:
            raise ShadowSkipped("store unreachable")
        try:
            return hold_of(result, capped, [o.estimate for o in offers], lambda r: guard.refusal(r, r.scope))
        except BudgetExceededError as exc:
            raise ShadowSkipped(f"budget {exc.scope} refused ${exc.asked_usd:.6f}") from None
        except RouterPluginError as exc:
            raise ShadowSkipped(f"not admitted: {type(exc).__name__}") from None

    # -- the shadow answer --------------------------------------------------------------------
    async def answer(
        self, messages: Sequence[Mapping[str, Any]], request: Mapping[str, Any], served_tier: str
    ) -> tuple[str, str] | None:
        """The next stronger tier's answer ``(model, text)`` (tool calls rendered, see ``observed``);
        ``None`` when the tier served is the strongest."""
        pipeline = self.pipeline
        policy = pipeline.policy  # one policy for the whole shadow request (a reload may come meanwhile)
        tiers = policy.tier_map.tiers
        if served_tier not in policy.tier_map:
            return None
        rank = policy.tier_map[served_tier].rank
        if rank + 1 >= len(tiers):
            return None
        settings = {k: request[k] for k in PASSED if k in request}
        planner = policy.planner
        asked = dataclasses.replace(planner.request(messages, settings), target=TierTarget(tiers[rank + 1].name))
        plan = planner.plan(await planner.analyse(asked.prompt), asked)
        usable = plan.usable()
        hold = await self._hold([Offer(o.estimate, o.deployment.deployment_id) for o in usable])
        chosen = usable[hold.index]
        decision = pipeline._decision(policy, plan, chosen, usable[: hold.index], (), "shadow")
        routed = pipeline._routed(policy, hold, chosen.deployment, IDENTITY, decision)
        assert routed.ticket is not None  # an admitted hold always makes a ticket
        ticket = dataclasses.replace(routed.ticket, reason=f"shadow of {served_tier}")
        deployment = chosen.deployment
        try:
            response = await litellm.acompletion(
                **{**deployment.litellm_params, **settings},
                model=deployment.model,
                messages=list(messages),
                metadata={SHADOW_KEY: True},
            )
        except Exception as exc:
            await pipeline.settle(ticket, error=exc)
            raise ShadowSkipped(f"shadow call to {deployment.model} failed: {type(exc).__name__}") from exc
        await pipeline.settle(ticket, usage=getattr(response, "usage", None))
        return deployment.model, answer_of(response)

    # -- rating -------------------------------------------------------------------------------
    def _judge_ready(self) -> tuple[Judge, Price] | None:
        name = self.config.judge
        model = self._judge_model if self._judge_model is not None else name
        if model is None:
            return None
        if self._judge is None:
            self._judge = Judge(model)
            try:
                # Priced as the configured judge (a test's FunctionModel stands in for it).
                self._judge_price = price_for(pricing_name(name or model), field="learning.shadow.judge", free_ok=True)
            except UnknownModelError:
                logger.warning("judge %s has no price in LiteLLM's table; its calls are charged $0", name or model)
                self._judge_price = Price(0.0, 0.0, "custom_prices")
        assert self._judge_price is not None
        return self._judge, self._judge_price

    async def rate(
        self, prompt: str, weak: str, strong: str, *, reference: str | None, order_key: str
    ) -> Rating | None:
        """Both answers' quality: by the reference when there is one, else by the judge (charged)."""
        if reference is not None:
            return by_reference(weak, strong, reference)
        ready = self._judge_ready()
        if ready is None:
            return None
        judge, price = ready
        words = len(Judge.prompt_for(prompt, weak, strong)) // 3 + 200  # generous: instructions and framing
        max_tokens = self.config.judge_max_tokens
        hold = await self._hold([Offer(price.estimate(words, max_tokens), None)])
        ticket = Ticket(
            pipeline=self.pipeline.id,
            request_id=hold.request_id,
            deployment_id=judge.name,
            model=pricing_name(self.config.judge or judge.name),
            tier="judge",
            input_cost_per_token=price.input_per_token,
            output_cost_per_token=price.output_per_token,
            identity=IDENTITY,
            reason="judge of a shadow comparison",
        )
        try:
            rating = await judge.rate(prompt, weak, strong, order_key=order_key, max_tokens=max_tokens)
        except Exception as exc:
            await self.pipeline.settle(ticket, error=exc)
            raise ShadowSkipped(f"judge failed: {type(exc).__name__}") from exc
        usage = SimpleNamespace(prompt_tokens=rating.input_tokens, completion_tokens=rating.output_tokens)
        await self.pipeline.settle(ticket, usage=usage)
        return rating
