"""``litellm-router``: the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError, RouterPluginError
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.guards.admission import store_from_config
from litellm_router_plugin.guards.costs import summarise_ledger
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.tools.demo import run_demo

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
    decision = asyncio.run(planner.decide([{"role": "user", "content": prompt}]))
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
    from litellm_router_plugin.evaluation.evals import discover, report

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

    from litellm_router_plugin.integrations.server import create_app
    from litellm_router_plugin.pipeline.pipeline import Pipeline

    planner = _planner(config)
    uvicorn.run(create_app(Pipeline(planner=planner)), host=host, port=port, log_level="warning")


@app.command("fake-upstream")
def fake_upstream(
    host: Annotated[str, typer.Option(help="Loopback interface only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9100,
) -> None:
    """A fake OpenAI-compatible upstream for tests and benchmarks (latency, errors, hangs, bad JSON)."""
    import uvicorn

    from litellm_router_plugin.tools.fake_upstream import create_app as create_fake

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


bench_app = typer.Typer(help="Benchmarks on real data.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

DEFAULT_DATASET = MMLU_DATASET


@bench_app.command("routing")
def bench_routing(
    dataset: Annotated[Path, typer.Option(help="A folder or CSV/JSONL file: prompt, weak-correct, strong-correct.")] = (
        DEFAULT_DATASET
    ),
    out: Annotated[Path, typer.Option(help="Folder for the PNG plot and the Markdown/JSON tables.")] = Path(
        "bench/results"
    ),
    scores: Annotated[
        Path | None, typer.Option(help="Also rank by these scores: one float per line, in dataset order.")
    ] = None,
    weak_column: Annotated[str | None, typer.Option(help="Weak model's correctness column.")] = None,
    strong_column: Annotated[str | None, typer.Option(help="Strong model's correctness column.")] = None,
    weak_model: Annotated[str, typer.Option(help="LiteLLM pricing name of the weak model.")] = (
        "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1"
    ),
    strong_model: Annotated[str, typer.Option(help="LiteLLM pricing name of the strong model.")] = "gpt-4-1106-preview",
) -> None:
    """APGR, CPT(50%), CPT(80%) and dollar cost of the heuristic classifier (and baselines) on real data."""
    from litellm_router_plugin.classify import HeuristicClassifier
    from litellm_router_plugin.evaluation.routing_bench import load_dataset, plot, run_benchmark

    try:
        samples = load_dataset(dataset, weak_column=weak_column, strong_column=strong_column)
        heuristic = HeuristicClassifier()
        routers = {"heuristic": lambda ss: [heuristic.strength(s.prompt) for s in ss]}
        if scores is not None:
            given = [float(line) for line in scores.read_text().split()]
            if len(given) != len(samples):
                raise ConfigError("scores", len(given), f"Give one score per sample ({len(samples)}).")
            routers[scores.stem] = lambda ss: given
        report = run_benchmark(samples, routers, dataset=str(dataset), weak_model=weak_model, strong_model=strong_model)
    except RouterPluginError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    stem = dataset.name or "dataset"
    png = plot(report, out / f"routing-{stem}.png")
    (out / f"routing-{stem}.md").write_text(report.markdown() + "\n", encoding="utf-8")
    summary = report.as_dict()
    for router in summary["routers"]:
        router["points"] = router["points"][:: max(1, len(router["points"]) // 100)]
    (out / f"routing-{stem}.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    typer.echo(report.markdown())
    typer.echo(f"\nplot: {png}")


@app.command()
def score(config: ConfigOption = None) -> None:
    """Read JSON lines {"prompt": ...} on stdin; write one float per line (higher: needs the strong model)."""
    import sys

    planner = _planner(config)
    classifier = planner.local
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            prompt = json.loads(line)["prompt"]
        except (ValueError, KeyError, TypeError):
            console.print(f'[red]error:[/red] line {number}: expected a JSON object with a "prompt" string')
            raise typer.Exit(2) from None
        typer.echo(f"{classifier.strength(str(prompt)):.4f}")


@app.command()
def calibrate(
    config: Annotated[Path, typer.Option("--config", "-c", help="PluginConfig file to write the threshold into.")],
    strong_share: Annotated[float | None, typer.Option(help="Share of traffic for the strongest tier, 0-1.")] = None,
    max_cost_per_1k_requests: Annotated[
        float | None, typer.Option(help="Largest strong share whose estimated cost per 1,000 requests fits.")
    ] = None,
    sample: Annotated[
        Path, typer.Option(help="Prompts to calibrate on: a dataset (as for bench routing) or JSON lines.")
    ] = DEFAULT_DATASET,
) -> None:
    """Pick classifier.strong_threshold so a sample sends the wanted share (or cost) to the strongest tier."""
    from litellm_router_plugin.evaluation.calibration import calibrate_threshold, read_prompts, write_threshold

    if (strong_share is None) == (max_cost_per_1k_requests is None):
        console.print("[red]error:[/red] give exactly one of --strong-share and --max-cost-per-1k-requests")
        raise typer.Exit(2)
    try:
        planner = Planner(PluginConfig.load(config))
        prompts = read_prompts(sample)
        result = calibrate_threshold(
            planner, prompts, strong_share=strong_share, max_cost_per_1k=max_cost_per_1k_requests
        )
        write_threshold(config, result.threshold)
    except RouterPluginError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    typer.echo(
        f"classifier.strong_threshold = {result.threshold:.4f} written to {config}: "
        f"{result.strong_share:.1%} of {len(prompts)} sample prompts go to the strongest tier "
        f"(estimated ${result.cost_per_1k:.4f} per 1,000 requests)"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
