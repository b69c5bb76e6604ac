"""``/router/dashboard``: the operator's page, and ``/router/dashboard/data``, the JSON it draws.

The page (HTML, our script, and uPlot vendored under ``static/``: nothing is fetched from a CDN)
carries no data, so browsers can load it without a header; the data endpoint is the one to guard
(the proxy mounts it behind its admin auth). The data: ledger stats over a range of days (spend and
savings against all-strongest, by tier, model and day), budget use per scope, breaker states, the
most recent decisions (tier, model, reason, cost; the ledger holds no prompt text) and the learning
loop's status when one is attached (or what a ``learning_status`` provider returns).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from litellm_router_plugin.errors import ConfigError, StoreUnavailableError
from litellm_router_plugin.guards.budget_use import budget_use
from litellm_router_plugin.integrations.http_errors import refusal
from litellm_router_plugin.pipeline.pipeline import Pipeline
from litellm_router_plugin.state.base import MICROS_PER_USD, Store
from litellm_router_plugin.state.stats import store_stats

STATIC = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
}
RECENT_DECISIONS = 50
DEFAULT_DAYS = 30
LearningStatus = Callable[[], Awaitable[dict[str, Any] | None]]


def _static(name: str) -> bytes:
    return (resources.files("litellm_router_plugin.integrations") / "static" / name).read_bytes()


def page_routes() -> APIRouter:
    """The page and its static files (no data: safe without authentication)."""
    api = APIRouter()

    @api.get("/dashboard", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse(_static("dashboard.html"))

    @api.get("/dashboard/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC:
            return Response(status_code=404)
        return Response(_static(name), media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})

    return api


def decision_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ledger lines as the page lists them: no prompt text, no key."""
    return [
        {
            "ts": row.get("ts"),
            "tier": row.get("tier"),
            "model": row.get("model"),
            "reason": row.get("reason"),
            "status": row.get("status", "ok"),
            "cost_usd": round(int(row.get("cost_micros", 0)) / MICROS_PER_USD, 6),
            "strongest_usd": round(int(row.get("strongest_micros", 0) or 0) / MICROS_PER_USD, 6),
        }
        for row in rows
    ]


def data_routes(pipeline: Pipeline, store: Store, learning_status: LearningStatus | None = None) -> APIRouter:
    """``/dashboard/data``: everything the page shows, in one JSON document."""
    api = APIRouter()
    admission = pipeline.admission
    unavailable = store.durable.unavailable_errors if store.durable is not None else ()

    @api.get("/dashboard/data", response_model=None)
    async def data(request: Request) -> dict[str, Any] | JSONResponse:
        """Query: ``since`` / ``until`` (YYYY-MM-DD; default the last 30 days)."""
        query = request.query_params
        clock = admission.guard if admission is not None else None
        until = query.get("until") or None
        since = query.get("since") or None
        if since is None and until is None and clock is not None:
            today = clock.window().removeprefix("day:")
            since = (date.fromisoformat(today) - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        try:
            stats = (await store_stats(store, since, until)).as_dict()
            out: dict[str, Any] = {
                "stats": stats,
                "decisions": decision_rows(await store.ledger(RECENT_DECISIONS)),
                "budgets": await budget_use(admission) if admission is not None else [],
                "breakers": await _breakers(pipeline),
                "learning": await (learning_status or (lambda: learning_of(pipeline)))(),
            }
        except ConfigError as exc:
            return refusal(exc)
        except (StoreUnavailableError, *unavailable) as exc:
            return refusal(exc if isinstance(exc, StoreUnavailableError) else StoreUnavailableError(store.name, exc))
        return out

    return api


async def learning_of(pipeline: Pipeline) -> dict[str, Any] | None:
    """The learning loop's status when one is attached (``online.learner.Learner``), else ``None``:
    settings, adopted model version, its counters, the last comparison, the stored versions."""
    learner: Any = pipeline.learner
    if learner is None:
        return None
    last = getattr(learner, "last", None)
    out: dict[str, Any] = {
        "enabled": learner.config.enabled,
        "shadow_share": learner.config.shadow.share,
        "adopted": learner.adopted,
        "counts": dict(learner.stats),
        "last_comparison": last.as_dict() if last is not None else None,
    }
    try:
        out["versions"] = (await learner.registry.listing())[:10]
    except StoreUnavailableError:
        out["versions"] = None
    return out


async def _breakers(pipeline: Pipeline) -> list[dict[str, Any]]:
    admission = pipeline.admission
    if admission is None:
        return []
    out = []
    for tier in pipeline.tier_map:
        for deployment in tier.deployments:
            states = await admission.breaker_states([deployment.deployment_id])
            state = states.get(deployment.deployment_id)
            if state is not None:
                out.append({"deployment": deployment.deployment_id, "tier": tier.name, "state": state})
    return out
