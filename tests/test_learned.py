"""The learned classifier: the shipped model, reproducible training, a broken model file, tie-freedom."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from litellm_router_plugin import ConfigError, Planner, PluginConfig
from litellm_router_plugin.classify import HeuristicClassifier
from litellm_router_plugin.classify.learned import MODEL_PATH, LearnedClassifier, ModelFileError, load_model
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.evaluation.baselines import subject_split
from litellm_router_plugin.evaluation.routing_bench import Sample, load_dataset
from litellm_router_plugin.evaluation.train import TrainParams, fit, write_model
from tests.conftest import user

EXPECTED_SMALL = Path(__file__).parent / "data" / "learned_small_expected.json"
PROBES = [
    "Hi there!",
    "What is the capital of Australia?",
    "Prove that there are infinitely many prime numbers.",
    "Which of the following best describes the holding in Marbury v. Madison?\nA. judicial review\n"
    "B. executive privilege\nC. the commerce clause\nD. due process\nAnswer:",
    "Write a Python function that parses an ISO-8601 date string and returns a datetime, with unit tests.",
]
SMALL_PARAMS = TrainParams(heuristic_weight=0.5)


@pytest.fixture(scope="module")
def mmlu() -> list[Sample]:
    return load_dataset(MMLU_DATASET)


def small_sample(mmlu: list[Sample]) -> list[Sample]:
    """A fixed sample: the first 20 prompts of the first 10 development subjects."""
    dev, _ = subject_split(mmlu, lambda s: s.group)
    by_subject: dict[str, list[Sample]] = {}
    for s in dev:
        by_subject.setdefault(s.group, []).append(s)
    return [s for group in sorted(by_subject)[:10] for s in by_subject[group][:20]]


def test_shipped_model_loads_and_scores_deterministically(mmlu: list[Sample]) -> None:
    assert MODEL_PATH.stat().st_size < 3_000_000
    first, second = LearnedClassifier(), LearnedClassifier()
    scores = [first.strength(p) for p in PROBES]
    assert scores == [second.strength(p) for p in PROBES] == [first.strength(p) for p in PROBES]
    assert all(1.0 <= s <= 10.0 for s in scores)
    analysis = first.classify(PROBES[2])
    assert analysis.classifier == "learned"
    assert analysis.strength == scores[2]
    assert analysis.fallback_reason is None
    assert analysis.category == HeuristicClassifier().classify(PROBES[2]).category  # the tier family
    _, final = subject_split(mmlu, lambda s: s.group)
    trained_on = set(load_model().meta["subjects"])
    assert len(trained_on) == 44  # the 45 development subjects but the one with a grading fault
    assert "high_school_mathematics" not in trained_on
    assert not trained_on & {s.group for s in final}  # the benchmark's held-out subjects stay unseen


def test_training_on_a_small_fixed_sample_reproduces_the_recorded_scores(mmlu: list[Sample], tmp_path: Path) -> None:
    sample = small_sample(mmlu)
    model = fit(sample, SMALL_PARAMS)
    path = write_model(model, tmp_path / "small.json")
    again = write_model(fit(sample, SMALL_PARAMS), tmp_path / "again.json")
    assert path.read_bytes() == again.read_bytes()  # deterministic within a machine, byte for byte
    scores = [load_model(path).strength(p) for p in PROBES]
    expected = json.loads(EXPECTED_SMALL.read_text())
    assert scores == pytest.approx(expected["strengths"], abs=1e-4)  # and across machines, within tolerance


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "does not exist"), ("{not json", "corrupt"), ('{"format": "something else"}', "corrupt")],
)
def test_missing_or_corrupt_model_file_is_a_clear_error_and_routing_falls_back(
    tmp_path: Path, content: str | None, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "model.json"
    if content is not None:
        path.write_text(content)
    classifier = LearnedClassifier(path)
    with pytest.raises(ModelFileError, match=problem) as info:
        classifier.load()
    assert str(path) in str(info.value)
    assert isinstance(info.value, ConfigError)
    with caplog.at_level(logging.ERROR):
        analysis = classifier.classify("Prove that there are infinitely many prime numbers.")
    heuristic = HeuristicClassifier().classify("Prove that there are infinitely many prime numbers.")
    assert (analysis.category, analysis.strength) == (heuristic.category, heuristic.strength)
    assert analysis.fallback_reason is not None
    assert str(path) in analysis.fallback_reason
    assert str(path) in caplog.text


async def test_planner_with_a_broken_learned_model_still_routes(tmp_path: Path) -> None:
    planner = Planner(PluginConfig.load({"classifier": {"kind": "learned", "model_path": str(tmp_path / "x.json")}}))
    request = planner.request(user("Hi there!"))
    plan = planner.plan(await planner.analyse(request.prompt), request)
    assert plan.route.tiers[0].name == "simple"
    assert plan.analysis is not None
    assert plan.analysis.fallback_reason is not None


async def test_planner_uses_the_learned_classifier_when_configured() -> None:
    planner = Planner(PluginConfig.load({"classifier": {"kind": "learned"}}))
    assert isinstance(planner.local, LearnedClassifier)
    request = planner.request(user("Prove that there are infinitely many prime numbers."))
    plan = planner.plan(await planner.analyse(request.prompt), request)
    assert plan.analysis is not None
    assert plan.analysis.classifier == "learned"
    assert plan.route.tiers[0].name == "reasoning"


@pytest.mark.parametrize("kind", ["heuristic", "learned"])
def test_strengths_do_not_tie_over_two_percent_of_the_data(mmlu: list[Sample], kind: str) -> None:
    strength = HeuristicClassifier().strength if kind == "heuristic" else LearnedClassifier().strength
    counts = Counter(strength(s.prompt) for s in mmlu)
    value, largest = counts.most_common(1)[0]
    assert largest / len(mmlu) <= 0.02, (value, largest)
