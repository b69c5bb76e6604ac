"""What ``litellm-router bench`` runs: the datasets, splits and scorers, the routing report and its files.

The command line (``cli/bench.py``) only parses options and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.evaluation import MMLU_DATASET

DEFAULT_DATASET = MMLU_DATASET


def bench_validation(samples: list[Any], split: str, draws: int, stem: Path) -> str:
    """Out-of-fold or subject-draw figures (``--split folds|draws``), written as Markdown and JSON; the table."""
    from litellm_router_plugin.evaluation import validation

    if len({s.group for s in samples}) <= 2 * 12:
        raise ConfigError("--split", split, "Folds and subject draws need a dataset with many subjects (a `group`).")
    # Both shipped models trained on the development subjects: not comparable on folds of them.
    scorers = {name: f for name, f in bench_scorers().items() if not name.startswith(("learned (ours)", "traffic"))}
    if split == "folds":
        figures = validation.fold_figures(samples, scorers)
        detail = (
            "Development subjects in 5 subject-grouped folds (seed 7; the 12 held-out subjects and the "
            "data-fault subject left out); the learned classifier scored by models trained without the fold."
        )
    else:
        figures = validation.draw_figures(samples, scorers, draws=draws)
        detail = (
            f"{draws} random draws of 12 subjects out of all (seed 0; the data-fault subject left out); "
            "the learned classifier retrained on the other subjects for every draw."
        )
    table = validation.markdown(split, figures, detail)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    stem.with_suffix(".json").write_text(json.dumps(validation.as_dicts(figures), indent=1) + "\n", encoding="utf-8")
    return table


def read_scores(path: Path) -> list[float]:
    """One float per line (``--scores``)."""
    try:
        words = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("scores", str(path), f"Cannot read the file ({exc}).") from None
    scores = []
    for number, word in enumerate(words, 1):
        try:
            scores.append(float(word))
        except ValueError:
            raise ConfigError("scores", word, f"Score {number} is not a number; write one float per line.") from None
    return scores


def display_path(path: Path) -> str:
    """``path`` as written into results: relative to the current folder, or to the installed package's
    parent for shipped data (``litellm_router_plugin/evaluation/data/...``); never a machine's absolute path."""
    resolved = path.resolve()
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return str(path)


def bench_split(samples: list[Any], split: str) -> tuple[list[Any], str]:
    """The samples a split measures, and the note that says which."""
    from litellm_router_plugin.evaluation.baselines import subject_split

    if split == "all":
        return samples, ""
    if split != "held-out":
        raise ConfigError("--split", split, "Use held-out, all, folds or draws.")
    groups = sorted({s.group for s in samples})
    if len(groups) <= 12:
        return samples, ""  # a dataset without subjects: nothing was tuned on it
    _, final = subject_split(samples, lambda s: s.group)
    held = sorted({s.group for s in final})
    return final, f"the {len(held)} held-out subjects ({', '.join(held)}), {len(final)} prompts"


def bench_scorers() -> dict[str, Any]:
    """Every scorer the routing bench ranks: ours, LiteLLM's complexity router, prompt length."""
    from litellm_router_plugin.classify import HeuristicClassifier
    from litellm_router_plugin.classify.learned import LearnedClassifier
    from litellm_router_plugin.evaluation.baselines import litellm_complexity_scorer, prompt_length

    scorers: dict[str, Any] = {"heuristic (ours)": HeuristicClassifier().strength}
    learned = LearnedClassifier()
    learned.load()  # a missing model file is an error here, not a silent heuristic
    scorers["learned (ours)"] = learned.strength
    from litellm_router_plugin.classify.traffic import SHIPPED_PATH, TrafficModel

    if SHIPPED_PATH.exists():  # the n-gram traffic model (issue 22): the prior of `learn`
        scorers["traffic model (ours, traffic.json)"] = TrafficModel.load(SHIPPED_PATH).strength
    scorers["LiteLLM complexity_router (default heuristic)"] = litellm_complexity_scorer("heuristic")
    scorers["LiteLLM complexity_router (heuristic_v2)"] = litellm_complexity_scorer("heuristic_v2")
    scorers["prompt length"] = prompt_length
    return scorers


def mmlu_stream() -> tuple[list[Any], list[str], str]:
    """The shipped MMLU outcomes of the 12 held-out subjects: the shipped model never trained on them."""
    from litellm_router_plugin.learning.outcomes import Outcome

    samples, note = bench_split(load_dataset_default(), "held-out")
    records = [Outcome.of(s.prompt, weak=float(s.weak), strong=float(s.strong), source="file", at=0.0) for s in samples]
    return records, [s.prompt for s in samples], f"Replay of the shipped MMLU outcomes: {note}"


def load_dataset_default() -> list[Any]:
    """The shipped MMLU outcomes."""
    from litellm_router_plugin.evaluation.routing_bench import load_dataset

    return load_dataset(DEFAULT_DATASET)


def routing_report(
    dataset: Path,
    split: str,
    scores: Path | None,
    weak_column: str | None,
    strong_column: str | None,
    weak_model: str,
    strong_model: str,
) -> Any:
    """The routing benchmark of ``bench routing --split held-out|all`` (a ``BenchmarkReport``)."""
    from litellm_router_plugin.evaluation.routing_bench import load_dataset, run_benchmark

    samples = load_dataset(dataset, weak_column=weak_column, strong_column=strong_column)
    given: list[float] | None = None
    if scores is not None:
        given = read_scores(scores)
        if len(given) != len(samples):
            raise ConfigError("scores", len(given), f"Give one score per sample ({len(samples)}).")
    measured, note = bench_split(samples, split)
    routers = {}
    if given is not None:
        by_sample = dict(zip(map(id, samples), given, strict=True))
        routers[scores.stem if scores else "scores"] = lambda ss: [by_sample[id(s)] for s in ss]
    return run_benchmark(
        measured,
        routers,
        scorers=bench_scorers(),
        dataset=display_path(dataset),
        weak_model=weak_model,
        strong_model=strong_model,
        split=note,
    )


def write_routing_report(report: Any, out: Path, stem: str) -> Path:
    """The report as ``routing-<stem>.png``, ``.md`` and ``.json`` (curves thinned) under ``out``; the plot."""
    from litellm_router_plugin.evaluation.routing_bench import plot

    out.mkdir(parents=True, exist_ok=True)
    png = plot(report, out / f"routing-{stem}.png")
    (out / f"routing-{stem}.md").write_text(report.markdown() + "\n", encoding="utf-8")
    summary = report.as_dict()
    for router in summary["routers"]:
        router["points"] = router["points"][:: max(1, len(router["points"]) // 100)]
    (out / f"routing-{stem}.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return png


def base_model(path: Path | None) -> Any:
    """The prior for `learn`: the given traffic model, or the shipped one (classify/models/traffic.json)."""
    from litellm_router_plugin.classify.learned import load_model
    from litellm_router_plugin.classify.traffic import SHIPPED_PATH, TrafficModel

    model = load_model(path or SHIPPED_PATH)
    if isinstance(model, TrafficModel):
        return model
    if path is not None:
        raise ConfigError("--base", str(path), "Give a model written by `litellm-router learn` (a traffic model).")
    return None
