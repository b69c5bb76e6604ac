"""No module over 400 lines and no function over 60 (the team's limits), listing every offender."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "litellm_router_plugin"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def long_modules(package: Path, limit: int = MAX_MODULE_LINES) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        lines = len(path.read_text().splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(package.parent)}: {lines} lines")
    return found


def long_functions(package: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Functions (methods, nested ones too) whose body from ``def`` (decorators excluded) exceeds ``limit``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno} {node.name}: {lines} lines")
    return found


def test_no_module_is_over_400_lines() -> None:
    offenders = long_modules(PACKAGE)
    assert offenders == [], "split these modules:\n" + "\n".join(offenders)


def test_no_function_is_over_60_lines() -> None:
    offenders = long_functions(PACKAGE)
    assert offenders == [], "split these functions:\n" + "\n".join(offenders)


def test_the_checks_find_an_offender(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (package / "big.py").write_text(f"def long():\n{body}\n" + "\n" * 340)
    (package / "small.py").write_text("def short():\n    return 1\n")
    assert long_functions(package) == ["pkg/big.py:1 long: 61 lines"]
    assert long_modules(package) == ["pkg/big.py: 401 lines"]
