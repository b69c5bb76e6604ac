"""``DecisionHook``: LiteLLM's callbacks settle admitted calls and put the decision on the response.

Registered once per process in ``litellm.callbacks``. LiteLLM awaits the deployment hooks inside
the call, so a non-streamed call is settled before its response is returned; a stream is settled
when LiteLLM logs its completion. Calls without a ticket pass through untouched. A routed call then
goes to its pipeline's learning loop, once: a non-streamed async call from the deployment hook, a
stream from the log event of its assembled response, a synchronous call (LiteLLM's logging thread)
handed to the bridge loop without waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from litellm.integrations.custom_logger import CustomLogger

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.integrations.blocking import submit
from litellm_router_plugin.integrations.deployments import GROUP_PICK_KEY
from litellm_router_plugin.online.observed import request_of_log
from litellm_router_plugin.pipeline.pipeline import Pipeline, run_without_loop
from litellm_router_plugin.pipeline.ticket import TICKET_KEY, Ticket
from litellm_router_plugin.pricing import response_cost
from litellm_router_plugin.routing.decision import METADATA_KEY

if TYPE_CHECKING:
    from litellm_router_plugin.online.learner import Learner

logger = logging.getLogger(__name__)


def _decided_here(metadata: Any) -> bool:
    """Whether this attempt went to the deployment we chose (not, say, a LiteLLM fallback group that
    inherited the request's metadata)."""
    if not isinstance(metadata, Mapping):
        return False
    decision = metadata.get(METADATA_KEY)
    if not isinstance(decision, Mapping):
        return False
    info = metadata.get("model_info")
    used = info.get("id") if isinstance(info, Mapping) else None
    return used is None or used == decision.get("deployment_id") or used == metadata.get(GROUP_PICK_KEY)


async def settle_from_metadata(
    metadata: Any,
    *,
    usage: Any = None,
    error: BaseException | None = None,
    response: Any = None,
    cost: float | None = None,
) -> float | None:
    """Settle the ticket a request's metadata carries, through the pipeline that issued it, at
    LiteLLM's ``response_cost`` (``cost``, or computed from ``response``) where LiteLLM has one;
    returns the cost computed here (``None`` when none was)."""
    if not _decided_here(metadata):
        return None
    return await _settle(Ticket.from_metadata(metadata.get(TICKET_KEY)), usage, error, response, cost)


async def _settle(
    ticket: Ticket | None, usage: Any, error: BaseException | None, response: Any, cost: float | None
) -> float | None:
    """:func:`settle_from_metadata` for a ticket already read from metadata we decided."""
    pipeline = Pipeline.lookup(ticket.pipeline) if ticket is not None else None
    computed = None
    if ticket is not None and pipeline is not None:
        if cost is None and response is not None and error is None:
            cost = computed = response_cost(response, ticket.model, ticket.price())
        await pipeline.settle(ticket, usage=usage, error=error, cost=cost)
    return computed


def _logged_cost(kwargs: Mapping[str, Any]) -> float | None:
    """The ``response_cost`` LiteLLM's logging computed for the call, if any."""
    value = kwargs.get("response_cost")
    return float(value) if isinstance(value, int | float) and value >= 0 else None


REQUEST_ID_KEY = "router_request_id"
"""Key of the request id (the one feedback names) in ``response._hidden_params``."""


def _learner_of(metadata: Any, ticket: Ticket | None = None) -> tuple[Learner, Ticket, Mapping[str, Any]] | None:
    """The learning loop, ticket and decision of a call routed here, when its pipeline learns
    (``ticket``: the call's, when the caller has read it already)."""
    if ticket is None:
        if not _decided_here(metadata):
            return None
        ticket = Ticket.from_metadata(metadata.get(TICKET_KEY))
    pipeline = Pipeline.lookup(ticket.pipeline) if ticket is not None else None
    decision = metadata.get(METADATA_KEY)
    if ticket is None or pipeline is None or pipeline.learner is None or not isinstance(decision, Mapping):
        return None
    from litellm_router_plugin.online.learner import Learner  # only when learning is on

    return (pipeline.learner, ticket, decision) if isinstance(pipeline.learner, Learner) else None


async def _learn(request_data: Mapping[str, Any], response: Any, metadata: Any, ticket: Ticket | None = None) -> None:
    """Hand a settled response to its pipeline's learning loop, if one is attached (shadows run in
    the background); never raises: learning must not fail a call that succeeded. ``ticket``: the
    call's, when the caller has read it already (its metadata was then decided here)."""
    found = _learner_of(metadata, ticket)
    if found is None:
        return
    learner, ticket, decision = found
    try:
        await learner.after_response(request_data, response, ticket.request_id, decision)
    except Exception:
        logger.exception("learning from request %s failed", ticket.request_id)


def _metadata_of(kwargs: Mapping[str, Any]) -> Any:
    return (kwargs.get("litellm_params") or {}).get("metadata")


class DecisionHook(CustomLogger):  # type: ignore[misc]  # litellm is untyped here
    """Settles admitted calls and copies the decision onto ``response._hidden_params``."""

    async def async_post_call_success_deployment_hook(
        self, request_data: dict[str, Any], response: Any, call_type: Any
    ) -> Any:
        metadata: Any = request_data.get("metadata")
        if _decided_here(metadata):
            hidden = getattr(response, "_hidden_params", None)
            ticket = Ticket.from_metadata(metadata.get(TICKET_KEY))
            if isinstance(hidden, dict):
                hidden[METADATA_KEY] = metadata[METADATA_KEY]
                if ticket is not None:
                    hidden[REQUEST_ID_KEY] = ticket.request_id  # what feedback names
            cost = await _settle(ticket, getattr(response, "usage", None), None, response, None)  # read once
            if isinstance(hidden, dict) and cost is not None and hidden.get("response_cost") is None:
                # LiteLLM's logging prices the call after this hook unless the response carries its
                # cost: the same figure, computed once. litellm.completion_cost with the deployment's
                # price (pricing.response_cost) costs about half of the logging object's calculation,
                # which looks the model up by name and so rebuilds LiteLLM's lowercase price index
                # (cleared by every call to a deployment-priced model): measured with bench/hook_cpu.py
                hidden["response_cost"] = cost
            if not request_data.get("stream"):  # a stream learns once assembled (async_log_success_event)
                await _learn(request_data, response, metadata, ticket)
        return response

    async def async_post_call_failure_deployment_hook(
        self, request_data: Mapping[str, Any], exception: Exception, call_type: Any
    ) -> None:
        await settle_from_metadata(request_data.get("metadata"), error=exception)

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        if kwargs.get("stream"):  # response_obj: the stream assembled, once it has ended
            metadata = _metadata_of(kwargs)
            usage = getattr(response_obj, "usage", None)
            await settle_from_metadata(metadata, usage=usage, response=response_obj, cost=_logged_cost(kwargs))
            await _learn(request_of_log(kwargs, metadata), response_obj, metadata)

    # LiteLLM calls the two below for synchronous calls only (Router.completion), which admit
    # through the memory store, whose coroutines never suspend.
    def log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        usage = getattr(response_obj, "usage", None)
        metadata = _metadata_of(kwargs)
        run_without_loop(settle_from_metadata(metadata, usage=usage, response=response_obj, cost=_logged_cost(kwargs)))
        found = _learner_of(metadata)
        if found is not None:
            # LiteLLM runs this in its logging thread, after the caller has its response; the loop's
            # store write, shadow call and judge need an event loop: the bridge loop's, not waited for.
            learning = _learn(request_of_log(kwargs, metadata), response_obj, metadata)
            found[0].track(submit(learning))

    def log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        error = kwargs.get("exception")
        error = error if isinstance(error, Exception) else RuntimeError("failed")
        run_without_loop(settle_from_metadata(_metadata_of(kwargs), error=error))


_HOOK = DecisionHook()


def ensure_decision_hook() -> None:
    """Register the process-wide decision hook once."""
    if not any(isinstance(cb, DecisionHook) for cb in litellm.callbacks):
        litellm.callbacks.append(_HOOK)


def attach_learner(pipeline: Pipeline) -> None:
    """Attach the learning loop to ``pipeline`` when its config turns learning or shadowing on."""
    settings = pipeline.config.learning
    if settings.enabled or settings.shadow.share > 0:
        from litellm_router_plugin.online.learner import Learner  # numpy and pydantic_ai: only when on

        Learner.attach(pipeline)
