"""Every README code block marked ``<!-- runnable -->`` runs as written, from the repository root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKED = re.compile(r"<!-- runnable -->\n```(\w+)\n(.*?)\n```", re.DOTALL)
BLOCKS = MARKED.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_runnable_blocks() -> None:
    assert {lang for lang, _ in BLOCKS} == {"bash", "python"}


@pytest.mark.parametrize(("lang", "code"), BLOCKS, ids=[f"{lang}-{i}" for i, (lang, _) in enumerate(BLOCKS)])
def test_readme_block_runs(lang: str, code: str, tmp_path: Path) -> None:
    # The virtualenv's commands first, as after `make` (or `pip install`).
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if lang == "bash":
        args = ["bash", "-euo", "pipefail", "-c", code]
    else:
        script = tmp_path / "readme_block.py"
        script.write_text(code, encoding="utf-8")
        args = [sys.executable, str(script)]
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
