"""``Learner``: the learning loop inside a running pipeline.

After each routed response (LiteLLM's success hooks, off the caller's path: a stream once assembled, a
synchronous call on the bridge loop, see ``integrations.hooks``) it keeps the decision and
the prompt's hashed features for feedback, and for ``learning.shadow.share`` of requests makes a
shadow comparison; feedback (``POST /router/feedback``, ``feedback()``), cascades and shadows become
outcomes in the store (and the PostgreSQL ledger). With ``learning.enabled``, every
``retrain_every`` new outcomes one worker trains a candidate in a thread, compares it with the
current model by cross-validated APGR, publishes it and promotes it when it is better by the margin;
every worker adopts the current version (model and thresholds) before its next request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import itertools
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from pydantic_ai.models import Model

from litellm_router_plugin.classify.base import Classifier
from litellm_router_plugin.classify.traffic import PromptFeatures, featurise
from litellm_router_plugin.config import LearningConfig, PluginConfig
from litellm_router_plugin.errors import ConfigError, RouterPluginError, StoreUnavailableError
from litellm_router_plugin.guards.admission import store_from_config
from litellm_router_plugin.learning.ledger import OutcomeLedger
from litellm_router_plugin.learning.outcomes import Outcome, Source
from litellm_router_plugin.learning.versions import Comparison, Registry, Version, labelled, train
from litellm_router_plugin.online.observed import PASSED, answer_of, judge_prompt, redacted
from litellm_router_plugin.online.shadow import Shadow, ShadowSkipped, reference_of, sampled
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.routing.request import prompt_text
from litellm_router_plugin.state import Store
from litellm_router_plugin.state.learning import LearningState, learning_state

logger = logging.getLogger(__name__)

RETRAIN_LEASE_MS = 600_000
"""A retraining worker that died frees the lock after this long."""


_Step = tuple[str, float | None]
"""A cascade step: the model that answered and the quality its checks gave (``None``: not rated)."""


async def _ended(task: asyncio.Task[Any]) -> None:
    """Wait, on its own loop, until ``task`` is done (its error is logged by ``Learner._done``)."""
    await asyncio.wait([task])


class UnknownRequest(RouterPluginError):
    """Feedback for a request id that is unknown, expired or already rated."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"request {request_id!r} is unknown, already has feedback, or is older than "
            "learning.feedback_ttl_seconds; use the x-router-request-id of a recent response"
        )
        self.request_id = request_id


class Learner:
    """The learning loop of one pipeline (``Learner.attach``); its background tasks never fail a request."""

    def __init__(self, pipeline: Pipeline, *, judge: str | Model | None = None) -> None:
        self.pipeline = pipeline
        self.shadow = Shadow(pipeline, judge)
        self.owner = uuid.uuid4().hex
        self.tasks: set[asyncio.Task[Any]] = set()
        """Background tasks, on the loop that started each (the caller's, or the bridge loop of synchronous calls)."""
        self.submitted: set[concurrent.futures.Future[Any]] = set()
        """Work handed over from another thread (LiteLLM's logging thread of synchronous calls), until done."""
        self.stats: Counter[str] = Counter()
        """``routed``, ``sampled``, ``shadowed``, ``skipped`` (budget, breaker, error) and
        ``skipped:<reason>`` (``strongest``, ``no_judge``, ``empty``, ``redacted``), ``outcomes:<source>``,
        ``retrained``, ``promoted``."""
        self._stats_lock = threading.Lock()  # two threads count: a caller's loop and the bridge loop
        self.adopted: str | None = None
        self.last: Comparison | None = None
        self._planner: Planner | None = None
        self._original: tuple[Classifier, PluginConfig] | None = None
        self._due = 0.0
        self._policy_version = pipeline.policy_version
        self._store: Store | None = None
        self._ledger: OutcomeLedger | None = None
        pipeline.learner = self

    @classmethod
    def attach(cls, pipeline: Pipeline, *, judge: str | Model | None = None) -> Learner | None:
        """The pipeline's learner, made when its config turns learning or shadowing on (else ``None``)."""
        if isinstance(pipeline.learner, Learner):
            return pipeline.learner
        settings = pipeline.config.learning
        if not (settings.enabled or settings.shadow.share > 0):
            return None
        return cls(pipeline, judge=judge)

    @property
    def config(self) -> LearningConfig:
        """The current policy's learning settings."""
        return self.pipeline.config.learning

    @property
    def state(self) -> LearningState:
        """Outcomes and model versions, in the pipeline's store."""
        admission = self.pipeline.admission
        if admission is not None:
            return learning_state(admission.store)
        if self._store is None:
            self._store = store_from_config(self.pipeline.config)
        return learning_state(self._store)

    @property
    def registry(self) -> Registry:
        """The model versions."""
        return Registry(self.state)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)  # a strong reference until done
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any] | concurrent.futures.Future[Any]) -> None:
        self.tasks.discard(task)  # one of the two sets holds it
        self.submitted.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("learning task failed", exc_info=task.exception())

    def track(self, future: concurrent.futures.Future[Any]) -> None:
        """Keep ``future`` (learning work running on another loop) until done: ``drain`` waits for it."""
        self.submitted.add(future)
        future.add_done_callback(self._done)

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    async def drain(self) -> None:
        """Wait for every background task (and those they start) to finish, on whichever loop it runs."""
        here = asyncio.get_running_loop()
        while self.tasks or self.submitted:
            waits: list[Any] = [asyncio.wrap_future(f) for f in list(self.submitted)]
            for task in list(self.tasks):
                loop = task.get_loop()
                if loop.is_closed():  # its loop ended (an asyncio.run that returned): it never will
                    self.tasks.discard(task)
                    continue
                waits.append(
                    task if loop is here else asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_ended(task), loop))
                )
            await asyncio.gather(*waits, return_exceptions=True)

    async def aclose(self) -> None:
        """Finish the background tasks and close the outcome ledger."""
        await self.drain()
        if self._ledger is not None:
            await self._ledger.aclose()

    # -- adoption of the published version (before each request) ------------------------------
    async def refresh(self) -> None:
        """Adopt the current model version when it changed (or the policy was reloaded)."""
        if not self.config.enabled:
            return
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + self.config.poll_seconds
        try:
            name = await self.state.current()
            if name == self.adopted and self.pipeline.planner is self._planner:
                return
            version = await self.registry.get(name) if name is not None else None
        except (StoreUnavailableError, ValueError) as exc:
            logger.error("learned model not adopted (%s); keeping %s", exc, self.adopted or "the configured one")
            return
        self.apply(version)

    def apply(self, version: Version | None) -> None:
        """Route with ``version``'s model and thresholds (``None``: the configured classifier)."""
        planner = self.pipeline.planner
        if planner is not self._planner or self._original is None:  # first use, or the policy was reloaded
            self._planner, self._original = planner, (planner.classifier, planner.config)
            self._policy_version = self.pipeline.policy_version
        classifier, config = self._original
        if version is not None:
            classifier = version.model
            if version.thresholds is not None and len(version.thresholds) == len(planner.tier_map.tiers) - 1:
                settings = config.classifier.model_copy(update={"tier_thresholds": version.thresholds})
                config = config.model_copy(update={"classifier": settings})
        planner.classifier, planner.config = classifier, config
        name = version.version if version is not None else None
        # Decisions (logs, ledger) name the model with the policy: "<policy>+<model version>".
        stamped = f"{self._policy_version}+{name}" if name else self._policy_version
        self.pipeline.policy = self.pipeline.policy.adopting(config, stamped)
        if name != self.adopted:
            logger.warning("learned model: %s -> %s", self.adopted or "configured", name or "configured")
        self.adopted = name

    # -- outcome sources ------------------------------------------------------------------------
    async def after_response(
        self, request: Mapping[str, Any], response: Any, request_id: str, decision: Mapping[str, Any]
    ) -> None:
        """Called by LiteLLM's success hooks for each admitted call (a stream once it is assembled, a
        synchronous call from LiteLLM's logging thread through the bridge loop): keep the routed response
        open to feedback (its decision and hashed features: one store write, awaited so that feedback
        sent right after the response finds it) and, for the configured share, shadow it in the
        background; an answer that is a tool call is compared as its rendered call (``observed``)."""
        if decision.get("requested_model") != self.pipeline.alias:
            return  # named tiers and models, and cascade steps: not routed by the classifier
        self._count("routed")
        messages = [dict(m) for m in request.get("messages") or [] if isinstance(m, Mapping)]
        prompt = prompt_text(messages)
        join = {"tier": decision["tier"], "model": decision["model"], "features": featurise(prompt).to_json()}
        if self.config.store_prompts:
            join["prompt"] = prompt
        try:
            await self.state.put_join(request_id, json.dumps(join), int(self.config.feedback_ttl_seconds * 1000))
        except StoreUnavailableError as exc:
            logger.warning("request %s not kept for feedback: %s", request_id, exc)
        if sampled(request_id, self.config.shadow.share):
            self._count("sampled")
            answer = answer_of(response)  # its text, or the tool calls it made
            if redacted(messages, answer):  # LiteLLM's turn_off_message_logging: nothing to compare
                self._count("skipped:redacted")
                return
            if not answer.strip():
                self._count("skipped:empty")
                return
            settings = {k: request[k] for k in PASSED if k in request}
            prompts = (prompt, judge_prompt(prompt, request))
            reference = reference_of(request)
            self._spawn(self._shadow(messages, settings, prompts, answer, request_id, dict(decision), reference))

    async def _shadow(
        self,
        messages: list[dict[str, Any]],
        settings: dict[str, Any],
        prompts: tuple[str, str],
        answer: str,
        request_id: str,
        decision: Mapping[str, Any],
        reference: str | None,
    ) -> None:
        """``prompts``: the routed prompt (whose features the outcome keeps) and what the judge reads."""
        prompt, judged = prompts
        try:
            got = await self.shadow.answer(messages, settings, str(decision["tier"]))
            if got is None:
                self._count("skipped:strongest")
                return
            self._count("shadowed")
            strong_model, strong_answer = got
            rating = await self.shadow.rate(judged, answer, strong_answer, reference=reference, order_key=request_id)
        except (ShadowSkipped, RouterPluginError) as exc:
            self._count("skipped")
            logger.info("shadow comparison of %s skipped: %s", request_id, exc)
            return
        if rating is None:
            self._count("skipped:no_judge")
            return
        outcome = Outcome.of(
            prompt,
            weak=rating.weak,
            strong=rating.strong,
            source="shadow",
            weak_model=str(decision["model"]),
            strong_model=strong_model,
            keep_prompt=self.config.store_prompts,
        )
        await self.record(outcome, request_id=request_id)

    async def feedback(self, request_id: str, score: float) -> Outcome:
        """Record a caller's rating (0-1) of a routed response, joined to its decision; once per request."""
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise ConfigError("score", score, "Give the answer's quality as a number from 0 (bad) to 1 (good).")
        raw = await self.state.take_join(request_id)
        if raw is None:
            raise UnknownRequest(request_id)
        join = json.loads(raw)
        names = self.pipeline.tier_map.names
        tier, model = str(join["tier"]), str(join["model"])
        rank = names.index(tier) if tier in names else 0
        features = PromptFeatures.from_json(join["features"])
        now, prompt = time.time(), join.get("prompt")
        if rank == len(names) - 1 and rank > 0:  # the strongest tier answered: its side of the pair
            outcome = Outcome(features, prompt, names[rank - 1], None, model, float(score), "feedback", now)
        else:
            nxt = names[rank + 1] if rank + 1 < len(names) else model
            outcome = Outcome(features, prompt, model, float(score), nxt, None, "feedback", now)
        await self.record(outcome, request_id=request_id)
        return outcome

    def cascade_outcome(self, messages: Sequence[Mapping[str, Any]], steps: Sequence[tuple[str, float | None]]) -> None:
        """Record each escalation of a cascade that produced both answers: ``steps`` is (model, quality)
        per answered step in order (quality ``None`` where no check rated it)."""
        pairs = [(a, b) for a, b in itertools.pairwise(steps) if a[1] is not None or b[1] is not None]
        if pairs:
            self._spawn(self._cascade(prompt_text(messages), pairs))

    async def _cascade(
        self, prompt: str, pairs: list[tuple[tuple[str, float | None], tuple[str, float | None]]]
    ) -> None:
        for (weak_model, weak), (strong_model, strong) in pairs:
            outcome = Outcome.of(
                prompt,
                weak=weak,
                strong=strong,
                source="cascade",
                weak_model=weak_model,
                strong_model=strong_model,
                keep_prompt=self.config.store_prompts,
            )
            await self.record(outcome)

    # -- the store, the ledger and retraining --------------------------------------------------
    def _outcome_ledger(self) -> OutcomeLedger | None:
        settings = self.pipeline.config.ledger
        if settings.kind != "postgres":
            return None
        if self._ledger is None:
            import os

            self._ledger = OutcomeLedger(settings.dsn or os.environ["LEDGER_DSN"], schema=settings.schema_name)
        return self._ledger

    async def record(self, outcome: Outcome, *, request_id: str | None = None) -> None:
        """Store an outcome (bounded), append it to the PostgreSQL ledger, and retrain when due."""
        if outcome.prompt is not None and not self.config.store_prompts:
            outcome = dataclasses.replace(outcome, prompt=None)
        body = json.dumps(outcome.to_json(), separators=(",", ":"))
        try:
            await self.state.add_outcome(body, self.config.max_outcomes)
        except StoreUnavailableError as exc:
            logger.error("outcome (%s) lost: %s", outcome.source, exc)
            return
        self._count(f"outcomes:{outcome.source}")
        ledger = self._outcome_ledger()
        if ledger is not None:
            await ledger.write(body, request_id=request_id, source=outcome.source)
        if self.config.enabled:
            claimed = await self.state.claim_retrain(self.config.retrain_every, RETRAIN_LEASE_MS, self.owner)
            if claimed:
                self._spawn(self.retrain())

    async def outcomes(self, source: Source | None = None) -> list[Outcome]:
        """The stored outcomes, newest first (of one source, if given)."""
        found = [Outcome.from_json(json.loads(r)) for r in await self.state.outcomes()]
        return [o for o in found if source is None or o.source == source]

    async def retrain(self) -> Comparison | None:
        """Train a candidate on the stored outcomes, compare, publish, promote when better (one worker)."""
        try:
            outcomes = await self.outcomes()
            if len(labelled(outcomes)) < self.config.min_outcomes:
                logger.info(
                    "retraining skipped: %d rated outcomes, %d needed",
                    len(labelled(outcomes)),
                    self.config.min_outcomes,
                )
                return None
            current = await self.registry.current()
            configured = self._original[1] if self._original is not None else self.pipeline.config
            version, comparison = await asyncio.to_thread(
                train,
                outcomes,
                current,
                folds=self.config.folds,
                margin=self.config.margin,
                shares=self.config.tier_shares,
                thresholds=configured.classifier.tier_thresholds,
            )
            await self.registry.publish(version)
            self._count("retrained")
            if comparison.promote:
                await self.registry.promote(version.version)
                self._count("promoted")
            self.last = comparison
            logger.warning("learned model %s: %s", version.version, json.dumps(comparison.as_dict(), sort_keys=True))
            return comparison
        except (ValueError, StoreUnavailableError) as exc:
            logger.error("retraining failed: %s", exc)
            return None
        finally:
            await self.state.release_retrain(self.owner)
