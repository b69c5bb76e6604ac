"""The tiers, their deployments and prices, and the classifier."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from litellm_router_plugin.config.common import (
    _PRICE_KEYS,
    _Strict,
)


class DeploymentConfig(_Strict):
    """One LiteLLM deployment of a tier, as in a LiteLLM ``model_list`` entry."""

    model: str = Field(min_length=1)
    """LiteLLM model name, e.g. ``gpt-4o-mini`` or ``ollama/llama3.1``."""
    litellm_params: dict[str, Any] = Field(default_factory=dict)
    """Passed to LiteLLM as is: ``api_base``, ``api_key``, ``input_cost_per_token``, ``timeout``..."""
    model_info: dict[str, Any] = Field(default_factory=dict)
    """As in LiteLLM's ``model_list``; ``supports_vision``, ``supports_function_calling``,
    ``supports_response_schema``, ``max_input_tokens``, ``max_output_tokens`` override LiteLLM's table."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # Accept "gpt-4o-mini" and LiteLLM's {"litellm_params": {"model": ...}} as well.
        if isinstance(data, str):
            return {"model": data}
        if isinstance(data, Mapping) and "model" not in data:
            params = data.get("litellm_params")
            if isinstance(params, Mapping) and "model" in params:
                rest = {k: v for k, v in params.items() if k != "model"}
                return {**data, "model": params["model"], "litellm_params": rest}
        return data

    @field_validator("litellm_params")
    @classmethod
    def _no_model_in_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        if "model" in params:
            raise ValueError("give the model once, as `model:` beside `litellm_params`, not inside it")
        given = [k for k in _PRICE_KEYS if k in params]
        if len(given) == 1:
            missing = next(k for k in _PRICE_KEYS if k not in given)
            raise ValueError(
                f"gives {given[0]} without {missing}; give both (0 for a free side) or neither "
                "(then LiteLLM's price table prices the model)"
            )
        return params


class TierConfig(_Strict):
    """A tier: deployments of about the same strength; the router picks the cheapest healthy one.

    Its deployments are given here (``deployments``), or named as model groups of the Router's own
    ``model_list`` (``model_groups``: defined once, e.g. in the proxy's config), or both."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    """Also the Router model group of the tier's deployments, so ``model=<name>`` forces the tier."""
    deployments: list[DeploymentConfig] = Field(default_factory=list)
    model_groups: list[str] = Field(default_factory=list)
    """Model groups (``model_name``) of the Router's ``model_list``, resolved when the plugin is installed on
    the Router: each is priced at its priciest deployment, and LiteLLM's own pick (weights, rpm/tpm,
    cooldowns) chooses the deployment within it."""

    @field_validator("model_groups")
    @classmethod
    def _group_names(cls, groups: list[str]) -> list[str]:
        if any(not g.strip() for g in groups):
            raise ValueError("a model group name must not be empty")
        repeated = sorted({g for g in groups if groups.count(g) > 1})
        if repeated:
            raise ValueError(f"names a model group more than once: {', '.join(repeated)}")
        return groups

    @model_validator(mode="after")
    def _something_to_call(self) -> TierConfig:
        if not self.deployments and not self.model_groups:
            raise ValueError(
                f"tier {self.name!r} has neither `deployments` nor `model_groups`: give at least one of them"
            )
        if self.name in self.model_groups:
            raise ValueError(f"tier {self.name!r} names its own name as a model group; the tier is that group already")
        return self


class CustomPrice(_Strict):
    """USD per token for a model missing from LiteLLM's table (or to override it)."""

    input_cost_per_token: float = Field(ge=0)
    output_cost_per_token: float = Field(ge=0)

    @field_validator("input_cost_per_token", "output_cost_per_token")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of USD per token")
        return value


class ClassifierConfig(_Strict):
    """Which classifier rates prompts, and how."""

    kind: Literal["heuristic", "learned", "agent"] = "learned"
    """``heuristic`` (local, free, microseconds), ``learned`` (local linear model shipped with the
    package, well under a millisecond) or ``agent`` (a Pydantic AI agent, cached)."""
    model_path: str | None = None
    """The learned classifier's model file; default: the one shipped in the package."""
    model: str | None = None
    """The same as ``model_path`` (``classifier: {kind: learned, model: PATH}``, e.g. from ``litellm-router learn``)."""
    agent_model: str = "openai:gpt-4o-mini"
    """Pydantic AI model name of the agent; priced from LiteLLM's table."""
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    """Past this the agent's answer is abandoned and the fallback answers (at most 60)."""
    retries: int = Field(default=2, ge=0, le=5)
    """Retries of transient agent errors (5xx, 429, connection), within the timeout."""
    fallback: Literal["heuristic", "learned"] = "heuristic"
    """The local classifier used when the agent is slow, failing or returns garbage."""
    cache_size: int = Field(default=1024, ge=1)
    """Prompts remembered, so a repeated prompt costs no second agent call."""
    strong_threshold: float | None = None
    """When set (``litellm-router calibrate`` writes it): prompts whose strength is at or above it go
    to the strongest tier, all others at most to the tier below it."""
    tier_thresholds: list[float] | None = None
    """One strength per boundary between consecutive tiers, ascending (``calibrate --tier-shares``
    writes them): the strength alone picks the tier. Takes precedence over ``strong_threshold``."""

    @field_validator("tier_thresholds")
    @classmethod
    def _ascending(cls, values: list[float] | None) -> list[float] | None:
        if values is not None and (
            not all(math.isfinite(v) for v in values) or any(b < a for a, b in itertools.pairwise(values))
        ):
            raise ValueError("thresholds must be finite numbers in ascending order, one per tier boundary")
        return values

    @model_validator(mode="after")
    def _one_model_file(self) -> ClassifierConfig:
        if self.model is not None and self.model_path is not None and self.model != self.model_path:
            raise ValueError("classifier.model and classifier.model_path name different files: give one of them")
        return self

    @property
    def model_file(self) -> str | None:
        """The learned model file given (``model`` or ``model_path``); None for the shipped one."""
        return self.model if self.model is not None else self.model_path


def _default_tiers() -> list[TierConfig]:
    # Models in LiteLLM's bundled price table, ordered cheapest to strongest.
    table = {
        "simple": ["groq/openai/gpt-oss-20b", "gemini/gemini-2.5-flash-lite", "gpt-4o-mini"],
        "moderate": ["gpt-4.1-mini", "gemini/gemini-2.5-flash"],
        "complex": ["gpt-4.1", "claude-sonnet-4-5"],
        "reasoning": ["o3", "claude-opus-4-5"],
    }
    return [
        TierConfig(name=name, deployments=[DeploymentConfig(model=m) for m in models]) for name, models in table.items()
    ]
