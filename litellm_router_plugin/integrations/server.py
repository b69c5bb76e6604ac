"""``/router/route``, ``/router/stats``, ``/router/metrics`` and the dashboard: a small FastAPI app
(``litellm-router serve``), and the same routes the proxy plugin mounts under ``/router``.

Errors use the OpenAI shape the proxy uses, ``{"error": {"message", "type", "param", "code"}}``,
in both places: the handlers validate their input themselves rather than leave it to FastAPI (whose
``{"detail": [...]}`` the proxy would pass through unchanged).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from litellm_router_plugin import metrics
from litellm_router_plugin.errors import ConfigError, StoreUnavailableError
from litellm_router_plugin.guards.admission import store_from_config
from litellm_router_plugin.guards.budget_use import budget_use
from litellm_router_plugin.integrations.http_errors import error_body, invalid_request, refusal
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.state.base import Store
from litellm_router_plugin.state.stats import store_stats

BUDGET_REFRESH_SECONDS = 5.0
"""The remaining-budget gauges are read from the store at most this often per worker (scrapes stay cheap)."""

PREFIX = "/router"
"""Where the routes live, on the proxy and in ``serve`` alike."""


class RouteRequest(BaseModel):
    """A request to plan: OpenAI-style ``messages``, or a bare ``prompt``."""

    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    max_tokens: int | None = None
    metadata: dict[str, Any] | None = None


class FeedbackRequest(BaseModel):
    """A caller's rating of a routed response: its ``x-router-request-id`` and a quality 0-1."""

    request_id: str = Field(min_length=1, max_length=200)
    score: float = Field(ge=0, le=1)


def _validation_error(exc: ValidationError) -> JSONResponse:
    first = exc.errors(include_url=False)[0]
    param = ".".join(str(part) for part in first["loc"]) or None
    return invalid_request(f"{param}: {first['msg']}" if param else first["msg"], param)


_ROUTE_BODY = {"content": {"application/json": {"schema": RouteRequest.model_json_schema()}}, "required": True}


_STORES: weakref.WeakKeyDictionary[Pipeline, Store] = weakref.WeakKeyDictionary()


def pipeline_store(pipeline: Pipeline) -> Store:
    """The store the pipeline admits against (one made from its config, once, when it admits nothing)."""
    if pipeline.admission is not None:
        return pipeline.admission.store
    found = _STORES.get(pipeline)
    if found is None:
        found = _STORES[pipeline] = store_from_config(pipeline.config)
    return found


def routes(pipeline: Pipeline) -> APIRouter:
    """The endpoints (without the prefix), for ``serve`` and for mounting on the proxy."""
    api = APIRouter()
    _request_routes(api, pipeline)
    _store_routes(api, pipeline)
    return api


def _request_routes(api: APIRouter, pipeline: Pipeline) -> None:
    """``/route`` (a decision, nothing called) and ``/feedback`` (a rating of a routed response)."""

    @api.post("/route", openapi_extra={"requestBody": _ROUTE_BODY}, response_model=None)
    async def route(request: Request) -> dict[str, Any] | JSONResponse:
        """The routing decision for a request; no model is called and nothing is charged."""
        try:
            payload = await request.json()
        except ValueError:
            return invalid_request('The body is not JSON: send {"prompt": "..."} or {"messages": [...]}.')
        try:
            body = RouteRequest.model_validate(payload)
        except ValidationError as exc:
            return _validation_error(exc)
        messages = body.messages or ([{"role": "user", "content": body.prompt}] if body.prompt else None)
        if not messages:
            return invalid_request("Give `messages` (OpenAI format) or `prompt`.", "messages")
        plan_request: dict[str, Any] = {"metadata": body.metadata or {}}
        if body.max_tokens:
            plan_request["max_tokens"] = body.max_tokens
        try:
            decision = await pipeline.planner.decision(pipeline.request(plan_request, messages=messages))
        except ConfigError as exc:
            return refusal(exc)
        return decision.model_dump(mode="json")

    @api.post("/feedback", response_model=None)
    async def feedback(request: Request) -> dict[str, Any] | JSONResponse:
        """Record a rating (0-1) of a routed response, joined to its decision, as a learning outcome."""
        from litellm_router_plugin.online.learner import Learner, UnknownRequest  # numpy-free, but only when used

        try:
            body = FeedbackRequest.model_validate(await request.json())
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                return _validation_error(exc)
            return invalid_request('The body is not JSON: send {"request_id": "...", "score": 0.8}.')
        learner = Learner.attach(pipeline)
        if learner is None:
            return invalid_request("Feedback needs the learning loop: set learning.enabled or learning.shadow.share.")
        try:
            outcome = await learner.feedback(body.request_id, body.score)
        except UnknownRequest as exc:
            return JSONResponse(error_body(404, str(exc), "not_found_error", "request_id"), status_code=404)
        except StoreUnavailableError as exc:
            return refusal(exc)
        data = outcome.to_json()
        return {"recorded": True, **{k: data[k] for k in ("source", "weak_model", "weak", "strong_model", "strong")}}


def _store_routes(api: APIRouter, pipeline: Pipeline) -> None:
    """``/stats`` (spend from the ledger) and ``/metrics`` (Prometheus, breakers and budgets read at scrape)."""
    admission = pipeline.admission
    store = pipeline_store(pipeline)
    unavailable = store.durable.unavailable_errors if store.durable is not None else ()

    @api.get("/stats", response_model=None)
    async def stats(request: Request) -> dict[str, Any] | JSONResponse:
        """Spend by tier, model, user, key, team and day from the shared ledger (summed in SQL when it
        is PostgreSQL); savings against all-strongest, per day too. Query: ``since`` / ``until``
        (inclusive days, YYYY-MM-DD), ``limit`` (only the newest N ledger rows)."""
        raw = request.query_params.get("limit")
        limit = int(raw) if raw is not None and raw.isdigit() else None
        if raw is not None and limit is None:
            return invalid_request(f"limit: invalid value {raw!r}; give a whole number of ledger rows.", "limit")
        query = request.query_params
        try:
            found = await store_stats(store, query.get("since"), query.get("until"), limit)
        except ConfigError as exc:
            return refusal(exc)
        except (StoreUnavailableError, *unavailable) as exc:
            return refusal(exc if isinstance(exc, StoreUnavailableError) else StoreUnavailableError(store.name, exc))
        return found.as_dict()

    refreshed = [-BUDGET_REFRESH_SECONDS]

    @api.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus metrics (breaker states read from the store at scrape time; ``unknown`` while
        the store is unreachable)."""
        if admission is not None:
            names = [d.deployment_id for tier in pipeline.tier_map for d in tier.deployments]
            try:
                await admission.breaker_states(names)
                if admission.budgets_on and time.monotonic() >= refreshed[0] + BUDGET_REFRESH_SECONDS:
                    refreshed[0] = time.monotonic()
                    await budget_use(admission)  # the remaining-budget gauges, bounded per scope kind
            except StoreUnavailableError:
                for name in names:
                    metrics.BREAKER_STATE.labels(name).set(metrics.BREAKER_CODES["unknown"])
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")


def create_app(pipeline: Pipeline) -> FastAPI:
    """A standalone app serving :func:`routes` under ``/router``, as the proxy does."""
    from litellm_router_plugin.integrations.dashboard import data_routes, page_routes

    app = FastAPI(title="litellm-router-plugin")
    app.include_router(routes(pipeline), prefix=PREFIX)
    app.include_router(page_routes(), prefix=PREFIX)
    app.include_router(data_routes(pipeline, pipeline_store(pipeline)), prefix=PREFIX)
    return app
