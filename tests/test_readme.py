"""Every README code block marked ``<!-- runnable -->`` runs as written, from the repository root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# -- the command table matches the commands (issue 26) ---------------------------------------------------

TABLE = re.compile(r"^\| command \| what it does \|\n\|---\|---\|\n((?:\|.*\n)+)", re.MULTILINE)


def _readme_commands() -> dict[str, set[str]]:
    """Each command of the README's table and the flags it names there."""
    table = TABLE.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert table is not None, "the README's command table is gone"
    commands: dict[str, set[str]] = {}
    for row in table.group(1).splitlines():
        first_cell = row.split(" | ")[0]
        for usage in first_cell.split("`")[1::2]:  # one row may show several commands: `a` / `b`
            words = usage.split()
            name = " ".join(words[:2]) if words[0] in ("bench", "models") else words[0]
            commands[name] = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", usage))
    return commands


def _cli_commands() -> dict[str, set[str]]:
    import typer

    from litellm_router_plugin.cli import app

    group: Any = typer.main.get_command(app)  # typer's group (its own copy of click's classes)
    found: dict[str, set[str]] = {}
    for name, command in group.commands.items():
        nested = getattr(command, "commands", None)
        subcommands = nested.items() if nested else [("", command)]
        for sub, leaf in subcommands:
            flags = {opt for p in leaf.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("-")}
            found[f"{name} {sub}".strip()] = flags
    return found


def test_the_command_table_lists_every_command_and_only_flags_that_exist() -> None:
    readme, cli = _readme_commands(), _cli_commands()
    assert set(readme) == set(cli)
    for name, flags in readme.items():
        assert flags <= cli[name], f"{name}: the README names {sorted(flags - cli[name])}, which do not exist"
