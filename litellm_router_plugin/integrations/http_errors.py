"""The one mapping of our refusals to HTTP answers, for the proxy plugin and ``litellm-router serve``.

Each error class declares its answer (``http_status``, ``http_type``, ``http_retry``, ``http_message``,
``http_param`` in ``errors``); this module only writes it: an OpenAI-style body
``{"error": {"message", "type", "param", "code"}}`` and the retry header the OpenAI SDKs honour.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse

from litellm_router_plugin.errors import RouterPluginError

_NO_RETRY = {"x-should-retry": "false"}  # the OpenAI SDKs honour it: the same request cannot succeed


class RouterHTTPError(HTTPException):
    """An HTTP error the proxy turns into OpenAI-style JSON: ``{"error": {"message", "type", ...}}``."""

    def __init__(
        self,
        status_code: int,
        message: str,
        error_type: str,
        headers: dict[str, str] | None = None,
        param: str | None = None,
    ):
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.type = error_type
        self.param = param
        self.message = message

    def body(self) -> dict[str, Any]:
        """The OpenAI-style body."""
        return error_body(self.status_code, self.message, self.type, self.param)

    def response(self) -> JSONResponse:
        """The whole answer, for a FastAPI handler."""
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)


def error_body(status: int, message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "param": param, "code": str(status)}}


def retry_headers(retry: float | bool | None) -> dict[str, str] | None:
    """``Retry-After`` (whole seconds, rounded up) for a number, ``x-should-retry: false`` for ``False``."""
    if retry is None or retry is True:
        return None
    if retry is False:
        return dict(_NO_RETRY)
    return {"Retry-After": str(math.ceil(retry))}


def to_http_error(exc: BaseException) -> RouterHTTPError | None:
    """The client-facing error for one of our refusals (``None`` for anything else)."""
    if not isinstance(exc, RouterPluginError) or exc.http_status is None:
        return None
    return RouterHTTPError(
        exc.http_status, exc.http_message, exc.http_type, retry_headers(exc.http_retry), exc.http_param
    )


def invalid_request(message: str, param: str | None = None) -> JSONResponse:
    """A 400 ``invalid_request_error`` as OpenAI (and the LiteLLM proxy) write it."""
    return JSONResponse(error_body(400, message, "invalid_request_error", param), status_code=400)


def refusal(exc: RouterPluginError) -> JSONResponse:
    """One of our refusals as the proxy answers it, for a FastAPI handler (``serve``, the dashboard)."""
    error = to_http_error(exc)
    if error is None:  # pragma: no cover - only refusals with an HTTP answer are caught here
        raise exc
    return error.response()
