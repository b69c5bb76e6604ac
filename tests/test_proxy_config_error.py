"""A mistake in the proxy's plugin config is shown first and alone, and stops the proxy (issue 26)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.proxy_harness import free_port

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "proxy"
BIN = Path(sys.executable).parent


def test_a_misspelt_field_stops_the_proxy_with_one_line(tmp_path: Path) -> None:
    for name in ("config.yaml", "router_plugin.py", "demo_keys.yaml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    good = (EXAMPLE / "plugin-offline.yaml").read_text(encoding="utf-8")
    assert "    deployments:\n" in good
    (tmp_path / "plugin.yaml").write_text(good.replace("    deployments:\n", "    deploymnets:\n", 1), encoding="utf-8")
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_ROUTER_PLUGIN_CONFIG": str(tmp_path / "plugin.yaml"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
    }
    args = [str(BIN / "litellm"), "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(free_port())]
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False)
    output = (result.stdout + result.stderr).strip().splitlines()
    ours = [line for line in output if line.startswith("error:")]
    assert result.returncode == 2, "\n".join(output[-20:])
    assert len(ours) == 1
    assert ours[0].startswith("error: router plugin config (")
    assert "tiers[0].deploymnets: invalid value" in ours[0]  # the misspelt field, not "deployments ... required"
    assert "Traceback" not in result.stdout + result.stderr
    assert len(output) < 60  # LiteLLM's banner and our line (was ~389 lines, the error near the end)
