"""The real proxy with a tier naming the proxy's own ``model_list`` groups (``tiers[].model_groups``):
the deployments are defined once, in the proxy's config; the cheaper group serves, and within it
LiteLLM's ``weight`` decides (a weight-0 deployment is never called)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import yaml

from tests.proxy_harness import Harness, wait_http

MASTER = "sk-master-groups"


def _entry(group: str, upstream: str, model: str, price_out: float, weight: float) -> dict[str, Any]:
    return {
        "model_name": group,
        "litellm_params": {
            "model": f"openai/{model}",
            "api_base": f"{upstream}/v1",
            "api_key": "fake",
            "input_cost_per_token": 0.0,
            "output_cost_per_token": price_out,
            "weight": weight,
        },
        "model_info": {"id": model},
    }


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    root = tmp_path_factory.mktemp("groups")
    harness = Harness(root)
    try:
        upstream = harness.upstream()
        config = {
            "model_list": [
                {
                    "model_name": "auto",
                    "litellm_params": {"model": "openai/router-plugin-placeholder", "api_key": "unused"},
                    "model_info": {"id": "router-plugin-placeholder"},
                },
                _entry("dear-group", upstream, "groups-dear", 1e-4, 1),
                _entry("cheap-group", upstream, "groups-a", 1e-6, 1),
                _entry("cheap-group", upstream, "groups-b", 1e-6, 0),
            ],
            "litellm_settings": {"callbacks": ["litellm_router_plugin.integrations.proxy_entry.plugin"]},
            "general_settings": {"master_key": MASTER},
        }
        (root / "config.yaml").write_text(yaml.safe_dump(config))
        plugin = {"tiers": [{"name": "only", "model_groups": ["dear-group", "cheap-group"]}]}
        url, proc = harness.start_proxy("groups", plugin, root / "config.yaml")
        unknown = {"tiers": [{"name": "only", "model_groups": ["cheap-group", "no-such-group"]}]}
        bad_url, bad_proc = harness.start_proxy("groups-unknown", unknown, root / "config.yaml")
        wait_http(f"{url}/health/liveliness", proc, 240)
        wait_http(f"{bad_url}/health/liveliness", bad_proc, 240)
        yield url, upstream, bad_url
    except Exception:
        print(harness.tail_logs())
        raise
    finally:
        harness.close()


def test_a_tier_over_the_proxys_groups_calls_the_cheaper_group_by_litellms_weights(proxy: tuple[str, str, str]) -> None:
    url, upstream, _ = proxy
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=MASTER, max_retries=0, timeout=60)
    for _ in range(6):
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": "Hi!"}], max_tokens=10
        )
        assert raw.headers.get("x-router-tier") == "only"
    hits = httpx.get(f"{upstream}/hits", timeout=5).json()
    assert hits.get("groups-a") == 6, hits  # the cheaper group; LiteLLM's weight 0 never picks groups-b
    assert "groups-b" not in hits, hits
    assert "groups-dear" not in hits, hits


def test_an_unknown_group_is_refused_at_install_naming_it_and_the_proxys_groups(proxy: tuple[str, str, str]) -> None:
    _, _, bad_url = proxy
    client = openai.OpenAI(base_url=f"{bad_url}/v1", api_key=MASTER, max_retries=0, timeout=60)
    with pytest.raises(openai.APIStatusError) as caught:  # the proxy's Router exists from the first request
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "Hi!"}], max_tokens=10)
    message = str(caught.value)
    assert caught.value.status_code == 400
    assert "no-such-group" in message
    assert "cheap-group, dear-group" in message
