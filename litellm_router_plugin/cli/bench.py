"""``litellm-router bench``: the routing and learning benchmarks (their logic: ``evaluation/bench_runs.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from litellm_router_plugin._litellm import use_bundled_price_map
from litellm_router_plugin.cli.base import (
    app,
    plural,
    user_errors,
)
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.evaluation.bench_runs import (
    DEFAULT_DATASET,
    base_model,
    bench_scorers,
    bench_validation,
    display_path,
    mmlu_stream,
    routing_report,
    write_routing_report,
)

bench_app = typer.Typer(help="Benchmarks on real data.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("routing")
def bench_routing(
    dataset: Annotated[Path, typer.Option(help="A folder or CSV/JSONL file: prompt, weak-correct, strong-correct.")] = (
        DEFAULT_DATASET
    ),
    out: Annotated[Path, typer.Option(help="Folder for the PNG plot and the Markdown/JSON tables.")] = Path(
        "bench/results"
    ),
    split: Annotated[
        str,
        typer.Option(
            help="held-out: only the final held-out subjects (never used to train or tune); all: every sample; "
            "folds: out-of-fold figures on the development subjects; draws: random 12-subject draws, "
            "the learned classifier retrained without them each time."
        ),
    ] = "held-out",
    draws: Annotated[int, typer.Option(help="How many subject draws for --split draws.")] = 50,
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
    """Our classifiers against LiteLLM's complexity router, prompt length and random: APGR, CPT, cost, latency."""
    use_bundled_price_map()  # the published tables are priced by the bundled map, reproducibly
    with user_errors():
        if split in ("folds", "draws"):
            from litellm_router_plugin.evaluation.routing_bench import load_dataset

            samples = load_dataset(dataset, weak_column=weak_column, strong_column=strong_column)
            typer.echo(bench_validation(samples, split, draws, out / f"routing-{dataset.name or 'dataset'}-{split}"))
            return
        report = routing_report(dataset, split, scores, weak_column, strong_column, weak_model, strong_model)
    png = write_routing_report(report, out, dataset.name or "dataset")
    typer.echo(report.markdown())
    typer.echo(f"\nplot: {display_path(png)}")


@bench_app.command("learning")
def bench_learning(
    outcomes: Annotated[
        Path | None,
        typer.Option(help="A labelled stream (JSON lines as for `learn`); default: the shipped MMLU outcomes."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the PNG plot and the Markdown table.")] = Path("bench/results"),
    labels: Annotated[str, typer.Option(help="Label counts to stop at, comma-separated.")] = "100,250,500,1000,2000",
    seeds: Annotated[int, typer.Option(help="Stream orders (seeds 0..N-1); figures are their mean.")] = 1,
) -> None:
    """Replay a labelled stream through learning: APGR on the unseen rest against the number of labels."""
    from litellm_router_plugin.evaluation import learning_bench
    from litellm_router_plugin.learning.outcomes import read_jsonl

    with user_errors():
        try:
            counts = [int(x) for x in labels.split(",")]
        except ValueError:
            raise ConfigError("--labels", labels, "Give whole numbers separated by commas.") from None
        if outcomes is None:
            records, prompts, title = mmlu_stream()
        else:
            records = read_jsonl(outcomes, keep_prompts=True)
            prompts = [r.prompt or "" for r in records]
            title = f"Replay of {display_path(outcomes)} ({len(records)} outcomes)"
        scorers = {k: v for k, v in bench_scorers().items() if k != "LiteLLM complexity_router (heuristic_v2)"}
        rows = learning_bench.replay(
            records, prompts, base=base_model(None), static=scorers, label_counts=counts, seeds=seeds
        )
    stem = "learning-" + (outcomes.stem if outcomes else "routellm-mmlu")
    table = learning_bench.markdown(
        rows, title + f"; APGR on the unseen rest, mean of {plural(seeds, 'stream order')}."
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text(table + "\n", encoding="utf-8")
    png = learning_bench.plot(rows, title.split(":")[0] if outcomes is None else title, out / f"{stem}.png")
    typer.echo(table)
    typer.echo(f"\nplot: {display_path(png)}")
