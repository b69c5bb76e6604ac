"""``/route``, ``/stats`` and ``/metrics``: a small FastAPI app (``litellm-router serve``), also
mountable on the LiteLLM proxy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from litellm_router_plugin import metrics
from litellm_router_plugin.errors import ConfigError, StoreUnavailableError
from litellm_router_plugin.guards.admission import store_from_config
from litellm_router_plugin.guards.costs import summarise_ledger
from litellm_router_plugin.pipeline.pipeline import Pipeline


class RouteRequest(BaseModel):
    """A request to plan: OpenAI-style ``messages``, or a bare ``prompt``."""

    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    max_tokens: int | None = None
    metadata: dict[str, Any] | None = None


def routes(pipeline: Pipeline) -> APIRouter:
    """The endpoints, for ``serve`` and for mounting on the proxy."""
    api = APIRouter()
    admission = pipeline.admission
    store = admission.store if admission is not None else store_from_config(pipeline.config)

    @api.post("/route")
    async def route(body: RouteRequest) -> dict[str, Any]:
        """The routing decision for a request; no model is called and nothing is charged."""
        messages = body.messages or ([{"role": "user", "content": body.prompt}] if body.prompt else None)
        if not messages:
            raise HTTPException(400, detail="Give `messages` (OpenAI format) or `prompt`.")
        request: dict[str, Any] = {"metadata": body.metadata or {}}
        if body.max_tokens:
            request["max_tokens"] = body.max_tokens
        try:
            decision = await pipeline.planner.decide(messages, request)
        except ConfigError as exc:
            raise HTTPException(400, detail=str(exc)) from None
        return decision.model_dump(mode="json")

    @api.get("/stats")
    async def stats(limit: int | None = None) -> Any:
        """Spend by tier, model, user and day from the shared ledger; savings against all-strongest."""
        try:
            rows = await store.ledger(limit)
        except StoreUnavailableError:
            return JSONResponse(
                _error(503, "Routing state store unavailable; try again shortly.", "store_unavailable"), 503
            )
        return summarise_ledger(rows).as_dict()

    @api.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus metrics (breaker states read from the store at scrape time; ``unknown`` while
        the store is unreachable)."""
        if admission is not None:
            names = [d.deployment_id for tier in pipeline.tier_map for d in tier.deployments]
            try:
                await admission.breaker_states(names)
            except StoreUnavailableError:
                for name in names:
                    metrics.BREAKER_STATE.labels(name).set(metrics.BREAKER_CODES["unknown"])
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return api


def _error(status: int, message: str, kind: str) -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def create_app(pipeline: Pipeline) -> FastAPI:
    """A standalone app serving :func:`routes`."""
    app = FastAPI(title="litellm-router-plugin")
    app.include_router(routes(pipeline))
    return app
