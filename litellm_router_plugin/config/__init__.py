"""``PluginConfig``: tiers, classifier and routing settings, from a YAML or JSON file or a dict.

The sections live in ``config/tiers.py``, ``config/guards.py`` and ``config/behaviour.py``; every name
is importable from here, as before the split.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from litellm_router_plugin.categories import CATEGORIES, Category
from litellm_router_plugin.config.behaviour import (
    CascadeConfig,
    CheckName,
    LearningConfig,
    PolicyConfig,
    ResilienceConfig,
    ShadowConfig,
)
from litellm_router_plugin.config.common import (
    MAX_SECONDS,
    OVERRIDES_KEY,
    ConfigWarning,
    _Strict,
)
from litellm_router_plugin.config.guards import BreakerConfig, BudgetsConfig, LedgerConfig, LimitConfig, StoreConfig
from litellm_router_plugin.config.overrides import RequestOverrides
from litellm_router_plugin.config.tiers import (
    ClassifierConfig,
    CustomPrice,
    DeploymentConfig,
    TierConfig,
    _default_tiers,
)
from litellm_router_plugin.errors import ConfigError

__all__ = [
    "MAX_SECONDS",
    "OVERRIDES_KEY",
    "BreakerConfig",
    "BudgetsConfig",
    "CascadeConfig",
    "CheckName",
    "ClassifierConfig",
    "ConfigWarning",
    "CustomPrice",
    "DeploymentConfig",
    "LearningConfig",
    "LedgerConfig",
    "LimitConfig",
    "PluginConfig",
    "PolicyConfig",
    "RequestOverrides",
    "ResilienceConfig",
    "ShadowConfig",
    "StoreConfig",
    "TierConfig",
    "parse_yaml",
]


class PluginConfig(_Strict):
    """Everything the router needs; the same file serves Python and the LiteLLM proxy."""

    alias: str = Field(default="auto", min_length=1)
    """The model name that triggers routing; any other name goes to LiteLLM untouched."""
    tiers: list[TierConfig] = Field(default_factory=_default_tiers, min_length=1)
    """Ordered cheapest to strongest."""
    category_tiers: dict[Category, str] = Field(default_factory=dict)
    """Category -> tier name. Default: the tier of the same name, else spread by position."""
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    default_max_tokens: int = Field(default=1024, ge=1)
    """Completion tokens assumed in cost estimates when a request sets no ``max_tokens``."""
    token_counter_model: str = "gpt-4o"
    """Tokenizer used once per request to count prompt tokens for estimates."""
    custom_prices: dict[str, CustomPrice] = Field(default_factory=dict)
    """Prices for models missing from LiteLLM's table (registered with ``litellm.register_model``)."""
    log_prompts: bool = False
    """Write prompt text in the decision log; by default only a hash of it."""
    allow_tier_models: bool = True
    """Accept a tier name as the model (the tier is forced, still admitted); ``false`` refuses it."""
    alias_only: bool | list[str] = False
    """Refuse any model but the alias: ``true`` for everyone, or a list of users/teams (``team:<id>``,
    ``user:<id>``) restricted to it. Other models in the Router's list are otherwise admitted and
    charged like routed calls."""
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    cascade: CascadeConfig = Field(default_factory=CascadeConfig)
    resilience: ResilienceConfig = Field(default_factory=ResilienceConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    """Outcomes from shadow comparisons, feedback and cascades, and the model learned from them."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        # `budgets: null` removes a section explicitly (a policy reload refuses a section that merely vanished).
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> PluginConfig:
        names = [tier.name for tier in self.tiers]
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise ConfigError(f"tiers[{i}].name", name, "This name is used twice; give every tier its own.")
            seen.add(name)
        if self.alias in seen:
            raise ConfigError("alias", self.alias, "It is also a tier name; pick an alias no tier uses.")
        for category, tier in self.category_tiers.items():
            if tier not in seen:
                raise ConfigError(f"category_tiers.{category}", tier, f"No such tier; use one of: {', '.join(names)}.")
        thresholds = self.classifier.tier_thresholds
        if thresholds is not None and len(thresholds) != len(names) - 1:
            raise ConfigError(
                "classifier.tier_thresholds",
                thresholds,
                f"Give one threshold per boundary between consecutive tiers: {len(names) - 1} for {len(names)} tiers "
                "(litellm-router calibrate --tier-shares writes them).",
            )
        shares = self.learning.tier_shares
        if shares is not None and len(shares) != len(names):
            raise ConfigError(
                "learning.tier_shares", shares, f"Give one share per tier: {len(names)} for {len(names)} tiers."
            )
        for tier in self.resilience.tier_timeouts:
            if tier not in seen:
                raise ConfigError(
                    f"resilience.tier_timeouts.{tier}", tier, f"No such tier; use one of: {', '.join(names)}."
                )
        return self

    def tier_for_category(self) -> dict[Category, str]:
        """The full category -> tier mapping, defaults filled in."""
        names = [tier.name for tier in self.tiers]
        last = len(names) - 1
        mapping: dict[Category, str] = {}
        for i, category in enumerate(CATEGORIES):
            if category in self.category_tiers:
                mapping[category] = self.category_tiers[category]
            elif category in names:
                mapping[category] = category
            else:
                mapping[category] = names[round(i * last / (len(CATEGORIES) - 1))]
        return mapping

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any] | PluginConfig | None = None) -> PluginConfig:
        """Load from a YAML/JSON file path, a dict, or return the default config for ``None``.

        A dict may be the config itself or hold it under a ``router_plugin`` key (so one file can
        also carry a LiteLLM proxy config). Raises ``ConfigError`` naming the field and the fix.
        """
        if source is None:
            return cls()
        if isinstance(source, PluginConfig):
            return source
        data: Any
        if isinstance(source, Mapping):
            data = source
        else:
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError("config", str(path), f"Cannot read the file ({exc.strerror}).") from exc
            try:
                data = json.loads(text) if path.suffix == ".json" else parse_yaml(text, str(path))
            except json.JSONDecodeError as exc:
                raise ConfigError("config", str(path), f"Not valid JSON: {exc}") from exc
            if data is None:  # an empty file is a mistake (a truncated write, a wrong path), not the defaults
                raise ConfigError(
                    "config",
                    str(path),
                    "The file is empty (or only comments). Write the settings (at least `tiers:`), or give no "
                    "config file for the built-in tiers.",
                )
        if not isinstance(data, Mapping):
            raise ConfigError("config", type(data).__name__, "The top level must be a mapping of settings.")
        if "router_plugin" in data:
            data = data["router_plugin"] or {}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _config_error(exc) from None


def parse_yaml(text: str, origin: str) -> Any:
    """``yaml.safe_load`` whose errors name ``origin`` (the file), not ``"<unicode string>"``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        for mark in (getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)):
            if mark is not None:
                mark.name = origin
        raise ConfigError("config", origin, f"Not valid YAML/JSON: {exc}") from None


_FIXES = {
    "extra_forbidden": "Remove it or fix its spelling.",
    "missing": "Add it.",
    "literal_error": "Use one of the allowed values.",
}


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path.lstrip(".") or "config"


def _config_error(exc: ValidationError) -> ConfigError:
    errors = exc.errors(include_url=False)
    # A misspelt field (``deploymnets``) also makes the real one missing: name the misspelling first.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    original = first.get("ctx", {}).get("error")
    if isinstance(original, ConfigError):
        return original  # raised by our own validators: already names the field and the fix
    field = _field_path(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    fix = _FIXES.get(first["type"], "")
    if first["type"] == "extra_forbidden":
        parent = _model_at(first["loc"][:-1])
        if parent is not None:
            known = [f.alias or name for name, f in parent.model_fields.items()]
            fix = f"Remove it or fix its spelling; known fields: {', '.join(known)}."
    value = first.get("input")
    more = f" ({exc.error_count() - 1} more error(s) after this one)" if exc.error_count() > 1 else ""
    return ConfigError(field, value, f"{message}. {fix}".strip() + more)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (for listing its known fields)."""
    model: type[BaseModel] = PluginConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        found = next((t for t in inner if isinstance(t, type) and issubclass(t, BaseModel)), None)
        if found is None:
            return None
        model = found
    return model
