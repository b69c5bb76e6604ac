"""LiteLLM's proxy imports its OpenTelemetry logger on every request; where it cannot be imported,
that import fails once instead of on every request.

``user_api_key_auth`` (LiteLLM 1.108-1.110) runs ``from litellm.integrations.otel.logger import ...``
inside every authenticated request, best-effort. Without ``opentelemetry-sdk`` installed the import
fails, Python keeps no module, and the next request loads and runs the module's code again until
it fails again: 0.4-0.8 ms of CPU a request in a proxy worker (``bench/profile_proxy.py --timer cpu``:
one ``marshal.loads`` of its bytecode a request), more in the plugin's process (it imports more of
``opentelemetry``, so each attempt gets further). Python's own marker for "this module cannot be
imported", ``None`` in ``sys.modules``, makes every later import raise ``ImportError`` at once: what
LiteLLM's code already catches, without running the module again. With the SDK installed the import
succeeds and nothing is changed.
"""

from __future__ import annotations

import importlib
import logging
import sys

logger = logging.getLogger(__name__)

OTEL_LOGGER = "litellm.integrations.otel.logger"
"""The module LiteLLM's proxy imports on every request."""


def remember_unavailable_otel(module: str = OTEL_LOGGER) -> bool:
    """Import ``module`` once; if it cannot be imported, mark it so in ``sys.modules`` (later imports
    fail at once). Whether it was marked now."""
    if module in sys.modules:
        return False  # imported already, or marked
    try:
        importlib.import_module(module)
    except ImportError as exc:
        sys.modules[module] = None  # type: ignore[assignment]  # Python's "cannot be imported" marker
        logger.debug("%s cannot be imported (%s): later imports fail at once", module, exc)
        return True
    return False
