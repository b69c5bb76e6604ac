"""``/route``, ``/stats`` and ``/metrics``: a small FastAPI app (``litellm-router serve``), also
mountable on the LiteLLM proxy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Response
from pydantic import BaseModel

from litellm_router_plugin import metrics
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.guards.admission import Admission, store_from_config
from litellm_router_plugin.guards.costs import summarise_ledger
from litellm_router_plugin.routing.planner import Planner


class RouteRequest(BaseModel):
    """A request to plan: OpenAI-style ``messages``, or a bare ``prompt``."""

    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    max_tokens: int | None = None
    metadata: dict[str, Any] | None = None


def routes(planner: Planner, admission: Admission | None) -> APIRouter:
    """The endpoints, for ``serve`` and for mounting on the proxy."""
    api = APIRouter()
    store = admission.store if admission is not None else store_from_config(planner.config)

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
            decision = await planner.plan(messages, request)
        except ConfigError as exc:
            raise HTTPException(400, detail=str(exc)) from None
        return decision.model_dump(mode="json")

    @api.get("/stats")
    async def stats(limit: int | None = None) -> dict[str, Any]:
        """Spend by tier, model, user and day from the shared ledger; savings against all-strongest."""
        return summarise_ledger(await store.ledger(limit)).as_dict()

    @api.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus metrics (breaker states read from the store at scrape time)."""
        if admission is not None:
            await admission.breaker_states()
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return api


def create_app(planner: Planner, admission: Admission | None = None) -> FastAPI:
    """A standalone app serving :func:`routes`."""
    app = FastAPI(title="litellm-router-plugin")
    app.include_router(routes(planner, admission))
    return app
