"""``litellm-router``: the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from litellm_router_plugin.admission import store_from_config
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.costs import summarise_ledger
from litellm_router_plugin.demo import run_demo
from litellm_router_plugin.errors import RouterPluginError
from litellm_router_plugin.planner import Planner

app = typer.Typer(help="Cost-aware routing for LiteLLM.", no_args_is_help=True, add_completion=False)
console = Console()
# The demo table needs ~110 columns; pipes and CI report 80, so widen rather than wrap.
wide_console = Console(width=max(console.width, 112))

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="PluginConfig file (YAML or JSON); default: built-in tiers.")
]


def _planner(config: Path | None) -> Planner:
    try:
        return Planner(PluginConfig.load(config))
    except RouterPluginError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def demo(config: ConfigOption = None) -> None:
    """Route ~20 varied prompts through a real litellm.Router with mock responses (offline, no keys)."""
    planner = _planner(config)
    rows = asyncio.run(run_demo(planner))
    table = Table(title=f"model={planner.alias!r} routed by {planner.classifier.name}")
    table.add_column("prompt", no_wrap=True, overflow="ellipsis", max_width=34)
    for column in ("category", "score", "tier", "model", "est. cost"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("score", "est. cost") else "left")
    for row in rows:
        excerpt = " ".join(row.prompt.split())
        table.add_row(excerpt, row.category, str(row.score), row.tier, row.model, f"${row.estimated_cost_usd:.6f}")
    wide_console.print(table)
    routed = sum(r.estimated_cost_usd for r in rows)
    strongest = sum(r.strongest_cost_usd for r in rows)
    tiers = sorted({r.tier for r in rows}, key=planner.tier_map.names.index)
    wide_console.print(f"{len(rows)} prompts over {len(tiers)} tiers ({', '.join(tiers)}).")
    saved = 1 - routed / strongest if strongest else 0.0
    wide_console.print(
        f"Estimated cost: routed ${routed:.6f} vs all to the strongest tier "
        f"({planner.tier_map.strongest.name}) ${strongest:.6f}: {saved:.1%} saved."
    )


@app.command()
def route(
    prompt: Annotated[str, typer.Argument(help="The user prompt to plan for.")],
    config: ConfigOption = None,
) -> None:
    """Print the routing decision for one prompt as JSON (no model is called)."""
    planner = _planner(config)
    decision = asyncio.run(planner.plan([{"role": "user", "content": prompt}]))
    typer.echo(json.dumps(decision.model_dump(mode="json"), indent=2))


@app.command()
def stats(
    config: ConfigOption = None,
    limit: Annotated[int | None, typer.Option(help="Only the newest N ledger rows.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Spend from the shared ledger by tier, model, user and day, and savings against all-strongest."""
    try:
        plugin_config = PluginConfig.load(config)
        summary = summarise_ledger(asyncio.run(_ledger(plugin_config, limit)))
    except RouterPluginError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2, sort_keys=True))
        return
    console.print(
        f"{summary.calls} calls ({summary.failed} failed) from {plugin_config.store.kind} store: "
        f"${summary.total_usd:.6f} spent vs ${summary.strongest_usd:.6f} all-strongest "
        f"({summary.savings_ratio:.1%} saved)"
    )
    for title, bucket in (
        ("tier", summary.by_tier),
        ("model", summary.by_model),
        ("user", summary.by_user),
        ("day", summary.by_day),
    ):
        table = Table(title=f"spend by {title}")
        table.add_column(title)
        table.add_column("USD", justify="right")
        for key, usd in sorted(bucket.items(), key=lambda kv: -kv[1]):
            table.add_row(key, f"${usd:.6f}")
        console.print(table)


@app.command("test")
def run_tests(
    path: Annotated[Path, typer.Argument(help="A .py file or a folder of eval cases.")],
    live: Annotated[bool, typer.Option("--live", help="Call the real models (needs keys); default: mocked.")] = False,
) -> None:
    """Run eval cases (@eval_case, EvalSuite) and print pass/fail and cost per case."""
    from litellm_router_plugin.evals import discover, report

    try:
        suites = discover(path)
    except RouterPluginError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    count = sum(len(s.cases) for s in suites)
    if not count:
        console.print(f"[red]error:[/red] no eval cases found in {path}")
        raise typer.Exit(2)
    typer.echo(f"Running {count} eval case(s)...\n")

    async def run_all() -> list[Any]:
        results = []
        for suite in suites:
            results += await suite.run(live=live)
        return results

    if not report(asyncio.run(run_all()), typer.echo):
        raise typer.Exit(1)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
) -> None:
    """Serve /route (a decision, no call), /stats (the shared ledger) and /metrics (Prometheus)."""
    import uvicorn

    from litellm_router_plugin.router import admission_for
    from litellm_router_plugin.server import create_app

    planner = _planner(config)
    uvicorn.run(create_app(planner, admission_for(planner)), host=host, port=port, log_level="warning")


@app.command("fake-upstream")
def fake_upstream(
    host: Annotated[str, typer.Option(help="Loopback interface only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9100,
) -> None:
    """A fake OpenAI-compatible upstream for tests and benchmarks (latency, errors, hangs, bad JSON)."""
    import uvicorn

    from litellm_router_plugin.fake_upstream import create_app as create_fake

    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print("[red]error:[/red] the fake upstream listens on loopback only")
        raise typer.Exit(2)
    uvicorn.run(create_fake(), host=host, port=port, log_level="warning")


async def _ledger(config: PluginConfig, limit: int | None) -> list[dict[str, object]]:
    store = store_from_config(config)
    try:
        return await store.ledger(limit)
    finally:
        await store.aclose()


if __name__ == "__main__":  # pragma: no cover
    app()
