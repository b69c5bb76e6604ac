"""What earlier attempts of the same request tell a retry: which deployments failed, and whether
the failure is one a dearer tier cannot fix (credentials, permissions, a wrong model name, a bad
request), in which case the retry stays in the failed attempt's tier and, once that tier is
exhausted, the caller gets that error (same LiteLLM type and status), not a dearer model's answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from litellm_router_plugin._litellm import litellm

# LiteLLM exception names -> how to raise the same error again (status code included).
_CONFIG_FAULTS: dict[str, tuple[Any, int]] = {
    "AuthenticationError": (litellm.AuthenticationError, 401),
    "PermissionDeniedError": (litellm.PermissionDeniedError, 403),
    "NotFoundError": (litellm.NotFoundError, 404),
    "BadRequestError": (litellm.BadRequestError, 400),
    "UnprocessableEntityError": (litellm.UnprocessableEntityError, 422),
}


# LiteLLM reports a deployment without credentials as a 500 ("Missing credentials", "Missing Gemini
# API key"): a configuration fault that looks transient.
_MISSING_CREDENTIALS = re.compile(r"missing credentials|missing \w+ api key|api_key client option must be set", re.I)


def _fault_kind(exception_type: str, message: str) -> str | None:
    """The LiteLLM exception name a failure should be replayed as, if escalation cannot fix it."""
    if exception_type in _CONFIG_FAULTS:
        return exception_type
    return "AuthenticationError" if _MISSING_CREDENTIALS.search(message) else None


def is_config_fault(error: BaseException) -> bool:
    """Whether ``error`` is one escalation cannot fix: credentials, permission, not found, bad request."""
    return fault_kind(error) is not None


def fault_kind(error: BaseException) -> str | None:
    """The LiteLLM exception name ``error`` replays as when escalation cannot fix it, else ``None``."""
    for name, (kind, _) in _CONFIG_FAULTS.items():
        if isinstance(error, kind):
            return name
    return _fault_kind(type(error).__name__, str(error))


@dataclass(frozen=True, slots=True)
class Attempts:
    """Earlier attempts of this request, from LiteLLM's ``metadata["previous_models"]``."""

    failed: frozenset[str] = frozenset()
    fault: Mapping[str, Any] | None = None
    """The latest attempt that failed with a configuration fault, if any."""

    @classmethod
    def of(cls, request: Mapping[str, Any]) -> Attempts:
        """Read the attempts LiteLLM's Router recorded in the request's metadata."""
        metadata = request.get("metadata")
        records = metadata.get("previous_models") if isinstance(metadata, Mapping) else None
        if not isinstance(records, list | tuple):
            return cls()
        records = [r for r in records if isinstance(r, Mapping)]
        failed = frozenset(str(r["deployment_id"]) for r in records if r.get("deployment_id"))
        faults = [
            {**r, "replay_as": kind}
            for r in records
            if r.get("deployment_id")
            and (kind := _fault_kind(str(r.get("exception_type")), str(r.get("exception_string") or "")))
        ]
        return cls(failed, faults[-1] if faults else None)

    def replay(self) -> Exception:
        """The configuration fault as LiteLLM's exception of the same type and status, for the caller."""
        assert self.fault is not None
        kind, status = _CONFIG_FAULTS[str(self.fault["replay_as"])]
        message = str(self.fault.get("exception_string") or "")
        model = str(self.fault.get("model") or "")
        response = httpx.Response(status, request=httpx.Request("POST", "http://router-plugin/replayed"))
        error: Exception = kind(message=message, model=model, llm_provider="", response=response)
        error.num_retries = 0  # type: ignore[attr-defined]
        return error
