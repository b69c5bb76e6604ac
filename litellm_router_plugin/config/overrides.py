"""``RequestOverrides``: the per-request settings a caller sends in ``metadata["router"]``.

The one reading of that mapping: a malformed value, an unknown key or a tier the policy lacks is one
``ConfigError`` naming the field (``metadata.router.<key>``) and what it accepts, wherever the request
came in (a client's 400). The request object (``pipeline.request``) holds the parsed model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from litellm_router_plugin.config.behaviour import CheckName
from litellm_router_plugin.config.common import OVERRIDES_KEY
from litellm_router_plugin.errors import ConfigError

_Fraction = Annotated[float, Field(strict=True, ge=0, le=1)]
_CHECKS = ("consistency", "logprobs", "verifier")


class RequestOverrides(BaseModel):
    """``metadata.router`` of one request, validated (see :meth:`parse`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, use_attribute_docstrings=True)

    tier: str | None = None
    """Force this tier (a tier name of the policy); only that tier is tried."""
    min_tier: str | None = None
    """The cheapest tier the request may use (a tier name, not above ``max_tier``)."""
    max_tier: str | None = None
    """The strongest tier the request may use (a tier name)."""
    cascade: bool | None = Field(default=None, strict=True)
    """Run the request as a cascade (``true``) or not (``false``); default: ``cascade.enabled``."""
    max_cost_usd: float | None = Field(default=None, strict=True, ge=0, allow_inf_nan=False)
    """The cascade's cost cap in USD; it may only lower the configured ``cascade.max_cost_usd``."""
    checks: tuple[CheckName, ...] | None = None
    """The cascade's confidence checks, in order (default: ``cascade.checks``)."""
    consistency_threshold: _Fraction | None = None
    """Agreement of two samples below which the cascade escalates (0-1)."""
    logprob_threshold: _Fraction | None = None
    """Mean token probability below which the cascade escalates (0-1)."""
    verifier_threshold: _Fraction | None = None
    """Verifier score below which the cascade escalates (0-1)."""
    reference: str | None = None
    """A reference answer for the learning loop's judge (numbers are kept as text)."""
    user: str | None = None
    """Who is charged (a Python caller's; the proxy sets it from the authenticated key)."""
    key: str | None = None
    """The API key charged (stored hashed; the proxy sets it from the authenticated key)."""
    team: str | None = None
    """The team charged (the proxy sets it from the authenticated key)."""
    authenticated: bool = Field(default=False, strict=True)
    """Set by the proxy hook: ``user``/``key``/``team`` come from the authenticated key alone."""
    litellm_budgets: tuple[dict[str, Any], ...] = ()
    """LiteLLM's key, user and team budgets, set by the proxy hook from the authenticated key."""

    IDENTITY: ClassVar[frozenset[str]] = frozenset({"user", "key", "team", "authenticated", "litellm_budgets"})
    """The fields the proxy hook sets from the authenticated key (a client's are dropped there)."""

    ACCEPTED: ClassVar[Mapping[str, str]] = {
        "tier": "Use a tier name.",
        "min_tier": "Use a tier name.",
        "max_tier": "Use a tier name.",
        "cascade": "Use true or false.",
        "max_cost_usd": "Write a finite, non-negative number of USD, e.g. 0.10.",
        "checks": f"Give a list of: {', '.join(_CHECKS)}.",
        "consistency_threshold": "Use a number between 0 and 1.",
        "logprob_threshold": "Use a number between 0 and 1.",
        "verifier_threshold": "Use a number between 0 and 1.",
        "reference": "Give the reference answer as text.",
        "user": "Use a string.",
        "key": "Use a string.",
        "team": "Use a string.",
        "authenticated": "Use true or false (the proxy sets it).",
        "litellm_budgets": "Leave it to the proxy hook.",
    }
    """What each field accepts, for the error a malformed value gets."""

    @property
    def has_tiers(self) -> bool:
        """Whether any tier override is set."""
        return self.tier is not None or self.min_tier is not None or self.max_tier is not None

    def check_tiers(self, tiers: Sequence[str]) -> None:
        """Raise the ``ConfigError`` of a tier override that is not one of ``tiers`` (cheapest first),
        or of a ``min_tier`` above ``max_tier``."""
        for key in ("tier", "min_tier", "max_tier"):
            name = getattr(self, key)
            if name is not None and name not in tiers:
                raise unknown_tier(key, name, tiers)
        low, high = self.min_tier, self.max_tier
        if low is not None and high is not None and tiers.index(low) > tiers.index(high):
            raise ConfigError(f"metadata.{OVERRIDES_KEY}.min_tier", low, "min_tier must not be above max_tier.")

    @classmethod
    def parse(cls, raw: object, tiers: Sequence[str] | None = None) -> RequestOverrides:
        """``raw`` (the value of ``metadata["router"]``; ``None`` is none) as overrides; ``tiers``: the
        policy's tier names, cheapest first, to check the tier overrides against."""
        if raw is None or (isinstance(raw, Mapping) and not raw):
            return _NONE
        if not isinstance(raw, Mapping):
            raise ConfigError(f"metadata.{OVERRIDES_KEY}", raw, 'Pass a mapping, e.g. {"min_tier": "moderate"}.')
        key = _cache_key(raw, tiers)
        parsed = _PARSED.get(key) if key is not None else None
        if parsed is not None:
            return parsed
        try:
            parsed = cls.model_validate(raw)
        except ValidationError as exc:
            raise _config_error(exc, raw, tiers) from None
        if tiers is not None:
            parsed.check_tiers(tiers)
        if key is not None:
            if len(_PARSED) >= _PARSED_KEPT:
                _PARSED.clear()
            _PARSED[key] = parsed
        return parsed

    @classmethod
    def of(cls, request: Mapping[str, Any], tiers: Sequence[str] | None = None) -> RequestOverrides:
        """The overrides of a request (LiteLLM's kwargs): its ``metadata["router"]``."""
        metadata = request.get("metadata")
        if type(metadata) is dict or isinstance(metadata, Mapping):  # a dict skips the ABC check
            return cls.parse(metadata.get(OVERRIDES_KEY), tiers)
        return cls.parse(None, tiers)

    def client_settings(self) -> dict[str, Any]:
        """What a client set, without the identity fields (``IDENTITY``: the proxy hook sets those)."""
        if self is _NONE:
            return {}
        return self.model_dump(exclude_defaults=True, exclude=set(self.IDENTITY))


def unknown_tier(key: str, name: object, tiers: Sequence[str]) -> ConfigError:
    """The error of a tier override naming no tier of the policy."""
    return ConfigError(f"metadata.{OVERRIDES_KEY}.{key}", name, f"Use one of the tiers: {', '.join(tiers)}.")


def _config_error(exc: ValidationError, raw: Mapping[str, Any], tiers: Sequence[str] | None) -> ConfigError:
    """The first validation error as the ``ConfigError`` a client reads."""
    first = exc.errors(include_url=False)[0]
    key = str(first["loc"][0]) if first["loc"] else ""
    field = f"metadata.{OVERRIDES_KEY}.{key}" if key else f"metadata.{OVERRIDES_KEY}"
    if first["type"] == "extra_forbidden":
        known = ", ".join(RequestOverrides.model_fields)
        return ConfigError(field, raw.get(key), f"Not a setting; use one of: {known}.")
    if key in ("tier", "min_tier", "max_tier") and tiers is not None:
        return unknown_tier(key, raw.get(key), tiers)
    fix = RequestOverrides.ACCEPTED.get(key, str(first["msg"]))
    return ConfigError(field, raw.get(key, first.get("input")), fix)


_NONE = RequestOverrides()

# Parsed overrides by what was sent, for mappings of plain values only: the proxy hook sets the
# authenticated identity on every request and the request is read more than once, so the same few
# mappings come back again and again (validating one costs several microseconds).
_PARSED: dict[tuple[Any, ...], RequestOverrides] = {}
_PARSED_KEPT = 1024


def _cache_key(raw: Mapping[str, Any], tiers: Sequence[str] | None) -> tuple[Any, ...] | None:
    """The key ``raw`` is parsed under, or ``None`` (not kept) when a value is not a string, a bool,
    ``None`` or an empty list. The type is part of the key: ``1`` and ``True`` are equal but not the
    same override (a strict field takes one and refuses the other)."""
    items: list[Any] = [None if tiers is None else tuple(tiers)]
    for name, value in raw.items():
        kind = type(value)
        if kind is str or kind is bool or value is None:
            items.append((name, kind, value))
        elif (kind is list or kind is tuple) and not value:
            items.append((name, kind, ()))
        else:
            return None
    return tuple(items)
