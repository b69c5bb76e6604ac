"""What importing the package costs and does, each in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_heuristic_path_does_not_import_pydantic_ai() -> None:
    result = run_python(
        """
        import sys
        import litellm_router_plugin as lrp
        from litellm_router_plugin.cli import app
        from litellm_router_plugin import Planner, PluginConfig, build_router
        build_router()
        Planner(PluginConfig.load(None))
        print("pydantic_ai" in sys.modules)
        from litellm_router_plugin.classify.agent import AgentClassifier  # noqa: F401
        Planner(PluginConfig.load({"classifier": {"kind": "agent", "agent_model": "test"}}))
        print("pydantic_ai" in sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_the_pytest_plugin_does_not_import_litellm() -> None:
    result = run_python(
        """
        import sys
        import litellm_router_plugin.evaluation.pytest_plugin
        heavy = ("litellm", "pydantic_ai", "litellm_router_plugin.evaluation.evals")
        print(sorted(m for m in heavy if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


_REMOTE_MAP = """
        import importlib.util, json, pathlib, threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        package = pathlib.Path(importlib.util.find_spec("litellm").origin).parent  # without importing it
        bundled = json.loads((package / "model_prices_and_context_window_backup.json").read_bytes())
        expected = bundled["gpt-4o-mini"]["input_cost_per_token"]
        remote = dict(bundled, **{"gpt-4o-mini": dict(bundled["gpt-4o-mini"], input_cost_per_token=1.0)})
        body = json.dumps(remote).encode()

        class Serve(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", 0), Serve)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        import os
        os.environ["LITELLM_MODEL_COST_MAP_URL"] = f"http://127.0.0.1:{server.server_port}/prices.json"
"""


@pytest.mark.parametrize("order", ["litellm first", "plugin first"])
def test_importing_the_package_leaves_litellms_price_map_alone(order: str) -> None:
    # A loopback "remote" price map that differs from the bundled one in one price: LiteLLM loads it,
    # and the plugin prices with it, whatever the import order (a proxy that wants the live map keeps it).
    code = (
        _REMOTE_MAP
        + """
        if ORDER == "litellm first":
            import litellm
        import litellm_router_plugin
        import litellm_router_plugin.pricing
        import litellm
        assert litellm.model_cost["gpt-4o-mini"]["input_cost_per_token"] == 1.0, "the live (remote) map expected"
        assert litellm_router_plugin.pricing.price_for("gpt-4o-mini").input_per_token == 1.0
        print("ok")
        """
    )
    result = run_python(code.replace("ORDER", repr(order)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("how", ["environment", "explicit call"])
def test_offline_prices_are_an_explicit_setting(how: str) -> None:
    # LiteLLM's own LITELLM_LOCAL_MODEL_COST_MAP=True before its import, or use_bundled_price_map() after it.
    code = (
        _REMOTE_MAP
        + """
        import litellm
        from litellm_router_plugin._litellm import use_bundled_price_map
        if HOW == "explicit call":
            assert litellm.model_cost["gpt-4o-mini"]["input_cost_per_token"] == 1.0
            use_bundled_price_map()
        assert litellm.model_cost["gpt-4o-mini"]["input_cost_per_token"] == expected, "bundled price expected"
        print("ok")
        """
    )
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"} if how == "environment" else {}
    result = run_python(code.replace("HOW", repr(how)), **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
