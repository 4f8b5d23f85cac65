"""The NetworkPolicy of the WordPress pod: it selects every
WordPress pod, keeps port 80 open to visitors, and admits the sidecar's port
only from the monitoring namespace (the kubelet, on the pod's own node, is not
filtered by NetworkPolicy: docs/operations.md)."""

from __future__ import annotations

import pytest

from conftest import SIDECAR, WORDPRESS, container, pod_spec, render, workload_targets


def policy(rendered):
    return rendered.get("NetworkPolicy", WORDPRESS)


def port_names(spec: dict, name: str) -> dict:
    """containerPort by port name, for one container."""
    return {p["name"]: p["containerPort"] for p in container(spec, name).get("ports", [])}


@pytest.mark.parametrize("target", workload_targets())
def test_policy_selects_the_wordpress_pods(target):
    rendered = render(target)
    selector = policy(rendered)["spec"]["podSelector"]["matchLabels"]
    labels = rendered.get("Deployment", WORDPRESS)["spec"]["template"]["metadata"]["labels"]
    missing = {k: v for k, v in selector.items() if labels.get(k) != v}
    assert selector and not missing, f"{target}: the policy does not select the pods: {missing}"
    assert policy(rendered)["spec"]["policyTypes"] == ["Ingress"], f"{target}: ingress only"


@pytest.mark.parametrize("target", workload_targets())
def test_sidecar_port_only_from_the_monitoring_namespace(target):
    rendered = render(target)
    spec = pod_spec(rendered.get("Deployment", WORDPRESS))
    sidecar_ports = port_names(spec, SIDECAR)
    assert "sentinel" in sidecar_ports, f"{target}: the sidecar's port is named sentinel"
    for rule in policy(rendered)["spec"]["ingress"]:
        ports = {p["port"] for p in rule.get("ports", [])}
        if "sentinel" in ports or sidecar_ports["sentinel"] in ports:
            peers = rule.get("from", [])
            assert peers, f"{target}: the sidecar's port must not be open to everyone"
            for peer in peers:
                names = peer.get("namespaceSelector", {}).get("matchLabels", {})
                assert names == {"kubernetes.io/metadata.name": "monitoring"}, (
                    f"{target}: the sidecar's port admits {peer}"
                )
                assert "podSelector" not in peer and "ipBlock" not in peer, f"{target}: {peer}"
        else:
            assert ports, f"{target}: a rule without ports would open the sidecar's port: {rule}"


@pytest.mark.parametrize("target", workload_targets())
def test_wordpress_port_stays_open_to_visitors(target):
    rendered = render(target)
    open_rules = [
        rule
        for rule in policy(rendered)["spec"]["ingress"]
        if not rule.get("from") and {p["port"] for p in rule.get("ports", [])} & {"http", 80}
    ]
    assert open_rules, f"{target}: port 80 must stay reachable from anywhere"
