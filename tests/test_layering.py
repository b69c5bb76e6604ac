"""The import contracts (pyproject's [tool.importlinter]) hold, and catch a deliberately wrong import."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        ("state/base.py", "litellm_router_plugin.routing.plan", "Layers"),
        ("guards/budget.py", "litellm_router_plugin.routing.tiers", "Layers"),
        ("classify/heuristic.py", "litellm_router_plugin.state.memory", "Layers"),
        ("pricing.py", "litellm_router_plugin.integrations.router", "never imports an adapter"),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path: Path, module: str, wrong_import: str, contract: str) -> None:
    shutil.copytree(ROOT / "litellm_router_plugin", tmp_path / "litellm_router_plugin")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "litellm_router_plugin" / module
    target.write_text(target.read_text() + f"\nimport {wrong_import}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert wrong_import in result.stdout
    assert any(contract in name for name in broken_contracts(result.stdout))


def broken_contracts(report: str) -> list[str]:
    """Names of the contracts lint-imports reports BROKEN (names may wrap across lines)."""
    plain = re.sub(r"\x1b\[[\d;]*m", "", report)  # some import-linter versions colour even a pipe
    flat = " ".join(plain.split())
    listing = flat[flat.index("dependencies.") : flat.index("Contracts:")]
    names, broken = re.split(r" (KEPT|BROKEN)", listing), []
    for name, verdict in zip(names[::2], names[1::2], strict=False):
        if verdict == "BROKEN":
            broken.append(name.rsplit("-", 1)[-1].strip())
    return broken
