"""Cost evals (``eval_case``, ``EvalSuite``), their pytest plugin, the routing-quality benchmark, calibration."""

from pathlib import Path

MMLU_DATASET = Path(__file__).parent / "data" / "routellm-mmlu"
"""RouteLLM's MMLU outcomes, shipped with the package (gzipped CSVs; source and license beside them)."""
