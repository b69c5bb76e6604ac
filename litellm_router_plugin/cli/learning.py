"""``litellm-router`` classifier commands: score, calibrate, train, learn."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from litellm_router_plugin.cli.base import (
    ConfigOption,
    _decode,
    _planner,
    app,
    fail,
    plural,
    user_errors,
    warn,
)
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.evaluation.bench_runs import (
    DEFAULT_DATASET,
    base_model,
    display_path,
)
from litellm_router_plugin.routing.planner import Planner


@app.command()
def score(
    config: ConfigOption = None,
    model: Annotated[
        Path | None, typer.Option(help="Score with this model file (from `learn` or `train`) instead of the config's.")
    ] = None,
) -> None:
    """Read JSON lines {"prompt": ...} on stdin; write one float per line (higher: needs the strong model)."""
    classifier: Any
    if model is not None:
        from litellm_router_plugin.classify.learned import LearnedClassifier

        classifier = LearnedClassifier(model)
        with user_errors():
            classifier.load()  # a missing or corrupt file is an error here, not a silent heuristic
    else:
        classifier = _planner(config).local
    for number, raw in enumerate(sys.stdin.buffer, 1):
        line = _decode(raw, f"line {number}")
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(f'line {number}: not JSON ({exc.msg}); write one object {{"prompt": "..."}} a line')
        prompt = row.get("prompt") if isinstance(row, dict) else None
        if not isinstance(prompt, str):
            got = type(prompt).__name__ if isinstance(row, dict) and "prompt" in row else "no prompt"
            fail(f'line {number}: expected a JSON object with a "prompt" string, got {got}')
        typer.echo(f"{classifier.strength(prompt):.{6 if model is not None else 4}f}")


@app.command()
def calibrate(
    config: Annotated[Path, typer.Option("--config", "-c", help="PluginConfig file to write the threshold into.")],
    strong_share: Annotated[float | None, typer.Option(help="Share of traffic for the strongest tier, 0-1.")] = None,
    tier_shares: Annotated[
        str | None,
        typer.Option(help="Share of traffic per tier, cheapest first, e.g. 0.5,0.3,0.15,0.05: writes tier_thresholds."),
    ] = None,
    max_cost_per_1k_requests: Annotated[
        float | None, typer.Option(help="Largest strong share whose estimated cost per 1,000 requests fits.")
    ] = None,
    all_tiers: Annotated[
        bool, typer.Option("--all-tiers", help="With a cost cap: thresholds for every tier boundary, not one.")
    ] = False,
    sample: Annotated[
        Path, typer.Option(help="Prompts to calibrate on: a dataset (as for bench routing) or JSON lines.")
    ] = DEFAULT_DATASET,
) -> None:
    """Thresholds on the classifier's strength so a sample sends the wanted share (or cost) to each tier."""
    from litellm_router_plugin.evaluation.calibration import (
        calibrate_threshold,
        calibrate_tiers,
        read_prompts,
        write_threshold,
        write_tier_thresholds,
    )

    if sum(x is not None for x in (strong_share, tier_shares, max_cost_per_1k_requests)) != 1:
        fail("give exactly one of --strong-share, --tier-shares and --max-cost-per-1k-requests")
    with user_errors():
        planner = Planner(PluginConfig.load(config))
        prompts = read_prompts(sample)
        if tier_shares is not None or all_tiers:
            shares = _shares(tier_shares)
            tiers = calibrate_tiers(planner, prompts, shares=shares, max_cost_per_1k=max_cost_per_1k_requests)
            if write_tier_thresholds(config, tiers.thresholds):
                warn(f"classifier.strong_threshold removed from {config}: the tier thresholds replace it")
            names = planner.tier_map.names
            spread = ", ".join(f"{name} {share:.1%}" for name, share in zip(names, tiers.shares, strict=True))
            typer.echo(
                f"classifier.tier_thresholds = {[round(t, 4) for t in tiers.thresholds]} written to {config}: "
                f"{spread} of {plural(len(prompts), 'sample prompt')} "
                f"(estimated ${tiers.cost_per_1k:.4f} per 1,000 requests)"
            )
            _warn_if_benchmark_sample(sample)
            return
        result = calibrate_threshold(
            planner, prompts, strong_share=strong_share, max_cost_per_1k=max_cost_per_1k_requests
        )
        if write_threshold(config, result.threshold):
            warn(f"classifier.tier_thresholds removed from {config}: they would still decide every tier")
    typer.echo(
        f"classifier.strong_threshold = {result.threshold:.4f} written to {config}: "
        f"{result.strong_share:.1%} of {plural(len(prompts), 'sample prompt')} go to the strongest tier "
        f"(estimated ${result.cost_per_1k:.4f} per 1,000 requests)"
    )
    _warn_if_benchmark_sample(sample)


def _shares(tier_shares: str | None) -> list[float] | None:
    """``--tier-shares`` as numbers."""
    if tier_shares is None:
        return None
    try:
        return [float(x) for x in tier_shares.split(",")]
    except ValueError:
        raise ConfigError("--tier-shares", tier_shares, "Give numbers separated by commas.") from None


def _warn_if_benchmark_sample(sample: Path) -> None:
    if sample.resolve().is_relative_to(MMLU_DATASET.resolve()):
        warn(
            "the sample is the shipped MMLU benchmark, not your traffic: short multiple-choice questions, so "
            "the share of your own prompts sent to the strongest tier will differ. Calibrate on your prompts: "
            '--sample prompts.jsonl (one {"prompt": ...} a line).'
        )


@app.command()
def train(
    dataset: Annotated[Path, typer.Option(help="Routing outcomes to train on (as for bench routing).")] = (
        DEFAULT_DATASET
    ),
    out: Annotated[
        Path | None,
        typer.Option(help="Model file to write; required: name the shipped file to overwrite it (never by default)."),
    ] = None,
    split: Annotated[
        str, typer.Option(help="development: leave the benchmark's held-out subjects out (default); all: every sample.")
    ] = "development",
    kind: Annotated[
        str,
        typer.Option(help="shape: the shipped learned.json recipe; traffic: the n-gram traffic model (traffic.json)."),
    ] = "shape",
) -> None:
    """Train the learned classifier (deterministic: the same data gives the same file, byte for byte)."""
    from litellm_router_plugin.classify.learned import MODEL_PATH
    from litellm_router_plugin.evaluation.baselines import subject_split
    from litellm_router_plugin.evaluation.routing_bench import load_dataset
    from litellm_router_plugin.evaluation.train import DATA_FAULTS, fit, write_model

    if out is None:
        fail(f"give --out FILE (the shipped models are in {display_path(MODEL_PATH.parent)}: name one to overwrite it)")
    with user_errors():
        samples = load_dataset(dataset)
        if split == "development":
            if len({s.group for s in samples}) > 12:
                samples, _ = subject_split(samples, lambda s: s.group)
        elif split != "all":
            raise ConfigError("--split", split, "Use development or all.")
        if kind == "traffic":
            from litellm_router_plugin.learning.fit import fit as fit_traffic
            from litellm_router_plugin.learning.outcomes import Outcome

            samples = [s for s in samples if s.group not in DATA_FAULTS]
            records = [
                Outcome.of(s.prompt, weak=float(s.weak), strong=float(s.strong), source="file", at=0.0) for s in samples
            ]
            path = fit_traffic(records).save(out)
        elif kind == "shape":
            path = write_model(fit(samples), out)
        else:
            raise ConfigError("--kind", kind, "Use shape or traffic.")
    typer.echo(f"trained on {len(samples)} samples; model written to {display_path(path)}")


@app.command()
def learn(
    outcomes: Annotated[
        Path, typer.Option(help='JSON lines {"prompt": str, "weak": 0-1, "strong": 0-1} (quality of each answer).')
    ],
    out: Annotated[Path, typer.Option(help="Model file to write (never the shipped one unless named).")],
    base: Annotated[
        Path | None, typer.Option(help="A traffic model to start from (the prior); default: the shipped traffic.json.")
    ] = None,
    no_base: Annotated[bool, typer.Option("--no-base", help="Start from nothing: no prior model.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the internal cross-validation split.")] = 0,
) -> None:
    """Train a traffic model on labelled outcomes; use it with `score --model` or `classifier: {model: PATH}`."""
    from litellm_router_plugin.learning.fit import fit
    from litellm_router_plugin.learning.outcomes import read_jsonl

    with user_errors():
        records = read_jsonl(outcomes)
        prior = None if no_base else base_model(base)
        try:
            model = fit(records, base=prior, seed=seed)
        except ValueError as exc:
            raise ConfigError("outcomes", str(outcomes), f"{exc}.") from None
        path = model.save(out)
    meta = model.meta
    typer.echo(
        f"learned {model.version} from {plural(len(records), 'outcome')} ({meta['candidate']}, "
        f"penalty {meta['penalty']}, prior {meta['base'] or 'none'} x {meta['prior_weight']}); "
        f"model written to {display_path(path)}"
    )
