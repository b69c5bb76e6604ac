"""Circuit breaker behaviour over both stores, plus a state-machine test against a reference model."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import litellm
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from litellm_router_plugin import CircuitBreaker, CircuitBreakerOpen, ConfigError, MemoryStore, RedisStore
from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.guards.breaker import counts_as_failure
from litellm_router_plugin.state import Store
from tests.stores import REDIS_URL

Clocked = tuple[Store, ManualClock]


class Upstream(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


async def fail(breaker: CircuitBreaker, status: int = 500) -> None:
    with pytest.raises(Upstream):
        async with breaker:
            raise Upstream(status)


async def test_opens_after_threshold_failures_within_the_window(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    breaker = CircuitBreaker("gpt-4o-mini", failure_threshold=3, window_seconds=10, recovery_timeout=30, store=store)
    await fail(breaker)
    await fail(breaker)
    clock.advance(11)  # the first two fall out of the window
    await fail(breaker)
    assert (await breaker.status()).state == "closed"
    await fail(breaker)
    await fail(breaker)
    status = await breaker.status()
    assert (status.state, status.failures) == ("open", 3)

    calls = 0
    with pytest.raises(CircuitBreakerOpen) as info:
        async with breaker:
            calls += 1
    assert calls == 0  # refused before any call
    assert info.value.retry_after == pytest.approx(30, abs=0.01)


async def test_half_open_allows_exactly_one_probe_then_closes_on_success(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    breaker = CircuitBreaker("m", failure_threshold=1, recovery_timeout=5, store=store)
    await fail(breaker)
    clock.advance(5)
    assert (await breaker.status()).state == "half_open"

    entered = asyncio.Event()
    release = asyncio.Event()

    async def probe() -> None:
        async with breaker:
            entered.set()
            await release.wait()

    task = asyncio.create_task(probe())
    await entered.wait()
    for _ in range(5):
        with pytest.raises(CircuitBreakerOpen):
            async with breaker:
                pass
    assert (await breaker.status()).probe_in_flight
    release.set()
    await task
    status = await breaker.status()
    assert (status.state, status.failures) == ("closed", 0)
    async with breaker:
        pass


async def test_failed_probe_reopens(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    breaker = CircuitBreaker("m", failure_threshold=2, recovery_timeout=5, store=store)
    await fail(breaker)
    await fail(breaker)
    clock.advance(6)
    await fail(breaker)  # the probe
    status = await breaker.status()
    assert status.state == "open"
    with pytest.raises(CircuitBreakerOpen):
        async with breaker:
            pass
    clock.advance(5)
    async with breaker:
        pass
    assert (await breaker.status()).state == "closed"


async def test_request_errors_do_not_count_and_release_the_probe(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    breaker = CircuitBreaker("m", failure_threshold=1, recovery_timeout=5, store=store)
    await fail(breaker, 400)
    await fail(breaker, 404)
    assert (await breaker.status()).state == "closed"
    await fail(breaker, 429)
    assert (await breaker.status()).state == "open"
    clock.advance(5)
    await fail(breaker, 400)  # the probe hit a bad request: not the deployment's fault
    status = await breaker.status()
    assert (status.state, status.probe_in_flight) == ("half_open", False)
    async with breaker:  # another probe may go
        pass
    assert (await breaker.status()).state == "closed"


async def test_abandoned_probe_expires_with_its_lease(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    breaker = CircuitBreaker("m", failure_threshold=1, recovery_timeout=5, probe_lease_seconds=20, store=store)
    await fail(breaker)
    clock.advance(5)
    await breaker.acquire()  # a worker takes the probe and dies
    with pytest.raises(CircuitBreakerOpen):
        await breaker.acquire()
    clock.advance(20)
    _, probe = await breaker.acquire()
    assert probe


@pytest.mark.parametrize(
    ("exc", "counts"),
    [
        (Upstream(500), True),
        (Upstream(503), True),
        (Upstream(429), True),
        (Upstream(400), False),
        (Upstream(401), False),
        (TimeoutError(), True),
        (ConnectionError(), True),
        (litellm.Timeout("t", "gpt-4o", "openai"), True),
        (litellm.APIConnectionError("c", "openai", "gpt-4o"), True),
        (litellm.BadRequestError("b", "gpt-4o", "openai"), False),
        (litellm.RateLimitError("r", "openai", "gpt-4o"), True),
        (ValueError("a bug in the caller"), False),
    ],
)
def test_which_errors_count(exc: BaseException, counts: bool) -> None:
    assert counts_as_failure(exc) is counts


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "m", "failure_threshold": 0}, "failure_threshold"),
        ({"name": "m", "window_seconds": -1}, "window_seconds"),
        ({"name": "m", "recovery_timeout": float("nan")}, "recovery_timeout"),
    ],
)
def test_bad_breaker_settings(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@dataclass
class Reference:
    """The breaker as specified, in a few lines: what the stores must agree with."""

    threshold: int
    window: float
    recovery: float
    state: str = "closed"
    failures: list[float] = field(default_factory=list)
    opened_at: float = 0.0
    probe_busy: bool = False

    def phase(self, now: float) -> str:
        if self.state == "open" and now >= self.opened_at + self.recovery:
            return "half_open"
        return self.state

    def allows(self, now: float) -> tuple[bool, bool]:
        phase = self.phase(now)
        if phase == "closed":
            return True, False
        if phase == "half_open" and not self.probe_busy:
            self.probe_busy = True
            return True, True
        return False, False

    def record(self, now: float, ok: bool, probe: bool) -> None:
        if ok:
            if probe:
                self.state, self.failures, self.probe_busy = "closed", [], False
            return
        self.failures = [t for t in self.failures if t > now - self.window] + [now]
        if probe:
            self.state, self.opened_at, self.probe_busy = "open", now, False
        elif self.state == "closed" and len(self.failures) >= self.threshold:
            self.state, self.opened_at = "open", now


class BreakerMachine(RuleBasedStateMachine):
    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.loop = asyncio.new_event_loop()
        self.store: Store = (
            MemoryStore(self.clock)
            if self.backend == "memory"
            else RedisStore(REDIS_URL, prefix=f"sm-{uuid.uuid4().hex[:12]}", clock=self.clock)
        )
        self.breaker = CircuitBreaker(
            "sm",
            failure_threshold=3,
            window_seconds=10,
            recovery_timeout=5,
            probe_lease_seconds=1000,
            store=self.store,
        )
        self.model = Reference(threshold=3, window=10, recovery=5)
        self.open_permits: list[tuple[str, bool]] = []

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    @rule(seconds=st.sampled_from([0.5, 1, 3, 5, 11]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def acquire(self) -> None:
        allowed, probe = self.model.allows(self.clock.now())
        try:
            permit = self.run(self.breaker.acquire())
        except CircuitBreakerOpen:
            assert not allowed
            return
        assert allowed
        assert permit[1] == probe
        self.open_permits.append(permit)

    @precondition(lambda self: bool(self.open_permits))
    @rule(ok=st.booleans(), which=st.integers(min_value=0, max_value=10))
    def finish(self, ok: bool, which: int) -> None:
        permit_id, probe = self.open_permits.pop(which % len(self.open_permits))
        self.model.record(self.clock.now(), ok, probe)
        self.run(self.breaker.release(permit_id, probe, "success" if ok else "failure"))

    @invariant()
    def same_state(self) -> None:
        status = self.run(self.breaker.status())
        assert status.state == self.model.phase(self.clock.now())

    def teardown(self) -> None:
        if isinstance(self.store, RedisStore):
            self.run(self.store.clear())
            self.run(self.store.aclose())
        self.loop.close()


class RedisBreakerMachine(BreakerMachine):
    backend = "redis"


TestBreakerStateMachine = BreakerMachine.TestCase
TestBreakerStateMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestRedisBreakerStateMachine = RedisBreakerMachine.TestCase
TestRedisBreakerStateMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
