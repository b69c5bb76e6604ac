"""``Tier`` and ``TierMap``: the configured tiers with every deployment's price resolved once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litellm_router_plugin.classify.base import Category
from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.pricing import Price, price_for
from litellm_router_plugin.routing.capabilities import Capabilities


@dataclass(frozen=True, slots=True)
class TierDeployment:
    """One deployment of a tier, with its price."""

    tier: str
    model: str
    litellm_params: dict[str, Any]
    price: Price
    deployment_id: str
    """``model_info.id`` of this deployment in the Router's model list."""
    capabilities: Capabilities = field(default_factory=Capabilities)
    model_info: dict[str, Any] = field(default_factory=dict)
    group: str | None = None
    """For a tier's model group (``tiers[].model_groups``): the Router group LiteLLM picks a deployment
    of; ``model``, ``litellm_params`` and ``price`` are then those of its priciest deployment."""

    def router_entry(self) -> dict[str, Any]:
        """This deployment as a ``litellm.Router`` ``model_list`` entry (model group = tier name)."""
        return {
            "model_name": self.tier,
            "litellm_params": {"model": self.model, **self.litellm_params},
            "model_info": {**self.model_info, "id": self.deployment_id},
        }


@dataclass(frozen=True, slots=True)
class Tier:
    """A named tier and its deployments; ``rank`` 0 is the cheapest tier."""

    name: str
    rank: int
    deployments: tuple[TierDeployment, ...]


@dataclass(frozen=True)
class TierMap:
    """The tiers in order, cheapest to strongest, and which tier serves which category."""

    tiers: tuple[Tier, ...]
    category_tier: dict[Category, str]
    _by_name: dict[str, Tier] = field(init=False, repr=False)
    _by_id: dict[str, TierDeployment] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {t.name: t for t in self.tiers})
        object.__setattr__(self, "_by_id", {d.deployment_id: d for t in self.tiers for d in t.deployments})

    @classmethod
    def from_config(cls, config: PluginConfig, groups: GroupEntries | None = None) -> TierMap:
        """Resolve every deployment's price; raises ``UnknownModelError`` for a model with none.

        ``groups``: the Router's model list by group, for the tiers' ``model_groups`` (``None``: no
        Router yet, so those tiers hold only their own ``deployments`` until one is bound)."""
        custom = {model: price.model_dump() for model, price in config.custom_prices.items()}
        if groups is not None:
            check_groups(config, groups)
        tiers = []
        for rank, tier in enumerate(config.tiers):
            deployments = tuple(
                TierDeployment(
                    tier=tier.name,
                    model=dep.model,
                    litellm_params=dict(dep.litellm_params),
                    price=price_for(dep.model, dep.litellm_params, custom, f"tiers[{rank}].deployments[{i}].model"),
                    deployment_id=f"{tier.name}/{i}/{dep.model}",
                    capabilities=Capabilities.of(dep.model, dep.model_info),
                    model_info=dict(dep.model_info),
                )
                for i, dep in enumerate(tier.deployments)
            )
            if groups is not None:
                deployments += tuple(group_deployment(tier.name, g, groups[g], custom) for g in tier.model_groups)
            tiers.append(Tier(tier.name, rank, deployments))
        return cls(tuple(tiers), config.tier_for_category())

    def __iter__(self) -> Iterator[Tier]:
        return iter(self.tiers)

    def __getitem__(self, name: str) -> Tier:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        """Tier names, cheapest first."""
        return [t.name for t in self.tiers]

    @property
    def strongest(self) -> Tier:
        """The last (strongest) tier."""
        return self.tiers[-1]

    def for_category(self, category: Category) -> Tier:
        """The tier that serves ``category``."""
        return self._by_name[self.category_tier[category]]

    def deployment(self, deployment_id: str) -> TierDeployment | None:
        """The tier deployment with this Router ``model_info.id``, if it is one of ours."""
        return self._by_id.get(deployment_id)

    def strongest_estimate(self, prompt_tokens: int, completion_tokens: int) -> float:
        """What a call would cost on the strongest tier's cheapest deployment (the savings baseline)."""
        # default: a tier made only of model groups is empty until the Router's groups are bound
        return min(
            (d.price.estimate(prompt_tokens, completion_tokens) for d in self.strongest.deployments), default=0.0
        )

    def model_list(self) -> list[dict[str, Any]]:
        """Every deployment the plugin defines as ``litellm.Router`` ``model_list`` entries (not the
        model groups it names: those are the Router's own)."""
        return [d.router_entry() for t in self.tiers for d in t.deployments if d.group is None]


GroupEntries = Mapping[str, Sequence[Mapping[str, Any]]]
"""A Router's ``model_list`` entries by model group (``model_name``)."""


def check_groups(config: PluginConfig, groups: GroupEntries) -> None:
    """A ``ConfigError`` naming the tiers' model groups the Router lacks, and the groups it has."""
    unknown = [g for tier in config.tiers for g in tier.model_groups if g not in groups or not groups[g]]
    if unknown:
        raise ConfigError(
            "tiers[].model_groups",
            unknown,
            f"The Router has no model group named {', '.join(unknown)}; its model groups: "
            f"{', '.join(sorted(groups)) or '(none)'}. Name a `model_name` of the Router's model_list.",
        )


def group_id(tier: str, group: str) -> str:
    """The ``deployment_id`` of a tier's model group (its breaker, ledger rows and decisions name it)."""
    return f"{tier}/group/{group}"


def group_deployment(
    tier: str, group: str, entries: Sequence[Mapping[str, Any]], custom: Mapping[str, Mapping[str, Any]]
) -> TierDeployment:
    """A tier's model group as one tier deployment, priced from LiteLLM at its priciest deployment (so
    an estimate stays an upper bound whichever deployment LiteLLM picks), able to do what all can."""
    priced = []
    for entry in entries:
        params = dict(entry.get("litellm_params") or {})
        model = str(params.pop("model", group))
        price = price_for(model, params, custom, f"model_list[{group}].litellm_params.model")
        priced.append((price, model, params, Capabilities.of(model, entry.get("model_info"))))
    price, model, params, _ = max(priced, key=lambda p: p[0].estimate(1000, 1000))
    return TierDeployment(
        tier=tier,
        model=model,
        litellm_params=params,
        price=price,
        deployment_id=group_id(tier, group),
        capabilities=Capabilities.common(p[3] for p in priced),
        group=group,
    )
