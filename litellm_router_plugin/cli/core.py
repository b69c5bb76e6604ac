"""``litellm-router`` core commands: demo, route, stats, test, serve, fake-upstream, ack-reset."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from litellm_router_plugin._litellm import use_bundled_price_map
from litellm_router_plugin.cli.base import (
    ConfigOption,
    PortOption,
    _decode,
    _one_line,
    _planner,
    app,
    console,
    err_console,
    fail,
    plural,
    user_errors,
    warn,
    wide_console,
)
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError, RouterPluginError, StoreUnavailableError
from litellm_router_plugin.guards.admission import store_from_config
from litellm_router_plugin.guards.stores import build_store
from litellm_router_plugin.tools.demo import run_cascade_demo, run_demo


@app.command()
def demo(config: ConfigOption = None) -> None:
    """Route ~20 varied prompts through a real litellm.Router with mock responses (offline, no keys)."""
    use_bundled_price_map()  # offline, deterministic prices: the demo's explicit choice
    planner = _planner(config)
    with user_errors():
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
    wide_console.print(f"{plural(len(rows), 'prompt')} over {plural(len(tiers), 'tier')} ({', '.join(tiers)}).")
    saved = 1 - routed / strongest if strongest else 0.0
    wide_console.print(
        f"Estimated cost: routed ${routed:.6f} vs all to the strongest tier "
        f"({planner.tier_map.strongest.name}) ${strongest:.6f}: {saved:.1%} saved."
    )
    _cascade_demo()


def _cascade_demo() -> None:
    """One cascade per question over the fake upstream: a confident answer kept, a weak one escalated."""
    rows = asyncio.run(run_cascade_demo())
    wide_console.print(
        "\nCascade (fake upstream on loopback): two samples per step; escalate a tier when they disagree."
    )
    for row in rows:
        steps = " + ".join(f"{tier} ${usd:.7f}" for tier, usd in row.step_costs)
        why = "escalated: " + "; ".join(row.reasons) if row.reasons else "kept: the samples agree"
        wide_console.print(
            f"  {row.question} -> {row.answer} (expected {row.expected}) via {' > '.join(row.tiers)}; {why}; "
            f"{steps} = ${row.total_cost_usd:.7f}"
        )
    cascade = sum(r.total_cost_usd for r in rows)
    strongest = sum(r.strongest_cost_usd for r in rows)
    wide_console.print(f"Cascade cost ${cascade:.7f} vs ${strongest:.7f} answering both on the strongest tier.")


@app.command()
def route(
    prompt: Annotated[
        str | None, typer.Argument(help="The user prompt to plan for; `-` reads it from stdin.", show_default=False)
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the prompt from this file (UTF-8).", dir_okay=False)
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the routing decision for one prompt as JSON (no model is called)."""
    if (prompt is None) == (file is None):
        fail("give the prompt as an argument, `-` to read it from stdin, or --file PATH")
    if file is not None:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            fail(f"--file: cannot read {file} ({exc.strerror})")
        text = _decode(raw, f"--file {file}")
    elif prompt == "-":
        text = _decode(sys.stdin.buffer.read(), "stdin")
    else:
        text = prompt or ""
    if not text.strip():
        fail("the prompt is empty")
    planner = _planner(config)
    with user_errors():
        decision = asyncio.run(planner.decide([{"role": "user", "content": text}]))
    typer.echo(json.dumps(decision.model_dump(mode="json"), indent=2))


@app.command()
def stats(
    config: ConfigOption = None,
    limit: Annotated[int | None, typer.Option(help="Only the newest N ledger rows (1 or more).", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    since: Annotated[str | None, typer.Option(help="First day counted, YYYY-MM-DD (budget timezone).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day counted, YYYY-MM-DD (inclusive).")] = None,
) -> None:
    """Spend from the shared ledger by tier, model, user, key, team and day, and savings against all-strongest."""
    with user_errors():
        plugin_config = PluginConfig.load(config)
        summary = asyncio.run(_stats(plugin_config, limit, since, until)).as_dict()
    if plugin_config.store.kind == "memory" and plugin_config.ledger.kind != "postgres":
        warn(
            "the memory store lives in one process, so this command sees only its own (empty) ledger, not a "
            "proxy's or an app's; point --config at the config with store.kind: redis (or a postgres ledger)"
        )
    if as_json:
        typer.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    source = "postgres ledger" if plugin_config.ledger.kind == "postgres" else f"{plugin_config.store.kind} store"
    console.print(
        f"{plural(summary['calls'], 'call')} ({summary['failed']} failed) from {source}: "
        f"${summary['total_usd']:.6f} spent vs ${summary['strongest_usd']:.6f} all-strongest "
        f"({summary['savings_ratio']:.1%} saved)"
    )
    for title in ("tier", "model", "user", "key", "team", "day"):
        table = Table(title=f"spend by {title}")
        for column in (title, "calls", "USD", "all-strongest USD", "saved USD"):
            table.add_column(column, justify="left" if column == title else "right")
        cells = summary["groups"][title]
        for name, cell in sorted(cells.items(), key=lambda kv: kv[0] if title == "day" else -kv[1]["spent_usd"]):
            table.add_row(
                name,
                str(cell["calls"]),
                f"${cell['spent_usd']:.6f}",
                f"${cell['strongest_usd']:.6f}",
                f"${cell['savings_usd']:.6f}",
            )
        console.print(table)


async def _stats(config: PluginConfig, limit: int | None, since: str | None, until: str | None) -> Any:
    from litellm_router_plugin.state.stats import store_stats

    store = build_store(config, socket_timeout=STATS_STORE_TIMEOUT)
    durable = store.durable
    unreachable = durable.unavailable_errors if durable is not None else ()
    try:
        try:
            return await store_stats(store, since, until, limit)
        except unreachable as exc:
            name = getattr(durable, "name", "")
            raise ConfigError("ledger.dsn", name, f"PostgreSQL is unreachable ({exc}).") from exc
        except StoreUnavailableError as exc:
            # Not the request-path message (on_store_error does not apply to reading the ledger).
            fail(
                f"stats: {exc.store} is unreachable ({type(exc.cause).__name__}: {exc.cause}); check store.url "
                "in --config and that the server is running",
                code=1,
            )
    finally:
        if store.durable is not None:
            await store.durable.aclose()
        await store.aclose()


@app.command("test")
def run_tests(
    path: Annotated[Path, typer.Argument(help="A .py file or a folder of eval cases.")],
    live: Annotated[bool, typer.Option("--live", help="Call the real models (needs keys); default: mocked.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="A file that fails to load shows its traceback.")
    ] = False,
) -> None:
    """Run eval cases (@eval_case, EvalSuite) and print pass/fail and cost per case."""
    from litellm_router_plugin.evaluation.evals import discover, report

    with user_errors():
        try:
            suites = discover(path)
        except RouterPluginError:
            raise
        except Exception as exc:  # the eval file's own error (syntax, import): one line, the traceback with -v
            if verbose:
                raise
            fail(f"{path}: cannot load the eval cases: {_one_line(exc)}; run with -v for the traceback")
    count = sum(len(s.cases) for s in suites)
    if not count:
        fail(f"no eval cases found in {path}")
    typer.echo(f"Running {plural(count, 'eval case')}...\n")

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
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 exposes it (it has no authentication).")
    ] = "127.0.0.1",
    port: PortOption = 8090,
) -> None:
    """Serve /router/route (a decision, no call), /router/stats (the ledger) and /router/metrics, as the proxy does."""
    from litellm_router_plugin.guards.dependencies import log_dependencies
    from litellm_router_plugin.integrations.server import create_app
    from litellm_router_plugin.pipeline.pipeline import Pipeline

    planner = _planner(config)
    for dependency in log_dependencies(planner.config):  # also on stderr, whatever the logging setup
        if dependency.reachable:
            err_console.print(Text(dependency.message), soft_wrap=True)
        else:
            warn(dependency.message)
    _listen(create_app(Pipeline(planner=planner)), host, port, "litellm-router serve")


@app.command("fake-upstream")
def fake_upstream(
    host: Annotated[str, typer.Option(help="Loopback interface only.")] = "127.0.0.1",
    port: PortOption = 9100,
) -> None:
    """A fake OpenAI-compatible upstream for tests and benchmarks (latency, errors, hangs, bad JSON)."""
    from litellm_router_plugin.tools.fake_upstream import create_app as create_fake

    if host not in ("127.0.0.1", "localhost", "::1"):
        fail("--host: the fake upstream listens on loopback only (127.0.0.1, localhost or ::1)")
    _listen(create_fake(), host, port, "fake upstream")


def _listen(asgi: Any, host: str, port: int, what: str) -> None:
    """Bind first (a taken port is one ``error:`` line), say where once bound, then serve until stopped."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc}); pick another port")
    shown = f"[{host}]" if ":" in host else host
    console.print(f"{what} listening on http://{shown}:{port} (Ctrl+C to stop)", highlight=False, soft_wrap=True)
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning"))
    server.run(sockets=[sock])


STATS_STORE_TIMEOUT = 1.0
"""Seconds ``stats`` waits for the store (the proxy's 5 s and its reconnect retries are for live traffic)."""


@app.command("ack-reset")
def ack_reset(config: ConfigOption = None) -> None:
    """Accept that the store lost its data: today's counters start from zero (budgets.on_reset: refuse)."""

    async def ack() -> bool:
        store = store_from_config(PluginConfig.load(config))
        try:
            # With a ledger (unreachable when refused), what it holds is added once it answers.
            return await store.restore({}, uuid.uuid4().hex, provisional=store.durable is not None)
        finally:
            await store.aclose()

    with user_errors():
        done = asyncio.run(ack())
    console.print("reset acknowledged: counters start from zero" if done else "nothing to acknowledge")
