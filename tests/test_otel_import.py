"""A module that cannot be imported fails once, not on every request (``integrations.otel_import``):
LiteLLM's proxy imports its OpenTelemetry logger inside every authenticated request."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from litellm_router_plugin.integrations.otel_import import OTEL_LOGGER, remember_unavailable_otel


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> Path:
    """A module ``name`` on ``sys.path`` that appends a line to ``runs.txt`` each time it runs."""
    runs = tmp_path / "runs.txt"
    record = f"with open({str(runs)!r}, 'a') as runs:\n    runs.write('ran\\n')\n"
    (tmp_path / f"{name}.py").write_text(record + body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)  # and restored after the test
    return runs


def test_a_module_that_cannot_be_imported_runs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _module(tmp_path, monkeypatch, "lrp_unimportable", "import lrp_package_that_is_not_installed\n")
    for _ in range(3):  # what Python does for LiteLLM's per-request import: the module runs every time
        with pytest.raises(ImportError):
            importlib.import_module("lrp_unimportable")
    assert runs.read_text().count("ran") == 3

    assert remember_unavailable_otel("lrp_unimportable") is True
    for _ in range(3):
        with pytest.raises(ImportError):  # still an ImportError, as the caller's code expects
            importlib.import_module("lrp_unimportable")
    assert runs.read_text().count("ran") == 4  # once more, for the one marking attempt
    assert remember_unavailable_otel("lrp_unimportable") is False  # marked already


def test_a_module_that_imports_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _module(tmp_path, monkeypatch, "lrp_importable", "VALUE = 1\n")
    assert remember_unavailable_otel("lrp_importable") is False
    assert importlib.import_module("lrp_importable").VALUE == 1
    assert runs.read_text().count("ran") == 1


def test_litellms_per_request_otel_step_still_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """With LiteLLM's own module: marked where opentelemetry-sdk is missing (as in this project's
    environment), and LiteLLM's per-request step (best-effort) still completes."""
    if importlib.util.find_spec("opentelemetry.sdk") is not None:
        pytest.skip("opentelemetry-sdk is installed: LiteLLM's OTel logger imports, nothing to mark")
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.auth import user_api_key_auth

    monkeypatch.delitem(sys.modules, OTEL_LOGGER, raising=False)  # restored after the test
    assert remember_unavailable_otel() is True
    assert sys.modules[OTEL_LOGGER] is None
    with pytest.raises(ImportError):
        importlib.import_module(OTEL_LOGGER)
    user_api_key_auth._seed_request_destinations(UserAPIKeyAuth(api_key="hashed", user_id="ann"))


def test_the_proxy_plugin_marks_it_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("opentelemetry.sdk") is not None:
        pytest.skip("opentelemetry-sdk is installed: LiteLLM's OTel logger imports, nothing to mark")
    from litellm_router_plugin.integrations.proxy import ProxyRouterPlugin

    monkeypatch.delitem(sys.modules, OTEL_LOGGER, raising=False)  # restored after the test
    ProxyRouterPlugin({"tiers": [{"name": "only", "deployments": [{"model": "gpt-4o-mini"}]}]}, mount_routes=False)
    assert sys.modules[OTEL_LOGGER] is None
