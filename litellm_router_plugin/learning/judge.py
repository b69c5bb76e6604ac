"""Rating two answers to one prompt: a reference check when the request carries one, else a judge.

The judge is a Pydantic AI agent with a structured verdict (each answer's quality, 0-1). It sees the
two answers in an order drawn from the request id (so position bias does not favour the stronger
model), and its token usage is returned so the caller can charge it like any other call.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from pydantic import BaseModel, Field
from pydantic_ai import Agent
from pydantic_ai.models import Model

INSTRUCTIONS = """\
You grade two answers to the same user prompt. For each, give its quality from 0 (wrong, unhelpful)
to 1 (correct and complete). Judge correctness first, then completeness; ignore length and style.
Give the reason in one short sentence. Do not answer the prompt yourself."""

MAX_CHARS = 6000
"""Most characters of the prompt and of each answer shown to the judge."""


class JudgeVerdict(BaseModel):
    """The judge's structured output."""

    first: float = Field(ge=0, le=1, description="quality of answer 1, 0-1")
    second: float = Field(ge=0, le=1, description="quality of answer 2, 0-1")
    reason: str = Field(default="", max_length=500, description="one short sentence")


@dataclass(frozen=True, slots=True)
class Rating:
    """The quality of the cheaper and of the stronger answer, and what the rating cost in tokens."""

    weak: float
    strong: float
    by: str
    """``reference`` or ``judge:<model>``."""
    input_tokens: int = 0
    output_tokens: int = 0


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+(?:[.,]\d+)*", text))


def reference_quality(answer: str, reference: str) -> float:
    """1.0 when the answer states the reference (as whole words, case and punctuation aside), else 0.0."""
    want, got = _normal(reference), _normal(answer)
    if not want:
        return 0.0
    return 1.0 if f" {want} " in f" {got} " else 0.0


def by_reference(weak_answer: str, strong_answer: str, reference: str) -> Rating:
    """Both answers checked against the request's reference (no model call)."""
    return Rating(reference_quality(weak_answer, reference), reference_quality(strong_answer, reference), "reference")


class Judge:
    """A Pydantic AI agent comparing two answers (``model``: a Pydantic AI model or its name)."""

    def __init__(self, model: str | Model) -> None:
        self.name = f"judge:{model if isinstance(model, str) else model.model_name}"
        # defer_model_check: building the judge must not need an API key; the first call does.
        self.agent: Agent[None, JudgeVerdict] = Agent(
            model, output_type=JudgeVerdict, instructions=INSTRUCTIONS, defer_model_check=True
        )

    @staticmethod
    def prompt_for(prompt: str, first: str, second: str) -> str:
        """What the judge reads."""
        return (
            f"User prompt:\n{prompt[:MAX_CHARS]}\n\nAnswer 1:\n{first[:MAX_CHARS]}\n\nAnswer 2:\n{second[:MAX_CHARS]}"
        )

    async def rate(
        self, prompt: str, weak_answer: str, strong_answer: str, *, order_key: str, max_tokens: int = 256
    ) -> Rating:
        """Each answer's quality; the order shown is fixed by ``order_key`` (the request id)."""
        swap = hashlib.sha256(order_key.encode()).digest()[0] & 1 == 1
        first, second = (strong_answer, weak_answer) if swap else (weak_answer, strong_answer)
        result = await self.agent.run(self.prompt_for(prompt, first, second), model_settings={"max_tokens": max_tokens})
        verdict, usage = result.output, result.usage
        weak, strong = (verdict.second, verdict.first) if swap else (verdict.first, verdict.second)
        return Rating(weak, strong, self.name, usage.input_tokens, usage.output_tokens)
