"""A Pydantic AI agent that rates prompts, falling back to a local classifier when it cannot."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from pydantic import BaseModel, Field
from pydantic_ai import Agent
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelHTTPError,
    ModelRateLimitError,
    ModelServerError,
    ModelUnavailableError,
    UnexpectedModelBehavior,
)
from pydantic_ai.models import Model
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from litellm_router_plugin.classify.base import Category, ComplexityAnalysis, LocalClassifier
from litellm_router_plugin.errors import UnknownModelError
from litellm_router_plugin.pricing import Price, price_for

logger = logging.getLogger(__name__)

INSTRUCTIONS = """\
You rate how capable a language model must be to answer the user's prompt well.
Give a score from 1 to 10 and a category:
- simple (1-3): greetings, short facts, lookups, rewording, translation of a sentence.
- moderate (4-5): summaries, explanations, short emails, everyday code snippets or queries.
- complex (6-7): non-trivial code or SQL, analysis across several documents or constraints.
- reasoning (8-10): proofs, multi-step planning, hard math, subtle trade-offs, research questions.
Give the reasoning in one short sentence. Do not answer the prompt itself."""

_MAX_PROMPT_CHARS = 6000


class AgentVerdict(BaseModel):
    """What the agent is asked to produce."""

    score: int = Field(ge=1, le=10, description="1 = trivial, 10 = hardest")
    category: Category
    reasoning: str = Field(max_length=500, description="one short sentence")


@dataclass
class ClassifierSpend:
    """What the agent's own calls have cost, kept apart from routed calls."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ModelConnectionError | ModelRateLimitError | ModelServerError | ModelUnavailableError):
        return True
    return isinstance(exc, ModelHTTPError) and (exc.status_code >= 500 or exc.status_code == 429)


def _pricing_name(model: str | Model) -> str:
    """``openai:gpt-4o-mini`` (Pydantic AI's naming) -> ``gpt-4o-mini`` (LiteLLM's)."""
    name = model if isinstance(model, str) else model.model_name
    provider, _, rest = name.partition(":")
    if not rest:
        return name
    return rest if provider == "openai" else f"{provider}/{rest}"


class AgentClassifier:
    """Rates prompts with a Pydantic AI ``Agent(output_type=AgentVerdict)``.

    Transient model errors are retried with tenacity inside ``timeout_seconds``; a timeout, a
    persistent error or an invalid answer hands the prompt to ``fallback`` and the analysis says why.
    """

    def __init__(
        self,
        model: str | Model = "openai:gpt-4o-mini",
        *,
        fallback: LocalClassifier,
        timeout_seconds: float = 2.0,
        retries: int = 2,
        price: Price | None = None,
    ) -> None:
        self.name = f"agent:{model if isinstance(model, str) else model.model_name}"
        self.fallback = fallback
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.spend = ClassifierSpend()
        self._price = price if price is not None else self._litellm_price(model)
        # defer_model_check: building the agent must not need an API key; the first call does.
        self.agent: Agent[None, AgentVerdict] = Agent(
            model, output_type=AgentVerdict, instructions=INSTRUCTIONS, defer_model_check=True
        )

    @staticmethod
    def _litellm_price(model: str | Model) -> Price | None:
        try:
            return price_for(_pricing_name(model), field="classifier.agent_model", free_ok=True)
        except UnknownModelError:
            logger.warning("classifier model %s has no price in LiteLLM's table; its spend reads $0", model)
            return None

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` with the agent, or with the fallback when the agent cannot answer."""
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_seconds):
                verdict = await self._run(prompt[:_MAX_PROMPT_CHARS])
        except TimeoutError:
            return self._fallback(prompt, start, f"timeout after {self.timeout_seconds:g}s")
        except UnexpectedModelBehavior as exc:
            return self._fallback(prompt, start, f"invalid output: {exc.message}")
        except ModelAPIError as exc:
            return self._fallback(prompt, start, f"model error: {type(exc).__name__}")
        except Exception as exc:  # no key, a misconfigured provider...: routing must still answer
            return self._fallback(prompt, start, f"error: {type(exc).__name__}")
        return ComplexityAnalysis(
            score=verdict.score,
            category=verdict.category,
            reasoning=verdict.reasoning,
            classifier=self.name,
            latency_ms=(time.perf_counter() - start) * 1000,
        )

    async def _run(self, prompt: str) -> AgentVerdict:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_random_exponential(multiplier=0.05, max=0.5),
            retry=retry_if_exception(_is_transient),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                result = await self.agent.run(prompt)
                self._record(result.usage.input_tokens, result.usage.output_tokens)
                return result.output
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def _record(self, input_tokens: int, output_tokens: int) -> None:
        self.spend.calls += 1
        self.spend.input_tokens += input_tokens
        self.spend.output_tokens += output_tokens
        if self._price is not None:
            self.spend.cost_usd += self._price.estimate(input_tokens, output_tokens)

    def _fallback(self, prompt: str, start: float, reason: str) -> ComplexityAnalysis:
        logger.warning("agent classifier fell back to %s: %s", self.fallback.name, reason)
        local = self.fallback.classify(prompt)
        return local.model_copy(update={"fallback_reason": reason, "latency_ms": (time.perf_counter() - start) * 1000})
