"""Runs eval cases under pytest: ``@eval_case`` functions and ``EvalSuite`` objects in test modules
become test items (offline), failing like ``litellm-router test`` would.

Loaded through the ``pytest11`` entry point by every pytest run where the package is installed, so
it imports nothing heavy: a test module can only hold eval cases after importing
``litellm_router_plugin.evaluation.evals`` (and litellm with it), so until that module is loaded no
object is checked further. ``-p no:litellm_router_plugin`` disables the plugin.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from litellm_router_plugin.evaluation.evals import EvalCase, EvalResult, Metric

_EVALS = "litellm_router_plugin.evaluation.evals"
_RUNNER = pytest.StashKey[asyncio.Runner]()


class EvalFailed(Exception):
    """An eval case failed: its error, or a metric such as its cost. The first line says why."""

    def __init__(self, result: EvalResult, summary: str, details: list[str]) -> None:
        super().__init__(summary)
        self.result = result
        self.lines = [summary, *details]


class EvalItem(pytest.Item):
    """One eval case run as a pytest test."""

    def __init__(self, *, case: EvalCase, metrics: tuple[Metric, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.metrics = metrics

    def runtest(self) -> None:
        from litellm_router_plugin.evaluation.evals import format_usd, report, run_case

        # One event loop for every case of the session: LiteLLM's logging worker is bound to a loop.
        runner = self.config.stash.setdefault(_RUNNER, asyncio.Runner())
        result = runner.run(run_case(self.case, self.metrics))
        lines: list[str] = []
        if report([result], lines.append):
            return
        if result.error is not None:
            why = f"{type(result.error).__name__}: {result.error}"
        else:
            why = "; ".join(f"{m.name} {m.detail}" for m in result.metrics if not m.passed)
        # report()'s lines without the case's header and the closing total: its metrics, one a line.
        details = [line for line in lines[1:-1] if line and not line.startswith("  error:")]
        raise EvalFailed(result, f"{self.case.name}: {why} | cost {format_usd(result.cost_usd)}", details)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """The case, its metrics and its cost in a few lines; the traceback only with -v or --tb=long."""
        if not isinstance(excinfo.value, EvalFailed):
            return super().repr_failure(excinfo, style)
        failure = excinfo.value
        text = "\n".join(failure.lines)
        verbose = self.config.get_verbosity() > 0 or self.config.getoption("tbstyle", "auto") == "long"
        if verbose and failure.result.error is not None:
            text += "\n\n" + "".join(traceback.format_exception(failure.result.error)).rstrip()
        return text

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"eval case: {self.case.name}"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the event loop the eval cases ran on."""
    runner = config.stash.get(_RUNNER, None)
    if runner is not None:
        runner.close()


def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> list[EvalItem] | None:
    """Collect eval cases and suites found in test modules."""
    evals = sys.modules.get(_EVALS)
    if evals is None:
        return None  # nothing has imported the evals module: no object here can be an eval case
    if isinstance(obj, evals.EvalCase):
        module = getattr(collector, "obj", None)
        suites = [v for v in vars(module).values() if isinstance(v, evals.EvalSuite)] if module is not None else []
        if any(obj in suite.cases for suite in suites):
            return []  # collected with its suite's metrics instead
        return [EvalItem.from_parent(collector, name=name, case=obj, metrics=())]
    if isinstance(obj, evals.EvalSuite):
        return [
            EvalItem.from_parent(collector, name=f"{name}::{case.name}", case=case, metrics=tuple(obj.metrics))
            for case in obj.cases
        ]
    return None
