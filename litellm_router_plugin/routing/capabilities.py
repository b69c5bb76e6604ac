"""What a request needs (vision, tools, structured output, context) and what a deployment can do.

A deployment's capabilities come from LiteLLM's model info (``supports_vision``,
``supports_function_calling``, ``supports_response_schema``, ``max_input_tokens``,
``max_output_tokens``), overridden by the deployment's own ``model_info``. A model LiteLLM knows
nothing about is assumed able (a local server is the operator's to describe in ``model_info``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litellm_router_plugin._litellm import litellm

_IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})


@dataclass(frozen=True, slots=True)
class Needs:
    """What one request needs from the deployment that serves it."""

    vision: bool = False
    tools: bool = False
    response_schema: bool = False
    prompt_tokens: int = 0
    max_tokens: int = 0
    n: int = 1

    @classmethod
    def of(
        cls,
        request: Mapping[str, Any],
        messages: Sequence[Mapping[str, Any]] | None,
        prompt_tokens: int,
        max_tokens: int,
    ) -> Needs:
        """Read the needs off an OpenAI-style request."""
        vision = any(
            isinstance(part, Mapping) and part.get("type") in _IMAGE_PARTS
            for message in messages or ()
            if isinstance(message.get("content"), list)
            for part in message["content"]
        )
        fmt = request.get("response_format")
        schema = isinstance(fmt, Mapping) and fmt.get("type") == "json_schema"
        n = request.get("n")
        return cls(
            vision=vision,
            tools=bool(request.get("tools") or request.get("functions")),
            response_schema=schema,
            prompt_tokens=prompt_tokens,
            max_tokens=max_tokens,
            n=n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1,
        )


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one deployment can do; ``None`` limits are unknown (not checked)."""

    vision: bool = True
    tools: bool = True
    response_schema: bool = True
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None

    @classmethod
    def of(cls, model: str, model_info: Mapping[str, Any] | None = None) -> Capabilities:
        """From LiteLLM's model info for ``model``, overridden by the deployment's ``model_info``."""
        try:
            info: Mapping[str, Any] = litellm.get_model_info(model=model)
            known = True
        except Exception:  # not in LiteLLM's table: nothing known, nothing refused
            info, known = {}, False
        info = {**info, **(model_info or {})}

        def flag(key: str) -> bool:
            value = info.get(key)
            return bool(value) if value is not None or known else True

        def limit(key: str) -> int | None:
            value = info.get(key)
            return value if isinstance(value, int) and value > 0 else None

        return cls(
            vision=flag("supports_vision"),
            tools=flag("supports_function_calling"),
            response_schema=flag("supports_response_schema"),
            max_input_tokens=limit("max_input_tokens"),
            max_output_tokens=limit("max_output_tokens"),
        )

    @classmethod
    def common(cls, each: Iterable[Capabilities]) -> Capabilities:
        """What every one of ``each`` can do (a model group: LiteLLM may pick any of its deployments)."""
        caps = list(each)

        def lowest(values: Iterable[int | None]) -> int | None:
            known = [v for v in values if v is not None]
            return min(known) if known else None

        return cls(
            vision=all(c.vision for c in caps),
            tools=all(c.tools for c in caps),
            response_schema=all(c.response_schema for c in caps),
            max_input_tokens=lowest(c.max_input_tokens for c in caps),
            max_output_tokens=lowest(c.max_output_tokens for c in caps),
        )

    def unmet(self, needs: Needs) -> str | None:
        """The first need this deployment cannot meet, named for an error message; ``None`` if it can serve."""
        if needs.vision and not self.vision:
            return "vision (image input)"
        if needs.tools and not self.tools:
            return "function calling (tools)"
        if needs.response_schema and not self.response_schema:
            return "structured output (response_format json_schema)"
        if self.max_input_tokens is not None and needs.prompt_tokens > self.max_input_tokens:
            return f"a context of {needs.prompt_tokens} prompt tokens (max_input_tokens {self.max_input_tokens})"
        if self.max_output_tokens is not None and needs.max_tokens > self.max_output_tokens:
            return f"{needs.max_tokens} completion tokens (max_output_tokens {self.max_output_tokens})"
        return None
