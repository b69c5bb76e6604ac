"""Cost evaluations: ``@eval_case``, ``MaxCostUSD``, ``EvalSuite`` and the ``litellm-router test`` runner.

An eval case is an async (or plain) function returning a dict; its cost is the ``cost_usd`` it
returns, or else what every LiteLLM call made while it ran cost (LiteLLM's own pricing). Offline by
default: calls without a ``mock_response`` get one, so no key or network is needed; ``live=True``
calls the real models.
"""

from __future__ import annotations

import contextvars
import importlib.util
import inspect
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from litellm.integrations.custom_logger import CustomLogger

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.errors import ConfigError

OFFLINE_MOCK = "(offline eval: mock response)"

_spend: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("lrp-eval-spend", default=None)
_offline: contextvars.ContextVar[bool] = contextvars.ContextVar("lrp-eval-offline", default=False)


class _EvalCapture(CustomLogger):  # type: ignore[misc]  # litellm is untyped here
    """Prices every LiteLLM call made inside an eval case, and mocks it when running offline."""

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, Any], call_type: Any) -> dict[str, Any] | None:
        if _offline.get() and "mock_response" not in kwargs:
            kwargs["mock_response"] = OFFLINE_MOCK
            return kwargs
        return None

    async def async_post_call_success_deployment_hook(
        self, request_data: dict[str, Any], response: Any, call_type: Any
    ) -> Any:
        spend = _spend.get()
        if spend is not None:
            try:
                spend.append(float(litellm.completion_cost(completion_response=response)))
            except Exception:  # an unpriced model: the case can still report cost_usd itself
                spend.append(0.0)
        return response


def _install_capture() -> None:
    if not any(isinstance(cb, _EvalCapture) for cb in litellm.callbacks):
        litellm.callbacks.append(_EvalCapture())


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric's verdict on one case."""

    name: str
    passed: bool
    detail: str


class Metric(Protocol):
    """Judges a case's result."""

    @property
    def name(self) -> str:
        """Shown in the report."""
        ...

    def applies_to(self, case: str) -> bool:
        """Whether this metric judges the case named ``case``."""
        ...

    def evaluate(self, case: EvalResult) -> MetricResult:
        """The verdict."""
        ...


def format_usd(value: float) -> str:
    """``$0.0000135``: up to seven decimals, no trailing zeros."""
    text = f"{value:.7f}".rstrip("0").rstrip(".")
    return f"${text or '0'}"


@dataclass(frozen=True)
class MaxCostUSD:
    """Passes when the case cost less than ``threshold`` USD; ``apply_to`` names cases (default: all)."""

    threshold: float
    apply_to: Sequence[str] | None = None
    name: str = "MaxCostUSD"

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float) or not self.threshold > 0:
            raise ConfigError("threshold", self.threshold, "Give a positive amount in USD, e.g. 0.001.")

    def applies_to(self, case: str) -> bool:
        """All cases, or those named in ``apply_to``."""
        return self.apply_to is None or case in self.apply_to

    def evaluate(self, case: EvalResult) -> MetricResult:
        """PASS when cost < threshold."""
        ok = case.cost_usd < self.threshold
        sign = "<" if ok else ">="
        verdict = "PASS" if ok else "FAIL"
        return MetricResult(
            self.name, ok, f"{verdict} ({format_usd(case.cost_usd)} {sign} {format_usd(self.threshold)})"
        )


@dataclass(frozen=True)
class EvalCase:
    """A function decorated with :func:`eval_case`; calling it runs the function as is."""

    fn: Callable[[], Any]
    name: str
    description: str = ""
    metrics: tuple[Metric, ...] = ()

    def __call__(self) -> Any:
        return self.fn()


def eval_case(
    fn: Callable[[], Any] | None = None,
    *,
    description: str = "",
    max_cost_usd: float | None = None,
    metrics: Iterable[Metric] = (),
) -> Any:
    """Mark a function as an eval case; ``max_cost_usd=`` is shorthand for ``MaxCostUSD`` on it."""

    def wrap(func: Callable[[], Any]) -> EvalCase:
        own = list(metrics)
        if max_cost_usd is not None:
            # Named after the argument, so its report line is told apart from a suite's MaxCostUSD.
            own.append(MaxCostUSD(max_cost_usd, apply_to=[func.__name__], name="max_cost_usd"))
        return EvalCase(func, func.__name__, description or (func.__doc__ or "").strip(), tuple(own))

    return wrap(fn) if fn is not None else wrap


@dataclass
class EvalResult:
    """What running one case produced."""

    name: str
    output: dict[str, Any] = field(default_factory=dict)
    cost_usd: float = 0.0
    seconds: float = 0.0
    error: BaseException | None = None
    metrics: list[MetricResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No error and every metric passed."""
        return self.error is None and all(m.passed for m in self.metrics)


async def run_case(case: EvalCase, metrics: Sequence[Metric] = (), *, live: bool = False) -> EvalResult:
    """Run one case (offline unless ``live``) and judge it with its own and the given metrics."""
    _install_capture()
    spend: list[float] = []
    tokens = (_spend.set(spend), _offline.set(not live))
    result = EvalResult(case.name)
    start = time.perf_counter()
    try:
        value = case.fn()
        if inspect.isawaitable(value):
            value = await value
        result.output = dict(value) if isinstance(value, dict) else {"output": value}
    except Exception as exc:
        result.error = exc
    finally:
        _spend.reset(tokens[0])
        _offline.reset(tokens[1])
    result.seconds = time.perf_counter() - start
    reported = result.output.get("cost_usd")
    result.cost_usd = float(reported) if isinstance(reported, int | float) else sum(spend)
    if result.error is None:
        result.metrics = [m.evaluate(result) for m in (*case.metrics, *metrics) if m.applies_to(case.name)]
    return result


@dataclass
class EvalSuite:
    """Cases and the metrics that judge them."""

    cases: Sequence[EvalCase]
    metrics: Sequence[Metric] = ()

    async def run(self, *, live: bool = False) -> list[EvalResult]:
        """Run every case in order."""
        return [await run_case(case, self.metrics, live=live) for case in self.cases]


def report(results: Sequence[EvalResult], write: Callable[[str], None] = print) -> bool:
    """Print one line per case and per metric, and the closing line; True when all passed."""
    for r in results:
        write(f"{r.name} {'✓' if r.passed else '✗'}")
        if r.error is not None:
            write(f"  error: {type(r.error).__name__}: {r.error}")
        elif not r.metrics:
            write("  (no cost metrics — structural test)")
        for m in r.metrics:
            write(f"  {m.name} ... {m.detail}")
        write("")
    passed = sum(r.passed for r in results)
    total = sum(r.cost_usd for r in results)
    write(f"{passed} passed, {len(results) - passed} failed | total cost: {format_usd(total)}")
    return passed == len(results)


def _load(path: Path) -> ModuleType:
    name = f"lrp_eval_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError("path", str(path), "Point at a .py file or a folder of them.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def discover(path: str | Path) -> list[EvalSuite]:
    """Suites in the ``.py`` files at ``path``; cases outside any suite form one with their own metrics."""
    root = Path(path)
    if not root.exists():
        raise ConfigError("path", str(root), "No such file or folder.")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*.py") if not p.name.startswith("_"))
    suites: list[EvalSuite] = []
    for file in files:
        module = _load(file)
        found = [v for v in vars(module).values() if isinstance(v, EvalSuite)]
        in_suites = {id(c) for s in found for c in s.cases}
        loose = [v for v in vars(module).values() if isinstance(v, EvalCase) and id(v) not in in_suites]
        suites += found
        if loose:
            suites.append(EvalSuite(loose))
    return suites


async def run_path(path: str | Path, *, live: bool = False) -> list[EvalResult]:
    """Discover and run every eval case at ``path``."""
    results: list[EvalResult] = []
    for suite in discover(path):
        results += await suite.run(live=live)
    return results
