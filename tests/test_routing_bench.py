"""The routing-quality metrics against hand-computed examples, and the benchmark on the MMLU data."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from litellm_router_plugin import ConfigError
from litellm_router_plugin.classify.learned import LearnedClassifier
from litellm_router_plugin.cli import app
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.evaluation.routing_bench import Sample, apgr, cpt, curve, load_dataset, run_benchmark

MMLU = MMLU_DATASET

# 4 prompts: weak right on 0 and 1; strong right on 0, 1 and 2 -> weak 0.5, strong 0.75.
SMALL = [Sample("a", True, True), Sample("b", True, True), Sample("c", False, True), Sample("d", False, False)]


def test_perfect_router_recovers_the_gap_with_the_fewest_strong_calls() -> None:
    scores = [0.0, 0.0, 1.0, 0.0]  # only prompt c needs the strong model
    points = curve(SMALL, scores)
    assert [(p.strong_share, p.accuracy) for p in points] == [(0.0, 0.5), (0.25, 0.75), (1.0, 0.75)]
    # PGR: 0 at share 0, 1 from share 0.25 on: area = 0.25 * 0.5 + 0.75 * 1
    assert apgr(points, 0.5, 0.75) == pytest.approx(0.875)
    assert cpt(points, 0.5, 0.5, 0.75) == pytest.approx(0.125)
    assert cpt(points, 0.8, 0.5, 0.75) == pytest.approx(0.2)


def test_constant_router_is_a_straight_line_apgr_half() -> None:
    points = curve(SMALL, [1.0, 1.0, 1.0, 1.0])  # one tie: all weak, or all strong
    assert [(p.strong_share, p.accuracy) for p in points] == [(0.0, 0.5), (1.0, 0.75)]
    assert apgr(points, 0.5, 0.75) == pytest.approx(0.5)
    assert cpt(points, 0.5, 0.5, 0.75) == pytest.approx(0.5)
    assert cpt(points, 0.8, 0.5, 0.75) == pytest.approx(0.8)


def test_worst_router_sends_the_useful_prompt_last() -> None:
    points = curve(SMALL, [3.0, 2.0, 0.0, 1.0])
    assert [p.accuracy for p in points] == [0.5, 0.5, 0.5, 0.5, 0.75]
    assert apgr(points, 0.5, 0.75) == pytest.approx(0.125)
    assert cpt(points, 0.5, 0.5, 0.75) == pytest.approx(0.875)


def test_random_router_on_synthetic_data_is_about_half() -> None:
    rng = random.Random(1)
    samples = [Sample(str(i), rng.random() < 0.6, rng.random() < 0.8) for i in range(4000)]
    weak = sum(s.weak for s in samples) / len(samples)
    strong = sum(s.strong for s in samples) / len(samples)
    areas = [apgr(curve(samples, [rng.random() for _ in samples]), weak, strong) for _ in range(10)]
    assert sum(areas) / len(areas) == pytest.approx(0.5, abs=0.03)


@pytest.fixture(scope="module")
def mmlu() -> list[Sample]:
    if not MMLU.exists():
        pytest.fail(f"the MMLU routing data is missing at {MMLU}")
    return load_dataset(MMLU)


def test_mmlu_data_matches_its_readme(mmlu: list[Sample]) -> None:
    assert len(mmlu) == 14042 - 5  # contaminated prompts dropped
    assert sum(s.weak for s in mmlu) / len(mmlu) == pytest.approx(0.681, abs=0.001)
    assert sum(s.strong for s in mmlu) / len(mmlu) == pytest.approx(0.806, abs=0.001)
    assert len({s.group for s in mmlu}) == 57


def test_random_baseline_on_mmlu_is_half_and_oracle_matches(mmlu: list[Sample]) -> None:
    report = run_benchmark(mmlu, {}, dataset=str(MMLU))
    (random_router,) = report.routers
    assert random_router.apgr == pytest.approx(0.50, abs=0.03)
    assert report.oracle_accuracy == pytest.approx(0.859, abs=0.001)
    assert report.oracle_strong_share == pytest.approx(0.178, abs=0.001)
    assert report.all_weak_usd < report.oracle_usd < report.all_strong_usd


def test_dataset_of_another_shape_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "d.jsonl"
    good.write_text("\n".join(json.dumps({"prompt": f"p{i}", "small": i % 2 == 0, "big": True}) for i in range(10)))
    samples = load_dataset(good)
    assert [s.weak for s in samples[:2]] == [True, False]
    assert load_dataset(good, weak_column="big", strong_column="small")[1].weak is True
    with pytest.raises(ConfigError, match="No such file"):
        load_dataset(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,w,s\nq,maybe,True\n")
    with pytest.raises(ConfigError, match="True/False"):
        load_dataset(bad)


def test_bench_command_writes_plot_and_tables(tmp_path: Path) -> None:
    data = tmp_path / "tiny.csv"
    rows = ["prompt,weak,strong"] + [
        f'"{p}",{w},{s}'
        for p, w, s in [
            ("hi", True, True),
            ("Prove that there are infinitely many primes.", False, True),
            ("What is 2+2?", True, True),
            ("Write a SQL query joining orders and customers.", False, True),
            ("Thanks!", True, False),
        ]
    ]
    data.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(app, ["bench", "routing", "--dataset", str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "| heuristic (ours) |" in result.output
    assert "| LiteLLM complexity_router (default heuristic) |" in result.output
    assert "| LiteLLM complexity_router (heuristic_v2) |" in result.output
    assert "| prompt length |" in result.output
    assert (tmp_path / "out" / "routing-tiny.csv.png").stat().st_size > 1000
    table = json.loads((tmp_path / "out" / "routing-tiny.csv.json").read_text())
    routers = {r["name"]: r for r in table["routers"]}
    assert routers["heuristic (ours)"]["apgr"] > 0.5  # the two hard prompts rank first
    for name, router in routers.items():
        if not name.startswith("random"):
            assert 0 <= router["latency_p50_ms"] <= router["latency_p99_ms"], name


def test_score_command_reads_json_lines() -> None:
    prompts = ["Hello!", "Prove Fermat's little theorem rigorously."]
    lines = "\n".join(json.dumps({"prompt": p}) for p in prompts)
    result = CliRunner().invoke(app, ["score"], input=lines + "\n")
    assert result.exit_code == 0, result.output
    easy, hard = (float(x) for x in result.output.split())
    assert easy < hard
    # the default classifier answers: the learned one
    assert [easy, hard] == [round(LearnedClassifier().strength(p), 4) for p in prompts]
    assert CliRunner().invoke(app, ["score"], input="not json\n").exit_code == 2
