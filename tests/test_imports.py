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
        lrp.AgentClassifier
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


@pytest.mark.parametrize("order", ["litellm first", "plugin first"])
def test_the_bundled_price_map_wins_whatever_the_import_order(order: str) -> None:
    # A loopback "remote" price map that differs from the bundled one in one price: litellm loads it
    # when imported on its own; importing the plugin must bring the bundled map back.
    code = """
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
        if ORDER == "litellm first":
            import litellm
            assert litellm.model_cost["gpt-4o-mini"]["input_cost_per_token"] == 1.0, "the test's remote map"
        import litellm_router_plugin
        import litellm
        assert litellm.model_cost["gpt-4o-mini"]["input_cost_per_token"] == expected, "bundled price expected"
        assert litellm_router_plugin.price_for("gpt-4o-mini").input_per_token == expected
        print("ok")
        """
    result = run_python(code.replace("ORDER", repr(order)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
