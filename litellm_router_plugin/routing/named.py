"""Deployments the caller names directly (a Router model other than the alias or a tier).

They are not routed but still governed, so each needs a price: LiteLLM's, resolved once per
deployment (a tier deployment called by its own name keeps its tier price and breaker).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.pricing import Price, price_for
from litellm_router_plugin.routing.tiers import TierDeployment, TierMap

logger = logging.getLogger(__name__)

NO_TIER = "none"
"""The tier of a deployment called by name rather than routed."""


class NamedDeployments:
    """Router ``model_list`` entries as priced deployments, cached by ``model_info.id``."""

    def __init__(self, tier_map: TierMap) -> None:
        self.tier_map = tier_map
        self._known: dict[str, TierDeployment] = {}

    def resolve(self, entry: Mapping[str, Any]) -> TierDeployment:
        """The deployment behind a Router entry, with its LiteLLM price (``$0`` and a warning if none)."""
        info = entry.get("model_info") or {}
        deployment_id = str(info.get("id") or entry.get("model_name"))
        known = self._known.get(deployment_id)
        if known is None:
            known = self._known[deployment_id] = self._priced(deployment_id, entry)
        return known

    def _priced(self, deployment_id: str, entry: Mapping[str, Any]) -> TierDeployment:
        ours = self.tier_map.deployment(deployment_id)
        if ours is not None:
            return dataclasses.replace(ours, tier=NO_TIER)
        params = dict(entry.get("litellm_params") or {})
        model = str(params.pop("model", entry.get("model_name")))
        try:
            price = price_for(model, params, field=f"model_list[{entry.get('model_name')}]")
        except ConfigError as exc:
            logger.warning("%s has no usable price (%s); its calls are admitted at $0", model, exc.fix)
            price = Price(0.0, 0.0, "deployment")
        return TierDeployment(NO_TIER, model, params, price, deployment_id)
