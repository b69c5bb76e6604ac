"""Confidence checks of a cascade step: self-consistency, token logprobs, a verifier.

Each check turns an answer (or two samples of it) into a value between 0 and 1 and compares it with
its threshold; ``value is None`` means the check could not be made (no logprobs returned) and does
not escalate. The cascade escalates on the first check that fails. A check is a small object that
declares what the step's calls must carry for it (``Needs``: samples, logprobs, a temperature), so
the cascade asks its checks instead of passing flags down.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from litellm_router_plugin.errors import ConfigError


class Verdict(BaseModel):
    """A verifier's structured answer: is the answer acceptable, how sure, and why."""

    ok: bool
    confidence: float = Field(default=1.0, ge=0, le=1)
    reason: str = ""


Verifier = Callable[[Sequence[Mapping[str, Any]], str], Any]
"""``(messages, answer) -> Verdict | bool | float`` (or an awaitable of one), or a Pydantic AI agent."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of one step: its value (``None``: not measurable), threshold and outcome."""

    check: str
    value: float | None
    threshold: float
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for the result and the log."""
        value = None if self.value is None else round(self.value, 4)
        return {"check": self.check, "value": value, "threshold": self.threshold, "passed": self.passed} | (
            {"detail": self.detail} if self.detail else {}
        )


_SPACES = re.compile(r"\s+")


def _normalise(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lower().rstrip(".!"))


def similarity(a: str, b: str) -> float:
    """How alike two answers are, 0 to 1: difflib's ratio on lower-cased, whitespace-collapsed text."""
    left, right = _normalise(a), _normalise(b)
    if left == right:
        return 1.0
    return difflib.SequenceMatcher(None, left, right, autojunk=False).ratio()


def answer_text(response: Any) -> str:
    """The first choice's message text ('' when there is none)."""
    choices = getattr(response, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    return str(getattr(message, "content", None) or "")


def mean_token_probability(response: Any) -> float | None:
    """exp(mean token logprob) of the first choice: the geometric-mean token probability, or
    ``None`` when the provider returned no logprobs."""
    choices = getattr(response, "choices", None) or []
    logprobs = getattr(choices[0], "logprobs", None) if choices else None
    content = logprobs.get("content") if isinstance(logprobs, Mapping) else getattr(logprobs, "content", None)
    if not content:
        return None
    values = [t.get("logprob") if isinstance(t, Mapping) else getattr(t, "logprob", None) for t in content]
    numbers = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    if not numbers:
        return None
    return math.exp(sum(numbers) / len(numbers))


def check_consistency(first: Any, second: Any, threshold: float) -> CheckResult:
    """Two samples of the same step agree at least ``threshold``."""
    value = similarity(answer_text(first), answer_text(second))
    return CheckResult("consistency", value, threshold, value >= threshold)


def check_logprobs(response: Any, threshold: float) -> CheckResult:
    """The answer's mean token probability is at least ``threshold`` (passes when not returned)."""
    value = mean_token_probability(response)
    if value is None:
        return CheckResult("logprobs", None, threshold, True, "no logprobs returned")
    return CheckResult("logprobs", value, threshold, value >= threshold)


def _is_agent(verifier: Any) -> bool:
    return type(verifier).__module__.startswith("pydantic_ai") and hasattr(verifier, "run")


def _verdict(value: Any, threshold: float) -> Verdict:
    if isinstance(value, Verdict):
        return value
    if isinstance(value, bool):
        return Verdict(ok=value, confidence=1.0 if value else 0.0)
    if isinstance(value, int | float) and math.isfinite(value):
        confidence = min(1.0, max(0.0, float(value)))
        return Verdict(ok=confidence >= threshold, confidence=confidence)
    try:
        return Verdict.model_validate(value.model_dump() if isinstance(value, BaseModel) else value)
    except ValidationError as exc:
        raise TypeError(
            f"a verifier returned {type(value).__name__}; return a Verdict, a bool or a float in [0, 1]"
        ) from exc


async def check_verifier(
    verifier: Verifier | Any, messages: Sequence[Mapping[str, Any]], answer: str, threshold: float
) -> CheckResult:
    """Ask ``verifier`` about ``answer``; fails on ``ok=False`` or a confidence below ``threshold``."""
    if _is_agent(verifier):
        agent: Any = verifier
        question = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
        run = await agent.run(f"Question:\n{question}\n\nProposed answer:\n{answer}\n\nIs the answer correct?")
        raw: Any = run.output
    else:
        raw = verifier(messages, answer)
        if inspect.isawaitable(raw):
            raw = await raw
    verdict = _verdict(raw, threshold)
    passed = verdict.ok and verdict.confidence >= threshold
    return CheckResult("verifier", verdict.confidence, threshold, passed, verdict.reason[:200])


# -- the checks as objects: what each needs of a step, and its judgement ---------------------------
@dataclass(frozen=True, slots=True)
class Needs:
    """What a step's calls must carry for its checks: answers per step, logprobs, a sampling temperature."""

    samples: int = 1
    logprobs: bool = False
    temperature: float | None = None

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            max(self.samples, other.samples),
            self.logprobs or other.logprobs,
            self.temperature if self.temperature is not None else other.temperature,
        )


class Check(Protocol):
    """One confidence check of a cascade step."""

    @property
    def needs(self) -> Needs:
        """What the step's calls must carry for this check."""
        ...

    async def judge(self, messages: Sequence[Mapping[str, Any]], answers: Sequence[Any]) -> CheckResult:
        """The check on a step's answers (``needs.samples`` of them)."""
        ...


@dataclass(frozen=True, slots=True)
class Consistency:
    """Two samples at ``temperature`` agree at least ``threshold``."""

    threshold: float
    temperature: float | None

    @property
    def needs(self) -> Needs:
        return Needs(samples=2, temperature=self.temperature)

    async def judge(self, messages: Sequence[Mapping[str, Any]], answers: Sequence[Any]) -> CheckResult:
        return check_consistency(answers[0], answers[1], self.threshold)


@dataclass(frozen=True, slots=True)
class Logprobs:
    """The answer's mean token probability is at least ``threshold``."""

    threshold: float

    @property
    def needs(self) -> Needs:
        return Needs(logprobs=True)

    async def judge(self, messages: Sequence[Mapping[str, Any]], answers: Sequence[Any]) -> CheckResult:
        return check_logprobs(answers[0], self.threshold)


@dataclass(frozen=True, slots=True)
class Verification:
    """A verifier accepts the answer with confidence at least ``threshold``."""

    verifier: Verifier | Any
    threshold: float

    @property
    def needs(self) -> Needs:
        return Needs()

    async def judge(self, messages: Sequence[Mapping[str, Any]], answers: Sequence[Any]) -> CheckResult:
        return await check_verifier(self.verifier, messages, answer_text(answers[0]), self.threshold)


def needs_of(checks: Sequence[Check]) -> Needs:
    """What a step must carry for all of ``checks``."""
    needs = Needs()
    for check in checks:
        needs |= check.needs
    return needs


async def first_failure(
    checks: Sequence[Check], messages: Sequence[Mapping[str, Any]], answers: Sequence[Any]
) -> tuple[CheckResult | None, list[CheckResult]]:
    """Run ``checks`` in order: the first that fails (``None``: all passed) and every result made."""
    results: list[CheckResult] = []
    for check in checks:
        result = await check.judge(messages, answers)
        results.append(result)
        if not result.passed:
            return result, results
    return None, results


def load_verifier(path: str) -> Any:
    """The object at ``module:attribute`` (``cascade.verifier``); a ``ConfigError`` names what is missing."""
    module_name, _, attribute = path.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            "cascade.verifier", path, f"Cannot import it ({exc}); give an importable 'module:callable'."
        ) from exc
    if not callable(found) and not _is_agent(found):
        raise ConfigError("cascade.verifier", path, "It is not callable; name a function or a Pydantic AI agent.")
    return found
