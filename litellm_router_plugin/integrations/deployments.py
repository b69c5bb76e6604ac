"""The Router model-list entries the plugin adds, and the one function that adds them.

Every edit of a Router's ``model_list`` goes through :func:`install` (``build_router`` passes the
entries to the Router's constructor instead): the tier deployments, and the alias' cascade deployment
when cascades can be asked for. The placeholder entries are never called: see :func:`alias_placeholder`
and ``integrations.cascade``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

PLACEHOLDER_PREFIX = "router-plugin-placeholder"
GROUP_PICK_KEY = "router_group_pick"
"""Metadata key: the deployment LiteLLM picked within a tier's model group (settlement accepts it)."""
CASCADE_PROVIDER = "router-cascade"
"""The provider prefix of the cascade deployment: ``router-cascade/<pipeline id>``."""


class Routable(Protocol):
    """What the entries are built from (``Pipeline`` has it)."""

    @property
    def alias(self) -> str: ...

    id: str


def alias_placeholder(alias: str) -> dict[str, Any]:
    """A model group named like the alias. The strategy never sends traffic to it; it exists because
    LiteLLM's Router retries a failed call only when the requested group has a healthy deployment,
    and finds a known group without a wildcard search."""
    return {
        "model_name": alias,
        "litellm_params": {"model": f"openai/{PLACEHOLDER_PREFIX}", "api_key": "unused"},
        "model_info": {"id": f"{PLACEHOLDER_PREFIX}-{alias}"},
    }


def cascade_group(alias: str) -> str:
    """The model group of the alias' cascade deployment."""
    return f"{PLACEHOLDER_PREFIX}-cascade-{alias}"


def cascade_entry(pipeline: Routable) -> dict[str, Any]:
    """The Router ``model_list`` entry that runs ``pipeline``'s cascade."""
    group = cascade_group(pipeline.alias)
    return {
        "model_name": group,
        "litellm_params": {"model": f"{CASCADE_PROVIDER}/{pipeline.id}"},
        "model_info": {"id": group},
    }


def add_missing(router: Any, entries: list[dict[str, Any]], before: Callable[[], None] | None = None) -> bool:
    """Append to ``router``'s model list the ``entries`` whose id it lacks (one ``set_model_list``);
    ``before`` runs first (a provider to register). Whether anything was added."""
    if before is not None:
        before()
    present = {d["model_info"]["id"] for d in router.model_list}
    missing = [e for e in entries if e["model_info"]["id"] not in present]
    if missing:
        router.set_model_list(list(router.model_list) + missing)
    return bool(missing)


def router_groups(model_list: list[dict[str, Any]], ours: Callable[[str], object]) -> dict[str, list[dict[str, Any]]]:
    """The Router's own model groups: its ``model_list`` by ``model_name``, without the entries the
    plugin added (placeholders, cascade, tier deployments: ``ours(id)`` is not ``None``)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in model_list:
        deployment_id = str((entry.get("model_info") or {}).get("id", ""))
        if deployment_id.startswith(PLACEHOLDER_PREFIX) or ours(deployment_id) is not None:
            continue
        groups.setdefault(str(entry.get("model_name")), []).append(entry)
    return groups
