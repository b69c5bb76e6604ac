"""Runs eval cases under pytest: ``@eval_case`` functions and ``EvalSuite`` objects in test modules
become test items (offline), failing like ``litellm-router test`` would."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from litellm_router_plugin.evaluation.evals import EvalCase, EvalSuite, Metric, report, run_case


class EvalItem(pytest.Item):
    """One eval case run as a pytest test."""

    def __init__(self, *, case: EvalCase, metrics: tuple[Metric, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.metrics = metrics

    def runtest(self) -> None:
        result = asyncio.run(run_case(self.case, self.metrics))
        lines: list[str] = []
        if not report([result], lines.append):
            raise AssertionError("\n".join(lines))

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"eval case: {self.case.name}"


def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> list[EvalItem] | None:
    """Collect eval cases and suites found in test modules."""
    if isinstance(obj, EvalCase):
        module = getattr(collector, "obj", None)
        suites = [v for v in vars(module).values() if isinstance(v, EvalSuite)] if module is not None else []
        if any(obj in suite.cases for suite in suites):
            return []  # collected with its suite's metrics instead
        return [EvalItem.from_parent(collector, name=name, case=obj, metrics=())]
    if isinstance(obj, EvalSuite):
        return [
            EvalItem.from_parent(collector, name=f"{name}::{case.name}", case=case, metrics=tuple(obj.metrics))
            for case in obj.cases
        ]
    return None
