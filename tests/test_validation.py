"""Figures on unseen subjects: the learned classifier is retrained without the subjects it is measured on."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from typer.testing import CliRunner

from litellm_router_plugin.cli import app
from litellm_router_plugin.evaluation.baselines import prompt_length
from litellm_router_plugin.evaluation.routing_bench import Sample
from litellm_router_plugin.evaluation.validation import LEARNED, draw_figures, fold_figures

JUDGED = (
    "Consider the two statements about {topic}. Statement 1 | {a}. Statement 2 | {b}.\n"
    "A. True, True\nB. True, False\nC. False, True\nD. False, False\nAnswer:"
)
RECALLED = "Which of these is a {topic}?\nA. {a}\nB. {b}\nC. a stone\nD. a river delta in the north\nAnswer:"


def subjects(count: int = 30, per_subject: int = 24, seed: int = 1) -> list[Sample]:
    """Synthetic outcomes: the strong model gains on judged statement pairs, not on recall questions.

    Recall questions are made longer on average, so prompt length points the wrong way.
    """
    rng = random.Random(seed)
    samples = []
    for g in range(count):
        for i in range(per_subject):
            topic = f"topic {g} item {i}"
            if i % 3 == 0:
                prompt = JUDGED.format(topic=topic, a="it holds", b="it fails")
                weak, strong = rng.random() < 0.3, rng.random() < 0.9
            else:
                prompt = RECALLED.format(topic=topic, a="x" * rng.randint(40, 90), b="y" * rng.randint(40, 90))
                weak = strong = rng.random() < 0.8
            samples.append(Sample(prompt, weak, strong, f"subject_{g:02d}"))
    return samples


def test_fold_figures_retrain_the_learned_classifier_and_it_finds_what_carries_over() -> None:
    figures = {f.name: f for f in fold_figures(subjects(), {"prompt length": prompt_length})}
    assert set(figures) == {LEARNED, "prompt length"}
    learned, length = figures[LEARNED], figures["prompt length"]
    assert learned.apgr > 0.8  # judged pairs first, in every fold
    assert learned.apgr_low > 0.8
    assert length.apgr < 0.5  # the distractor: recall questions are longer
    assert learned.cpt50 < length.cpt50


def test_draw_figures_report_the_spread_and_the_share_of_draws_won() -> None:
    stand_in = {"prompt length": prompt_length, "LiteLLM complexity_router (default heuristic)": prompt_length}
    figures = {f.name: f for f in draw_figures(subjects(), stand_in, draws=4)}
    learned = figures[LEARNED]
    assert learned.apgr_low <= learned.apgr <= learned.apgr_high
    assert learned.at_least_reference == 1.0  # beats the stand-in reference in each of the 4 draws
    assert figures["prompt length"].at_least_reference == 1.0  # equal to itself counts as "at least"


def test_bench_routing_split_draws_writes_its_table(tmp_path: Path) -> None:
    data = tmp_path / "outcomes"
    data.mkdir()
    by_group: dict[str, list[Sample]] = {}
    for s in subjects(count=26, per_subject=12):
        by_group.setdefault(s.group, []).append(s)
    for group, rows in by_group.items():
        with (data / f"{group}.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["prompt", "weak", "strong"])
            writer.writerows([s.prompt, s.weak, s.strong] for s in rows)
    out = tmp_path / "results"
    result = CliRunner().invoke(
        app, ["bench", "routing", "--dataset", str(data), "--split", "draws", "--draws", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = (out / "routing-outcomes-draws.md").read_text()
    assert "3 random draws of 12 subjects" in table
    assert LEARNED in table
    assert "LiteLLM complexity_router (default heuristic)" in table
    assert (out / "routing-outcomes-draws.json").exists()


def test_bench_routing_split_folds_needs_subjects(tmp_path: Path) -> None:
    file = tmp_path / "flat.csv"
    file.write_text("prompt,weak,strong\nhi,True,True\nprove it,False,True\n")
    result = CliRunner().invoke(app, ["bench", "routing", "--dataset", str(file), "--split", "folds"])
    assert result.exit_code != 0
    assert "many subjects" in result.output
