"""Errors raised by litellm-router-plugin.

Refusals also subclass LiteLLM's closest exception, so ``except litellm.BudgetExceededError`` (or
``litellm.ServiceUnavailableError``) around ``Router.acompletion`` catches them::

    RouterPluginError
    ├── ConfigError               the configuration is wrong; the message names the field and the fix
    │   └── UnknownModelError     a model has no price in LiteLLM's table nor in the config
    ├── BudgetExceededError       also litellm.BudgetExceededError (422; 429 from the proxy): nothing was called
    ├── CircuitBreakerOpen        also litellm.ServiceUnavailableError (503): nothing was called
    ├── StoreUnavailableError     also litellm.ServiceUnavailableError (503): fail-closed refusal
    ├── StoreResetError           also litellm.ServiceUnavailableError (503): the store lost its data
    ├── NoDeploymentAvailable     also litellm.ServiceUnavailableError (503): no healthy deployment
    ├── UnsupportedRequest        also litellm.BadRequestError (400): no deployment can serve the request
    └── ModelNotAllowed           also litellm.PermissionDeniedError (403): the caller may not name this model

Every refusal carries ``num_retries = 0`` (LiteLLM's Router reads it as the retries an error
deserves) and ``should_retry`` (whether the same request can ever succeed later). How each one
reaches an HTTP client (the proxy, ``litellm-router serve``) is declared here too, on the class:
``http_status``, ``http_type`` and ``http_retry`` (read by ``integrations.http_errors``, the one mapper).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import httpx

from litellm_router_plugin._litellm import litellm


class RouterPluginError(Exception):
    """Base class of every error this package raises on purpose."""

    http_status: ClassVar[int | None] = None
    """The HTTP status a client gets for it (``None``: not a refusal the HTTP adapters answer themselves)."""
    http_type: ClassVar[str] = "router_plugin_error"
    """The OpenAI-style ``error.type`` of that answer."""

    @property
    def http_retry(self) -> float | bool | None:
        """Seconds for ``Retry-After``; ``False``: the same request cannot succeed (``x-should-retry:
        false``); ``None``: no retry header."""
        return None

    @property
    def http_message(self) -> str:
        """The message a client reads (the default: this error's own)."""
        return str(self)

    @property
    def http_param(self) -> str | None:
        """The request field at fault, when there is one."""
        return None


class ConfigError(RouterPluginError, ValueError):
    """Invalid configuration: names the field, the value found and what to write instead."""

    status_code = 400  # a bad per-request override is the client's error, and not worth a retry
    http_status = 400
    http_type = "invalid_request_error"
    http_retry = False

    def __init__(self, field: str, value: object, fix: str) -> None:
        self.field = field
        self.value = value
        self.fix = fix
        super().__init__(f"{field}: invalid value {value!r}. {fix}")

    @property
    def http_param(self) -> str | None:
        """The field named by the error."""
        return self.field


def checked_amount(field: str, value: object, unit: str = "USD", example: str = "0.10") -> float:
    """``value`` as a float if it is a finite, non-negative number; else a ``ConfigError`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, value, f"Write a number of {unit}, e.g. {example}.")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(field, value, f"Write a finite, non-negative number of {unit}.")
    return float(value)


def checked_positive(field: str, value: object) -> float:
    """``value`` as a float if it is a positive, finite number; else a ``ConfigError`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(field, value, "Use a positive, finite number.")
    return float(value)


class UnknownModelError(ConfigError):
    """A model that has no price in LiteLLM's table and no custom price in the config."""

    def __init__(self, field: str, model: str, nearest: Sequence[str]) -> None:
        self.model = model
        self.nearest = list(nearest)
        hint = f"Nearest keys in litellm.model_cost: {', '.join(self.nearest)}. " if self.nearest else ""
        super().__init__(
            field,
            model,
            f"{hint}Use one of those names, or give the deployment a price with "
            "`input_cost_per_token` and `output_cost_per_token` in its litellm_params "
            "(0 for a local model), or list it under `custom_prices`.",
        )


class _Refusal(RouterPluginError):
    """A refusal that is also one of LiteLLM's exceptions (the subclass's second base)."""

    message: str

    def _keep_ours(self, message: str, status: int) -> None:
        """After LiteLLM's ``__init__``: our plain message, the HTTP status, and no retries."""
        self.message = message  # LiteLLM prefixes its class name; keep ours plain
        self.status_code = status
        self.num_retries = 0  # LiteLLM's Router reads it as the retries an error deserves: a refusal, none

    def __str__(self) -> str:
        return self.message


class _Unavailable(_Refusal, litellm.ServiceUnavailableError):  # type: ignore[misc]
    """A 503 refusal that LiteLLM users catch as ``litellm.ServiceUnavailableError``."""

    should_retry = True  # the condition is temporary

    def __init__(self, message: str, model: str = "") -> None:
        litellm.ServiceUnavailableError.__init__(self, message, llm_provider="router_plugin", model=model)
        self._keep_ours(message, 503)
        self.max_retries = None


class NoDeploymentAvailable(_Unavailable):
    """Every tier the request may use has no healthy deployment."""

    http_status = 503
    http_type = "no_deployment_available"
    http_retry = 5.0

    def __init__(self, tiers: Sequence[str], reason: str) -> None:
        self.tiers = list(tiers)
        super().__init__(f"no healthy deployment in tiers {', '.join(self.tiers)}: {reason}")


class StoreUnavailableError(_Unavailable):
    """The shared store (Redis) cannot be reached; under fail-closed nothing is called."""

    http_status = 503
    http_type = "store_unavailable"
    # The client's message names no address (nor password); the cause stays in our logs.
    http_message = "Routing state store unavailable; request refused (fail-closed)."

    def __init__(self, store: str, cause: BaseException) -> None:
        self.store = store
        self.cause = cause
        super().__init__(
            f"{store} is unreachable ({type(cause).__name__}: {cause}); request refused because "
            "on_store_error='fail_closed'. Check the store, or set on_store_error='fail_open' to admit "
            "unaccounted requests while it is down."
        )

    def __reduce__(self) -> tuple[type[StoreUnavailableError], tuple[str, BaseException]]:
        # Picklable, so a worker process can report it (multiprocessing re-creates it from the args).
        return type(self), (self.store, self.cause)


class StoreResetError(_Unavailable):
    """The store has no epoch marker (new, or lost its data) and today's spend cannot be rebuilt: refused.

    ``reason`` says why it cannot be rebuilt (no ledger configured, the ledger unreachable and why);
    ``fix`` what the operator can do. The defaults are those of a store without a ledger."""

    http_status = 503
    http_type = "store_reset"  # the cause and the fix are in the message; logged once, in rebuild
    http_retry = 5.0

    def __init__(self, store: str, reason: str, fix: str | None = None) -> None:
        self.store = store
        self.reason = reason
        self.fix = fix or (
            "Run `litellm-router ack-reset` to accept today's counters starting from zero, or configure "
            "a durable ledger (ledger: {kind: postgres, dsn: ...}) to rebuild them."
        )
        super().__init__(
            f"{store} has no epoch marker (new, or lost its data) and {reason}; request refused because "
            f"budgets.on_reset='refuse'. {self.fix}"
        )

    def __reduce__(self) -> tuple[type[StoreResetError], tuple[str, str, str]]:
        return type(self), (self.store, self.reason, self.fix)


class UnsupportedRequest(_Refusal, litellm.BadRequestError):  # type: ignore[misc]
    """No deployment the request may use can serve it (vision, tools, context window...)."""

    should_retry = False
    http_status = 400
    http_type = "invalid_request_error"
    http_retry = False

    def __init__(self, missing: str, detail: str) -> None:
        self.missing = missing
        message = f"no deployment the request may use supports {missing}: {detail}"
        litellm.BadRequestError.__init__(self, message, model="", llm_provider="router_plugin")
        self._keep_ours(message, 400)


class BudgetExceededError(RouterPluginError, litellm.BudgetExceededError):  # type: ignore[misc]
    """A request would push a budget over its limit; nothing was called.

    ``retry_after``: seconds until the daily window resets (``None`` for a per-request limit, which
    the same request can never pass: ``should_retry`` is then false). ``note`` adds how the estimate
    was made when that matters (e.g. ``default_max_tokens`` assumed).
    """

    http_status = 429
    http_type = "budget_exceeded"

    def __init__(
        self,
        scope: str,
        limit: str,
        limit_usd: float,
        spent_usd: float,
        held_usd: float,
        asked_usd: float,
        *,
        retry_after: float | None = None,
        note: str = "",
    ):
        self.scope = scope
        self.limit = limit
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.held_usd = held_usd
        self.asked_usd = asked_usd
        self.retry_after = retry_after
        self.note = note
        if limit == "per_request":
            detail = f"asked ${asked_usd:.6f} > per-request limit ${limit_usd:.6f}"
        else:
            detail = (
                f"spent ${spent_usd:.6f} + held ${held_usd:.6f} + asked ${asked_usd:.6f} "
                f"> {limit} limit ${limit_usd:.6f}"
            )
        message = f"budget exceeded for {scope}: {detail}" + (f". {note}" if note else "")
        litellm.BudgetExceededError.__init__(
            self, current_cost=spent_usd + held_usd, max_budget=limit_usd, message=message
        )
        # LiteLLM's own status for a budget refusal (422 unless configured): its Router never retries
        # it. The proxy answers 429 with Retry-After (daily) or x-should-retry: false (per request).
        # LiteLLM's Router reads an exception's num_retries as the retries it deserves: a refusal, none.
        self.num_retries = 0

    @property
    def should_retry(self) -> bool:
        """A per-request refusal can never succeed; a daily one can, after the window resets."""
        return self.limit != "per_request"

    @property
    def http_retry(self) -> float | bool | None:
        """Until the window resets; a refusal without a reset (per request) cannot be retried."""
        return False if self.retry_after is None else self.retry_after

    def with_note(self, note: str) -> BudgetExceededError:
        """The same refusal with ``note`` appended to its message."""
        return BudgetExceededError(
            self.scope,
            self.limit,
            self.limit_usd,
            self.spent_usd,
            self.held_usd,
            self.asked_usd,
            retry_after=self.retry_after,
            note=note,
        )


class CircuitBreakerOpen(_Unavailable):
    """Every candidate deployment's circuit breaker is open; no network call was made."""

    http_status = 503
    http_type = "circuit_breaker_open"

    def __init__(self, names: list[str], retry_after: float) -> None:
        self.names = names
        self.retry_after = retry_after
        super().__init__(f"circuit breaker open for {', '.join(names)}; retry after {retry_after:.1f}s")

    @property
    def http_retry(self) -> float | bool | None:
        """When the first breaker may let a probe through (at least a second)."""
        return max(1, math.ceil(self.retry_after))


class ModelNotAllowed(_Refusal, litellm.PermissionDeniedError):  # type: ignore[misc]
    """The caller may not name this model (``alias_only``, or a tier name with ``allow_tier_models: false``)."""

    should_retry = False
    http_status = 403
    http_type = "model_not_allowed"
    http_retry = False

    def __init__(self, model: str, why: str) -> None:
        self.model_name = model
        message = f"model {model!r} not allowed: {why}"
        response = httpx.Response(403, request=httpx.Request("POST", "http://router-plugin/refused"))
        litellm.PermissionDeniedError.__init__(
            self, message, llm_provider="router_plugin", model=model, response=response
        )
        self._keep_ours(message, 403)
