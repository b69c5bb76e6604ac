"""The Grafana dashboard in examples/grafana/ queries only metrics (and labels) the plugin exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from litellm_router_plugin import metrics

DASHBOARD = Path(__file__).resolve().parent.parent / "examples" / "grafana" / "router-dashboard.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported() -> dict[str, set[str]]:
    """Every sample name the plugin can export, with the label names its series carry."""
    found: dict[str, set[str]] = {}
    wrappers = [m for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)]
    for metric in [*wrappers, *metrics.REMAINING.values()]:
        name, kind = metric._name, metric._type
        for suffix in SUFFIXES[kind]:
            labels = set(metric._labelnames) | ({"le"} if suffix == "_bucket" else set())
            found[name.removesuffix("_total") + suffix if kind == "counter" else name + suffix] = labels
    return found


def queries() -> list[tuple[str, str]]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p["targets"]]


def test_every_query_names_a_metric_the_plugin_exports() -> None:
    names = exported()
    assert "lrp_routing_decisions_total" in names  # the table itself is right
    assert "lrp_admit_latency_seconds_bucket" in names
    found = queries()
    assert len(found) >= 10
    for title, expr in found:
        used = set(re.findall(r"\blrp_[a-z_]+\b", expr))
        assert used, f"{title}: {expr} names no plugin metric"
        unknown = used - set(names)
        assert not unknown, f"{title}: {sorted(unknown)} are not exported (exported: {sorted(names)})"
        labels = set().union(*(names[n] for n in used))
        for group in re.findall(r"\bby \(([^)]*)\)", expr):
            for label in (part.strip() for part in group.split(",")):
                assert label in labels, f"{title}: label {label!r} is not on {sorted(used)}"
        for label in re.findall(r"\{([a-z_]+)=", expr):
            assert label in labels, f"{title}: label {label!r} is not on {sorted(used)}"


def test_the_dashboard_covers_what_an_operator_watches() -> None:
    titles = " | ".join(title for title, _ in queries()).lower()
    for topic in ("spend rate", "savings", "routing mix", "budget headroom", "breakers", "latency"):
        assert topic in titles


def test_the_exported_names_are_what_a_scrape_shows() -> None:
    # The table above is built from the metric objects; a scrape must carry the same names.
    metrics.child(metrics.ROUTING, "cheap", "simple").inc(0)
    metrics.ADMIT_LATENCY.observe(0.001)
    text = metrics.render().decode()
    assert "lrp_routing_decisions_total{" in text
    assert "lrp_admit_latency_seconds_bucket{" in text
