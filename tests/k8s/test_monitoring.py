"""The PrometheusRule and the Grafana dashboard speak the binary's metric names,
cover the alerts the design promises, and point at runbook sections that exist.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import K8S, METRICS, RUNBOOK, render

# Alerts the design promises, by what they must watch.
REQUIRED_ALERTS = {
    "drift detected": "wp_sentinel_drift",
    "restart-loop breaker tripped": "wp_sentinel_breaker_tripped",
    "database unreachable for long": 'wp_sentinel_check_up{check="mysql"}',
    "sidecar stale": "wp_sentinel_check_last_run_timestamp_seconds",
}
DASHBOARD = K8S / "monitoring" / "dashboards" / "wp-sentinel.json"
# PromQL words that look like metric names but are not.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "irate", "increase",
    "histogram_quantile", "time", "absent", "and", "or", "unless", "on", "ignoring",
    "group_left", "group_right", "offset", "bool", "le", "up", "humanizeDuration",
    "label_values", "topk", "bottomk", "clamp_min", "clamp_max", "delta", "changes",
}


def metric_names(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that are metric names of ours."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "[]", without_labels)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges))
    return {w for w in words if w.startswith("wp_sentinel_")}


def known(name: str) -> bool:
    if name in METRICS:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and METRICS.get(base) == "histogram":
            return True
    return False


def balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    pairs = {")": "(", "}": "{", "]": "["}
    for ch in re.sub(r'"[^"]*"', "", expr):
        if ch in depth:
            depth[ch] += 1
        elif ch in pairs:
            depth[pairs[ch]] -= 1
            if depth[pairs[ch]] < 0:
                return False
    return all(v == 0 for v in depth.values())


def alert_rules() -> list[dict]:
    rule = render("monitoring").get("PrometheusRule", "wp-sentinel")
    return [r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = []

    def walk(panels):
        for panel in panels:
            exprs.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    return exprs


def github_anchor(heading: str) -> str:
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def runbook_anchors() -> set[str]:
    return {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", RUNBOOK.read_text(), re.M)}


def test_alerts_use_only_known_metrics():
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        scrape_alert = re.match(r"\s*up\{", rule["expr"]) is not None
        assert names or scrape_alert, f"{rule['alert']}: no wp_sentinel_ metric in {rule['expr']!r}"
        unknown = {n for n in names if not known(n)}
        assert not unknown, f"{rule['alert']}: unknown metrics {unknown}"
        assert balanced(rule["expr"]), f"{rule['alert']}: unbalanced brackets in {rule['expr']!r}"


@pytest.mark.parametrize("what", sorted(REQUIRED_ALERTS))
def test_required_alert_exists(what):
    needle = REQUIRED_ALERTS[what]
    matching = [r["alert"] for r in alert_rules() if needle in r["expr"]]
    assert matching, f"no alert for {what} (an expression using {needle})"


def test_alerts_are_actionable():
    anchors = runbook_anchors()
    names = [r["alert"] for r in alert_rules()]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in alert_rules():
        assert rule.get("labels", {}).get("severity") in ("critical", "warning", "info"), rule["alert"]
        annotations = rule.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), rule["alert"]
        runbook = annotations.get("runbook", "")
        assert runbook.startswith("docs/operations.md#"), f"{rule['alert']}: runbook annotation"
        assert runbook.split("#", 1)[1] in anchors, f"{rule['alert']}: no section #{runbook.split('#', 1)[1]}"


def test_counters_are_only_read_through_rate_or_increase():
    exprs = [r["expr"] for r in alert_rules()] + dashboard_exprs()
    for expr in exprs:
        for name in metric_names(expr):
            if name.endswith(("_total", "_bucket", "_sum", "_count")):
                assert re.search(rf"(rate|increase)\(\s*{name}\b", expr), f"raw counter {name} in {expr!r}"


def test_dashboard_uses_known_metrics_and_covers_them():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard.get("uid") and dashboard.get("title") and dashboard.get("schemaVersion")
    used = set()
    for expr in dashboard_exprs():
        names = metric_names(expr)
        unknown = {n for n in names if not known(n)}
        assert not unknown, f"dashboard: unknown metrics {unknown} in {expr!r}"
        assert balanced(expr), f"dashboard: unbalanced brackets in {expr!r}"
        used |= {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}
    missing = set(METRICS) - used
    assert not missing, f"dashboard shows nothing of {sorted(missing)}"
    ids = []

    def walk(panels):
        for panel in panels:
            ids.append(panel["id"])
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    assert len(ids) == len(set(ids)), "duplicate panel ids"


def test_dashboard_ships_as_a_configmap():
    cm = render("monitoring").get("ConfigMap", "wp-sentinel-grafana-dashboard")
    assert cm["metadata"]["labels"].get("grafana_dashboard") == "1"
    assert json.loads(cm["data"]["wp-sentinel.json"]) == json.loads(DASHBOARD.read_text())


def test_podmonitor_scrapes_the_sidecar_port():
    monitor = render("monitoring").get("PodMonitor", "wp-sentinel")
    deploy = render("base").get("Deployment", "wordpress")
    template_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= template_labels.items()
    sidecar = next(c for c in deploy["spec"]["template"]["spec"]["initContainers"] if c["name"] == "wp-sentinel")
    port_names = {p.get("name") for p in sidecar["ports"]}
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        assert endpoint["port"] in port_names and endpoint["path"] == "/metrics"
