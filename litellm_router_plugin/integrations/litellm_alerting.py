"""Soft-budget alerts into the proxy's own alerting (``general_settings.alerting``: Slack, webhook,
email), as LiteLLM sends its budget alerts: one ``soft_budget`` alert with the spend it measured."""

from __future__ import annotations

from litellm.types.integrations.slack_alerting import CallInfo, Litellm_EntityType

from litellm_router_plugin.guards.litellm_budgets import SoftBudgetCrossed

__all__ = ["to_litellm_alerting"]


async def to_litellm_alerting(alert: SoftBudgetCrossed) -> None:
    """Hand ``alert`` to the running proxy's ``proxy_logging_obj.budget_alerts`` (nothing when the
    proxy has no alerting configured: LiteLLM then does nothing)."""
    from litellm.proxy import proxy_server  # the running proxy's module state, read at alert time

    alerting = getattr(proxy_server, "proxy_logging_obj", None)
    if alerting is None:
        return
    info = CallInfo(
        spend=alert.spent_usd,
        soft_budget=alert.soft_budget_usd,
        token=alert.name if alert.kind == "key" else None,
        user_id=alert.name if alert.kind == "user" else None,
        team_id=alert.name if alert.kind == "team" else None,
        event_group=Litellm_EntityType(alert.kind),
    )
    await alerting.budget_alerts(type="soft_budget", user_info=info)
