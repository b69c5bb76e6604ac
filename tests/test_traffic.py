"""The traffic model and learning from outcomes: no text in features, deterministic fits, the words' signal
learned, the learn/score round trip, outcome files with bad lines named."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from litellm_router_plugin import ConfigError, Planner, PluginConfig
from litellm_router_plugin.classify import HeuristicClassifier
from litellm_router_plugin.classify.traffic import FEATURISER, PromptFeatures, TrafficModel, featurise
from litellm_router_plugin.cli import app
from litellm_router_plugin.evaluation.routing_bench import apgr as bench_apgr
from litellm_router_plugin.evaluation.routing_bench import curve
from litellm_router_plugin.learning.fit import apgr, cross_validated_apgr, fit
from litellm_router_plugin.learning.outcomes import Outcome, read_jsonl

runner = CliRunner()
TOPICS = ["history", "cooking", "travel", "gardening", "music", "sport", "weather", "film"]
HARD = ["eigenvalue", "renormalisation", "homology", "lagrangian"]


def synthetic(n: int, seed: int) -> list[tuple[str, float, float]]:
    """Prompts where the stronger model helps only when a 'hard' word appears; length and shape say nothing."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        hard = rng.random() < 0.3
        words = rng.sample(TOPICS, 3) + ([rng.choice(HARD)] if hard else [rng.choice(TOPICS)])
        rng.shuffle(words)
        # Long, multi-step phrasing on the easy side too, so the heuristic's cues point nowhere useful.
        prompt = f"Please compare and explain step by step: {' and '.join(words)}, in detail{'?' * rng.randint(1, 3)}"
        strong = 1.0 if rng.random() < 0.9 else 0.0
        weak = (0.0 if rng.random() < 0.8 else 1.0) if hard else (1.0 if rng.random() < 0.85 else 0.0)
        rows.append((prompt, weak, strong))
    return rows


def outcomes_of(rows: list[tuple[str, float, float]]) -> list[Outcome]:
    return [Outcome.of(p, weak=w, strong=s, source="file", at=0.0) for p, w, s in rows]


def write_jsonl(path: Path, rows: list[tuple[str, float, float]]) -> Path:
    path.write_text("".join(json.dumps({"prompt": p, "weak": w, "strong": s}) + "\n" for p, w, s in rows))
    return path


def test_features_hold_no_text() -> None:
    prompt = "Summarise the confidential Zanzibar merger memo for Ms Oyelaran, account 4471-9921."
    features = featurise(prompt)
    stored = json.dumps(Outcome.of(prompt, weak=1.0, strong=1.0, source="feedback").to_json())
    for word in ("zanzibar", "oyelaran", "merger", "4471", "memo"):
        assert word not in stored.lower()
    assert all(isinstance(b, int) and isinstance(c, int) for b, c in features.hashed)
    assert features.version == FEATURISER
    assert PromptFeatures.from_json(json.loads(json.dumps(features.to_json()))) == features
    kept = Outcome.of(prompt, weak=1.0, strong=None, source="feedback", keep_prompt=True)
    assert Outcome.from_json(kept.to_json()) == kept
    assert Outcome.of(prompt, weak=1.0, strong=None, source="feedback").prompt is None


def test_fit_is_deterministic_and_versions_the_model(tmp_path: Path) -> None:
    outcomes = outcomes_of(synthetic(200, seed=1))
    first, second = fit(outcomes, seed=3), fit(outcomes, seed=3)
    assert first.to_json() == second.to_json()
    assert first.version == second.version
    path = first.save(tmp_path / "m.json")
    loaded = TrafficModel.load(path)
    assert loaded.to_json() == first.to_json()
    assert [loaded.strength(p) for p, _, _ in synthetic(20, 9)] == [first.strength(p) for p, _, _ in synthetic(20, 9)]
    assert fit(outcomes_of(synthetic(200, seed=2)), seed=3).version != first.version


def test_learned_model_beats_the_heuristic_where_the_signal_is_in_words() -> None:
    model = fit(outcomes_of(synthetic(300, seed=1)))
    unseen = outcomes_of(synthetic(400, seed=2))
    heuristic = HeuristicClassifier()
    prompts = [p for p, _, _ in synthetic(400, seed=2)]
    learned, static = apgr(model, unseen), apgr([heuristic.strength(p) for p in prompts], unseen)
    assert learned > 0.7
    assert learned > static + 0.1
    assert cross_validated_apgr(outcomes_of(synthetic(300, seed=1)), folds=3) > 0.7


def test_a_base_model_is_the_prior_when_labels_are_few() -> None:
    base = fit(outcomes_of(synthetic(400, seed=1)))
    few = outcomes_of(synthetic(12, seed=5))
    unseen = outcomes_of(synthetic(400, seed=2))
    assert apgr(fit(few, base=base), unseen) > apgr(fit(few), unseen)


def test_apgr_is_the_benchmark_metric() -> None:
    rows = synthetic(100, seed=4)
    outcomes = outcomes_of(rows)
    scores = [float(len(p) % 7) for p, _, _ in rows]  # many ties
    weak = sum(w for _, w, _ in rows) / len(rows)
    strong = sum(s for _, _, s in rows) / len(rows)
    pairs = [Outcome.of("x", weak=w, strong=s, source="file") for _, w, s in rows]
    assert apgr(scores, outcomes) == pytest.approx(bench_apgr(curve(pairs, scores), weak, strong))  # type: ignore[arg-type]
    only_weak = [Outcome.of("x", weak=1.0, strong=None, source="feedback")]
    with pytest.raises(ValueError, match="both"):
        apgr([1.0], only_weak)


def test_learn_and_score_round_trip(tmp_path: Path) -> None:
    outcomes = write_jsonl(tmp_path / "outcomes.jsonl", synthetic(300, seed=1))
    model = tmp_path / "m.json"
    result = runner.invoke(app, ["learn", "--outcomes", str(outcomes), "--out", str(model), "--no-base"])
    assert result.exit_code == 0, result.output
    assert "300 outcomes" in result.output
    probes = synthetic(200, seed=2)
    stdin = "".join(json.dumps({"prompt": p}) + "\n" for p, _, _ in probes)
    scored = runner.invoke(app, ["score", "--model", str(model)], input=stdin)
    assert scored.exit_code == 0, scored.output
    scores = [float(x) for x in scored.output.split()]
    assert scores == [TrafficModel.load(model).strength(p) for p, _, _ in probes] or all(
        abs(a - TrafficModel.load(model).strength(p)) < 1e-6 for a, (p, _, _) in zip(scores, probes, strict=True)
    )
    hard = [s for s, (p, _, _) in zip(scores, probes, strict=True) if any(w in p for w in HARD)]
    easy = [s for s, (p, _, _) in zip(scores, probes, strict=True) if not any(w in p for w in HARD)]
    assert sum(hard) / len(hard) > sum(easy) / len(easy) + 2  # on the 1-10 scale


def test_config_serves_a_learned_model_file(tmp_path: Path) -> None:
    model = fit(outcomes_of(synthetic(200, seed=1)))
    path = model.save(tmp_path / "m.json")
    planner = Planner(PluginConfig.model_validate({"classifier": {"kind": "learned", "model": str(path)}}))
    prompt = "Please compare and explain step by step: homology and music, in detail?"
    analysis = planner.local.classify(prompt)
    assert analysis.strength == model.strength(prompt)
    assert analysis.classifier == "learned"
    with pytest.raises(ValidationError, match="give one of them"):
        PluginConfig.model_validate({"classifier": {"model": str(path), "model_path": "other.json"}})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2"),
        ('{"prompt": "x", "weak": 2, "strong": 1}', "'weak'"),
        ('{"weak": 1, "strong": 1}', "prompt"),
        ('{"prompt": "x", "weak": 1}', "'strong'"),
    ],
)
def test_outcome_files_name_the_bad_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text('{"prompt": "fine", "weak": 1, "strong": 0.5}\n' + line + "\n")
    with pytest.raises(ConfigError, match=message) as caught:
        read_jsonl(path)
    assert "line 2" in str(caught.value)


def test_learn_never_writes_the_shipped_model_unless_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["learn", "--outcomes", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0
    assert "--out" in result.output
