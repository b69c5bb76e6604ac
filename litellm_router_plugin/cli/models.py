"""``litellm-router models``: learned model versions in the shared store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from litellm_router_plugin.cli.base import (
    ConfigOption,
    app,
    console,
    fail,
    user_errors,
)
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.guards.admission import store_from_config

models_app = typer.Typer(help="Learned model versions in the shared store (learning.enabled).", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _models(config: Path | None, action: str, version: str | None = None) -> Any:
    """Run one registry action on the store the config names (see ``learning/versions.py``)."""
    from litellm_router_plugin.learning.versions import Registry
    from litellm_router_plugin.state.learning import learning_state

    async def run() -> Any:
        store = store_from_config(PluginConfig.load(config))
        try:
            registry = Registry(learning_state(store))
            if action == "promote":
                assert version is not None
                return await registry.promote(version)
            return await (registry.rollback() if action == "rollback" else registry.listing())
        finally:
            if store.durable is not None:
                await store.durable.aclose()
            await store.aclose()

    with user_errors():
        return asyncio.run(run())


@models_app.command("list")
def models_list(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every stored version, newest first, with the figures that decided it; * marks the current one."""
    rows = _models(config, "list")
    if as_json:
        typer.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    if not rows:
        console.print("no learned model yet: the configured classifier routes")
        return
    table = Table(title="learned models")
    for column in ("", "version", "outcomes", "fit", "candidate APGR", "compared with", "its APGR", "promoted"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            "*" if r["current"] else "",
            r["version"],
            str(r.get("outcomes", "")),
            _fit(r),
            f"{r.get('candidate_apgr', float('nan')):.4f}",
            str(r.get("compared_with", "")),
            f"{r.get('current_apgr', float('nan')):.4f}",
            "yes" if r.get("promote") else "no",
        )
    console.print(table)


def _fit(row: dict[str, Any]) -> str:
    """The way the fit went (``no_change``, ``fixed_offset 100.0``, ...); blank for older versions."""
    candidate = row.get("candidate")
    if candidate is None:
        return ""
    return f"{candidate} {row['penalty']}" if row.get("penalty") is not None else str(candidate)


@models_app.command("promote")
def models_promote(
    version: Annotated[str, typer.Argument(help="A version from `models list`.")], config: ConfigOption = None
) -> None:
    """Make VERSION current: every worker routes with it from its next request."""
    status, previous = _models(config, "promote", version)
    if status == "unknown":
        fail(f"no stored model version {version!r}; see `litellm-router models list`")
    console.print(
        f"{version} is current" + (f" (was {previous or 'the configured classifier'})" if status == "ok" else "")
    )


@models_app.command("rollback")
def models_rollback(config: ConfigOption = None) -> None:
    """Back to the version promoted before the current one (or the configured classifier)."""
    dropped, now = _models(config, "rollback")
    if dropped is None:
        console.print("nothing to roll back: the configured classifier routes")
        return
    console.print(f"rolled back {dropped}; now current: {now or 'the configured classifier'}")
