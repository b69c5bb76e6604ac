"""Routing quality on real data (RouteLLM's method): accuracy against % strong calls, APGR, CPT.

A dataset gives, per prompt, whether a weak and a strong model answered correctly. A router scores
each prompt (higher: needs the strong model); sweeping its threshold traces accuracy against the
share of strong calls. PGR = (accuracy - weak) / (strong - weak); APGR is the area under PGR over
the strong share (random routing scores 0.5); CPT(x) is the strong share needed to reach PGR x.
Ties between scores are interpolated linearly, which is what random tie-breaking gives on average.
The metric itself lives in ``learning/metric.py`` (training code uses it too) and is re-exported here.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.evaluation import MMLU_DATASET as MMLU_DATASET
from litellm_router_plugin.learning.metric import Point as Point
from litellm_router_plugin.learning.metric import accuracy as accuracy
from litellm_router_plugin.learning.metric import apgr as apgr
from litellm_router_plugin.learning.metric import cpt as cpt
from litellm_router_plugin.learning.metric import curve as curve
from litellm_router_plugin.learning.metric import pgr as pgr
from litellm_router_plugin.pricing import count_prompt_tokens, price_for

ROUTELLM_WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
ROUTELLM_STRONG = "gpt-4-1106-preview"


@dataclass(frozen=True, slots=True)
class Sample:
    """One prompt and whether each model answered it correctly."""

    prompt: str
    weak: bool
    strong: bool
    group: str = ""
    """Where it came from (the MMLU subject), for splits."""


def _truth(value: str, where: str) -> bool:
    folded = value.strip().casefold()
    if folded in ("true", "1", "yes"):
        return True
    if folded in ("false", "0", "no"):
        return False
    raise ConfigError(where, value, "Correctness columns must hold True/False (or 1/0).")


def _read_rows(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as fh:
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            return [json.loads(line) for line in fh if line.strip()]
        return list(csv.DictReader(fh))


_DATA_SUFFIXES = (".csv", ".jsonl", ".csv.gz", ".jsonl.gz")


def load_dataset(path: str | Path, *, weak_column: str | None = None, strong_column: str | None = None) -> list[Sample]:
    """Samples from a CSV/JSONL file (columns ``prompt``, weak-correct, strong-correct) or a folder of them.

    RouteLLM's MMLU folder layout (``responses/*.csv`` and ``contaminated_prompts.jsonl``) is read as
    is, contaminated prompts dropped. Without column names, the two non-prompt columns are taken as
    weak then strong (RouteLLM's MMLU columns are recognised by name).
    """
    root = Path(path)
    if not root.exists():
        raise ConfigError("dataset", str(root), "No such file or folder.")
    files = [root] if root.is_file() else sorted(f for f in root.rglob("*") if f.name.endswith(_DATA_SUFFIXES))
    dropped: set[str] = set()
    samples: list[Sample] = []
    for file in files:
        if file.name == "contaminated_prompts.jsonl":
            for row in _read_rows(file):
                dropped.update(str(row[k]) for k in ("eval_prompt", "train_prompt") if k in row)
            continue
        rows = _read_rows(file)
        if not rows:
            continue
        columns = [c for c in rows[0] if c != "prompt"]
        if "prompt" not in rows[0]:
            raise ConfigError(f"dataset {file.name}", list(rows[0]), "A `prompt` column is required.")
        weak = weak_column or (ROUTELLM_WEAK if ROUTELLM_WEAK in columns else columns[0] if columns else None)
        strong = strong_column or (ROUTELLM_STRONG if ROUTELLM_STRONG in columns else columns[-1] if columns else None)
        if weak not in rows[0] or strong not in rows[0] or weak == strong:
            raise ConfigError(
                f"dataset {file.name}",
                columns,
                "Name the weak and strong correctness columns (--weak/--strong-column).",
            )
        group = file.name.split(".", 1)[0].removeprefix("mmlu_")
        for i, row in enumerate(rows):
            where = f"{file.name} row {i + 2}"
            samples.append(
                Sample(str(row["prompt"]), _truth(str(row[weak]), where), _truth(str(row[strong]), where), group)
            )
    if dropped:
        samples = [s for s in samples if s.prompt not in dropped]
    if not samples:
        raise ConfigError("dataset", str(root), "No samples found.")
    return samples


@dataclass
class RouterReport:
    """One router's figures."""

    name: str
    apgr: float
    cpt50: float
    cpt80: float
    points: list[Point] = field(default_factory=list)
    cost_at_cpt50_usd: float | None = None
    cost_at_cpt80_usd: float | None = None
    latency_p50_ms: float | None = None
    """Decision latency per prompt (timed routers only)."""
    latency_p99_ms: float | None = None


@dataclass
class BenchmarkReport:
    """Everything one run of the benchmark measured."""

    dataset: str
    samples: int
    weak_accuracy: float
    strong_accuracy: float
    oracle_accuracy: float
    oracle_strong_share: float
    weak_model: str
    strong_model: str
    all_weak_usd: float
    all_strong_usd: float
    oracle_usd: float
    routers: list[RouterReport]
    split: str = ""
    """Which part of the dataset was measured (e.g. the held-out subjects), when not all of it."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data (curves included)."""
        return asdict(self)

    def markdown(self) -> str:
        """A Markdown table of the figures."""
        lines = [
            f"Dataset: `{self.dataset}`, {self.samples} prompts; weak `{self.weak_model}` "
            f"{self.weak_accuracy:.1%}, strong `{self.strong_model}` {self.strong_accuracy:.1%}, "
            f"oracle {self.oracle_accuracy:.1%} at {self.oracle_strong_share:.1%} strong calls.",
            *([f"Measured on {self.split}."] if self.split else []),
            "",
            "| router | APGR | CPT(50%) | CPT(80%) | cost at CPT(50%) | cost at CPT(80%) | p50 ms | p99 ms |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in self.routers:
            c50 = "" if r.cost_at_cpt50_usd is None else f"${r.cost_at_cpt50_usd:.2f}"
            c80 = "" if r.cost_at_cpt80_usd is None else f"${r.cost_at_cpt80_usd:.2f}"
            p50 = "" if r.latency_p50_ms is None else f"{r.latency_p50_ms:.4f}"
            p99 = "" if r.latency_p99_ms is None else f"{r.latency_p99_ms:.4f}"
            lines.append(f"| {r.name} | {r.apgr:.3f} | {r.cpt50:.1%} | {r.cpt80:.1%} | {c50} | {c80} | {p50} | {p99} |")
        lines += [
            "",
            f"All-weak ${self.all_weak_usd:.2f}, all-strong ${self.all_strong_usd:.2f}, oracle ${self.oracle_usd:.2f} "
            "(prompt tokens by `litellm.token_counter`, prices from LiteLLM's table). Latency: one call per prompt, "
            "in the same run; ties between scores count as broken at random (averaged).",
        ]
        return "\n".join(lines)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_scores(scorer: Callable[[str], float], samples: Sequence[Sample]) -> tuple[list[float], list[float]]:
    """Each sample's score and how long it took (ms), one call per prompt."""
    scores, millis = [], []
    clock = time.perf_counter_ns
    for s in samples:
        start = clock()
        scores.append(float(scorer(s.prompt)))
        millis.append((clock() - start) / 1e6)
    return scores, millis


@dataclass(frozen=True)
class _Scoring:
    """One sample list's accuracies and costs, against which every router's scores are reported."""

    samples: Sequence[Sample]
    weak_acc: float
    strong_acc: float
    weak_cost: Sequence[float]
    strong_cost: Sequence[float]

    def cost_at(self, scores: Sequence[float], share: float) -> float:
        """The cost of sending the top ``share`` of samples by score to the strong model."""
        order = sorted(range(len(self.samples)), key=lambda i: -scores[i])
        k = round(share * len(self.samples))
        chosen = set(order[:k])
        return sum(self.strong_cost[i] if i in chosen else self.weak_cost[i] for i in range(len(self.samples)))

    def report(self, name: str, scores: Sequence[float], millis: Sequence[float] | None = None) -> RouterReport:
        """APGR, CPT(50%), CPT(80%), the curve and their costs (and decision latency when timed)."""
        weak_acc, strong_acc = self.weak_acc, self.strong_acc
        pts = curve(self.samples, scores)
        c50, c80 = cpt(pts, 0.5, weak_acc, strong_acc), cpt(pts, 0.8, weak_acc, strong_acc)
        return RouterReport(
            name,
            apgr(pts, weak_acc, strong_acc),
            c50,
            c80,
            pts,
            self.cost_at(scores, c50),
            self.cost_at(scores, c80),
            percentile(millis, 0.5) if millis else None,
            percentile(millis, 0.99) if millis else None,
        )

    def random_baseline(self, random_draws: int, seed: int) -> RouterReport:
        """The random router: the mean of ``random_draws`` uniform score draws."""
        weak_acc, strong_acc = self.weak_acc, self.strong_acc
        rng = random.Random(seed)
        draws = []
        for _ in range(random_draws):
            scores = [rng.random() for _ in self.samples]
            pts = curve(self.samples, scores)
            draws.append(
                (
                    apgr(pts, weak_acc, strong_acc),
                    cpt(pts, 0.5, weak_acc, strong_acc),
                    cpt(pts, 0.8, weak_acc, strong_acc),
                    pts,
                )
            )
        return RouterReport(
            f"random (mean of {random_draws})",
            statistics.fmean(d[0] for d in draws),
            statistics.fmean(d[1] for d in draws),
            statistics.fmean(d[2] for d in draws),
            draws[0][3][:: max(1, len(draws[0][3]) // 200)],
        )


def run_benchmark(
    samples: Sequence[Sample],
    routers: Mapping[str, Callable[[Sequence[Sample]], Sequence[float]]],
    *,
    scorers: Mapping[str, Callable[[str], float]] | None = None,
    dataset: str = "",
    weak_model: str = "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1",
    strong_model: str = ROUTELLM_STRONG,
    completion_tokens: int = 5,
    random_draws: int = 10,
    seed: int = 0,
    split: str = "",
) -> BenchmarkReport:
    """Score every router (and the random baseline, mean of ``random_draws``) on ``samples``.

    ``routers`` score a whole sample list at once; ``scorers`` score one prompt per call and are timed
    (decision latency p50/p99 in the report).
    """
    weak_acc = accuracy(samples, [False] * len(samples))
    strong_acc = accuracy(samples, [True] * len(samples))
    if strong_acc == weak_acc:
        raise ConfigError("dataset", dataset, "Weak and strong accuracy are equal: there is no gap to recover.")
    oracle = [s.strong and not s.weak for s in samples]
    weak_price = price_for(weak_model, field="weak_model", free_ok=True)
    strong_price = price_for(strong_model, field="strong_model", free_ok=True)
    tokens = [count_prompt_tokens([{"role": "user", "content": s.prompt}], strong_model) for s in samples]
    weak_cost = [weak_price.estimate(t, completion_tokens) for t in tokens]
    strong_cost = [strong_price.estimate(t, completion_tokens) for t in tokens]

    scoring = _Scoring(samples, weak_acc, strong_acc, weak_cost, strong_cost)
    reports = [scoring.report(name, list(score(samples))) for name, score in routers.items()]
    for name, scorer in (scorers or {}).items():
        reports.append(scoring.report(name, *timed_scores(scorer, samples)))
    reports.append(scoring.random_baseline(random_draws, seed))
    return BenchmarkReport(
        dataset=dataset,
        samples=len(samples),
        weak_accuracy=weak_acc,
        strong_accuracy=strong_acc,
        oracle_accuracy=accuracy(samples, oracle),
        oracle_strong_share=sum(oracle) / len(samples),
        weak_model=weak_model,
        strong_model=strong_model,
        all_weak_usd=sum(weak_cost),
        all_strong_usd=sum(strong_cost),
        oracle_usd=sum(s if o else w for s, w, o in zip(strong_cost, weak_cost, oracle, strict=True)),
        routers=reports,
        split=split,
    )


def plot(report: BenchmarkReport, path: str | Path) -> Path:
    """Accuracy against % strong calls for every router, with the weak, strong and oracle points (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover
        raise ConfigError("plot", str(path), "Install matplotlib: pip install 'litellm-router-plugin[eval]'.") from exc
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=120)
    weak, strong = report.weak_accuracy * 100, report.strong_accuracy * 100
    for r in report.routers:
        (line,) = ax.plot(
            [p.strong_share * 100 for p in r.points],
            [p.accuracy * 100 for p in r.points],
            label=f"{r.name} (APGR {r.apgr:.3f})",
            linestyle="--" if r.name.startswith("random") else "-",
        )
        # The operating points the table reports: where the curve recovers 50% and 80% of the gap.
        ax.plot(
            [r.cpt50 * 100, r.cpt80 * 100],
            [weak + 0.5 * (strong - weak), weak + 0.8 * (strong - weak)],
            linestyle="none",
            marker="o",
            markersize=5,
            markerfacecolor="white",
            color=line.get_color(),
            zorder=3,
        )
    # Baselines in the legend rather than as text on the plot, where they overlapped the curves.
    ax.scatter([0], [weak], marker="v", s=50, color="black", zorder=4, label=f"all weak ({weak:.1f}%)")
    ax.scatter([100], [strong], marker="^", s=50, color="black", zorder=4, label=f"all strong ({strong:.1f}%)")
    ax.scatter(
        [report.oracle_strong_share * 100],
        [report.oracle_accuracy * 100],
        marker="*",
        s=120,
        color="gold",
        edgecolor="black",
        zorder=3,
        label=f"oracle ({report.oracle_accuracy * 100:.1f}%)",
    )
    ax.axhline((weak + strong) / 2, color="grey", linewidth=0.7, linestyle=":", label="50% of the gap (CPT(50%) level)")
    ax.plot([], [], linestyle="none", marker="o", markerfacecolor="white", color="grey", label="CPT(50%), CPT(80%)")
    ax.set_xlabel("% calls to the strong model")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Routing quality on {Path(report.dataset).name or 'dataset'} ({report.samples} prompts)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)  # outside: never over a curve
    ax.grid(alpha=0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
