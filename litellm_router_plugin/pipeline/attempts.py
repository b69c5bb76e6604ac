"""What earlier attempts of the same request tell a retry: which deployments failed, and whether
the failure is one a dearer tier cannot fix (credentials, permissions, a wrong model name, a bad
request), in which case the retry stays in the failed attempt's tier."""

from __future__ import annotations

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


def is_config_fault(error: BaseException) -> bool:
    """Whether ``error`` is one escalation cannot fix (auth, permission, not found, bad request)."""
    return type(error).__name__ in _CONFIG_FAULTS or any(isinstance(error, kind) for kind, _ in _CONFIG_FAULTS.values())


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
        faults = [r for r in records if r.get("exception_type") in _CONFIG_FAULTS and r.get("deployment_id")]
        return cls(failed, faults[-1] if faults else None)

    def replay(self) -> Exception:
        """The configuration fault as LiteLLM's exception of the same type and status, for the caller."""
        assert self.fault is not None
        kind, status = _CONFIG_FAULTS[str(self.fault["exception_type"])]
        message = str(self.fault.get("exception_string") or "")
        model = str(self.fault.get("model") or "")
        response = httpx.Response(status, request=httpx.Request("POST", "http://router-plugin/replayed"))
        error: Exception = kind(message=message, model=model, llm_provider="", response=response)
        error.num_retries = 0  # type: ignore[attr-defined]
        return error
