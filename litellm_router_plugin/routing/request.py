"""What a request asks of the planner, read once: its target, messages and prompt, overrides and
completion budget (``PlanRequest``). ``pipeline.request.Request`` adds who is asking and what the
Router knows (identity, earlier attempts, unhealthy deployments); adapters build that one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litellm_router_plugin.config import RequestOverrides

_CONTEXT_WORDS = 20
_CONTEXT_CHARS = 2000


# -- what a call targets -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AliasTarget:
    """The alias: the planner picks the tiers."""


@dataclass(frozen=True, slots=True)
class CascadeTarget:
    """The alias, run as a cascade (``metadata.router.cascade`` or ``cascade.enabled``)."""


@dataclass(frozen=True, slots=True)
class TierTarget:
    """A tier named as the model (or a cascade's step): only that tier, within ``min_tier``/``max_tier``."""

    name: str


@dataclass(frozen=True, slots=True)
class NamedTarget:
    """Any other model: called as named, admitted like the rest."""

    model: str


Target = AliasTarget | CascadeTarget | TierTarget | NamedTarget


# -- reading the request -----------------------------------------------------------------------
def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def prompt_text(messages: Sequence[Mapping[str, Any]] | None, input: Any = None) -> str:
    """The text to classify: the newest user turn, with the previous one when it is a short follow-up."""
    if not messages:
        if isinstance(input, str):
            return input
        if isinstance(input, list):
            return "\n".join(str(item) for item in input if isinstance(item, str))
        return ""
    user_turns = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    if not user_turns:
        return _text_of(messages[-1].get("content"))
    newest = user_turns[-1]
    if len(user_turns) > 1 and len(newest.split()) < _CONTEXT_WORDS:
        return f"{user_turns[-2][-_CONTEXT_CHARS:]}\n{newest}"
    return newest


def requested_max_tokens(call: Mapping[str, Any]) -> int | None:
    """The completion-token limit the request sets, if any."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = call.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRequest:
    """One request as the planner reads it (frozen; its fields from :func:`plan_fields`)."""

    call: Mapping[str, Any]
    """The caller's parameters as given (LiteLLM's kwargs: ``tools``, ``n``, ``response_format``...)."""
    messages: Sequence[Mapping[str, Any]] | None
    prompt: str
    """The text the classifier rates (see :func:`prompt_text`)."""
    overrides: RequestOverrides
    max_tokens: int
    """The completion tokens estimates assume: the request's limit, else ``default_max_tokens``."""
    max_tokens_asked: bool
    """Whether the request set that limit itself."""
    target: Target = field(default_factory=AliasTarget)

    @property
    def tier(self) -> str | None:
        """The tier named as the model, if any."""
        return self.target.name if isinstance(self.target, TierTarget) else None


def plan_fields(
    call: Mapping[str, Any],
    messages: Sequence[Mapping[str, Any]] | None,
    default_max_tokens: int,
    tiers: Sequence[str] | None,
    input: Any,
) -> dict[str, Any]:
    """The fields of a :class:`PlanRequest` read off ``call`` (a malformed override raises ``ConfigError``)."""
    asked = requested_max_tokens(call)
    return {
        "call": call,
        "messages": messages,
        "prompt": prompt_text(messages, input if input is not None else call.get("input")),
        "overrides": RequestOverrides.of(call, tiers),
        "max_tokens": asked or default_max_tokens,
        "max_tokens_asked": asked is not None,
    }
