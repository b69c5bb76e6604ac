"""What the learning loop reads of a finished call: the request's settings and the answer as text.

The two hooks that feed the loop see a call differently: LiteLLM's deployment hook gets the request
as the caller sent it, its success log event (streams once assembled, synchronous calls) gets
LiteLLM's logging kwargs; ``request_of_log`` turns the latter into the former. An answer that is a
tool call has no text: it is rendered as ``tool_call name {arguments}`` so the judge (or a reference
check) compares what the model did, and the shadow call repeats the request's tools so the stronger
tier had the same choice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from litellm_router_plugin.pipeline.confidence import answer_text

PASSED = (
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
)
"""Request settings the shadow call repeats (the answers must be comparable); the rest not."""
REDACTED = "redacted-by-litellm"
"""What LiteLLM logs instead of messages and answers under ``turn_off_message_logging``."""
_TOOLS_CHARS = 2000
"""Most characters of the offered tools shown to the judge."""


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _arguments(raw: Any) -> str:
    """A tool call's arguments as compact JSON with sorted keys (the same call reads the same)."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(raw)


def tool_calls_text(response: Any) -> str:
    """The first choice's tool calls, one line each: ``tool_call <name> <arguments JSON>``."""
    choices = getattr(response, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    lines = []
    for call in _field(message, "tool_calls") or []:
        function = _field(call, "function")
        lines.append(f"tool_call {_field(function, 'name')} {_arguments(_field(function, 'arguments'))}")
    return "\n".join(lines)


def answer_of(response: Any) -> str:
    """The answer as the judge reads it: the first choice's text, then its tool calls (if any)."""
    return "\n".join(part for part in (answer_text(response), tool_calls_text(response)) if part.strip())


def request_of_log(kwargs: Mapping[str, Any], metadata: Any) -> dict[str, Any]:
    """The request, as the deployment hook would see it, from LiteLLM's success-log ``kwargs``:
    the provider settings (``optional_params``: tools, limits), the messages and the metadata."""
    optional = kwargs.get("optional_params")
    request = dict(optional) if isinstance(optional, Mapping) else {}
    request["messages"] = kwargs.get("messages") or []
    request["metadata"] = metadata if isinstance(metadata, Mapping) else {}
    request["stream"] = bool(kwargs.get("stream"))
    return request


def redacted(messages: Sequence[Mapping[str, Any]], answer: str) -> bool:
    """Whether LiteLLM redacted what the loop would compare (``turn_off_message_logging``)."""
    return answer.strip() == REDACTED or any(m.get("content") == REDACTED for m in messages)


def judge_prompt(prompt: str, request: Mapping[str, Any]) -> str:
    """The prompt the judge reads: the user's, with the tools the model could call (names,
    descriptions, parameters), so a tool call can be rated against what was offered."""
    tools = request.get("tools")
    if not isinstance(tools, list) or not tools:
        return prompt
    offered = [_field(t, "function") or t for t in tools]
    return f"{prompt}\n\nTools the assistant could call (JSON):\n{json.dumps(offered, default=str)[:_TOOLS_CHARS]}"
