"""docs/operations.md's commands name what the manifests define: namespaces,
objects, containers, label selectors, paths, ports and endpoints. A renamed
Deployment or container fails here instead of in the middle of an incident.
"""

from __future__ import annotations

import re
import shlex

import pytest

from conftest import REPO, RUNBOOK, default_listen_port, kustomize_targets, render

# kubectl's resource words → kinds.
KINDS = {
    "deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
    "statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
    "service": "Service", "services": "Service", "svc": "Service",
    "hpa": "HorizontalPodAutoscaler", "horizontalpodautoscaler": "HorizontalPodAutoscaler",
    "pdb": "PodDisruptionBudget", "poddisruptionbudget": "PodDisruptionBudget",
    "pvc": "PersistentVolumeClaim", "persistentvolumeclaim": "PersistentVolumeClaim",
    "configmap": "ConfigMap", "cm": "ConfigMap", "secret": "Secret",
    "namespace": "Namespace", "ns": "Namespace", "storageclass": "StorageClass",
    "prometheusrule": "PrometheusRule", "podmonitor": "PodMonitor",
}
VERBS_WITH_TYPE_AND_NAME = {"get", "describe", "delete", "edit", "patch", "scale", "annotate", "label"}
ENDPOINTS = ("/livez", "/readyz", "/startupz", "/healthz", "/metrics")
SUBCOMMANDS = {"serve", "check", "probe", "config", "wpconfig"}
# Operations the runbook must show (the article's, rewritten).
REQUIRED = {
    "rolling update": r"kubectl apply -k k8s/overlays/",
    "watching a rollout": r"rollout status deployment/wordpress",
    "rollback by undo": r"rollout undo deployment/wordpress",
    "rollback history": r"rollout history deployment/wordpress",
    "verbose endpoint": r"/livez\?verbose",
    "exec probe": r"-c wp-sentinel -- /wp-sentinel probe",
    "sidecar logs": r"logs \S+ -c wp-sentinel",
    "metrics": r"/metrics",
    "scaling by replicas": r"scale deployment/wordpress --replicas=",
    "scaling by the autoscaler": r"hpa wordpress",
}


def code_blocks() -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", RUNBOOK.read_text(), re.S | re.M)


def kubectl_commands() -> list[list[str]]:
    commands = []
    for block in code_blocks():
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split(" #", 1)[0]
            for part in re.split(r"\s*(?:\||;|&&)\s*", line):
                part = re.sub(r"^\w+=\$\((.*)\)$", r"\1", part.strip())
                if part.startswith("kubectl "):
                    try:
                        commands.append(shlex.split(part))
                    except ValueError:
                        pytest.fail(f"runbook: cannot parse {part!r}")
    return commands


def inventory() -> dict:
    objects, containers, labels = set(), set(), []
    for target in kustomize_targets():
        for doc in render(target).docs:
            objects.add((doc["kind"], doc["metadata"]["name"]))
            labels.append(doc["metadata"].get("labels", {}))
            template = doc.get("spec", {}).get("template", {})
            if template:
                labels.append(template.get("metadata", {}).get("labels", {}))
                spec = template.get("spec", {})
                containers |= {c["name"] for c in spec.get("initContainers", []) + spec.get("containers", [])}
    # Generated ConfigMaps are found by their name without the hash.
    objects |= {(k, re.sub(r"-[a-z0-9]{10}$", "", n)) for k, n in objects if k in ("ConfigMap", "Secret")}
    return {"objects": objects, "containers": containers, "labels": labels}


def option_values(args: list[str], *names: str) -> list[str]:
    values = []
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                values.append(args[i + 1])
            elif arg.startswith(name + "=") and name.startswith("--"):
                values.append(arg.split("=", 1)[1])
    return values


# Options of kubectl that take a separate value.
VALUED_OPTIONS = {"-n", "--namespace", "-c", "--container", "-l", "--selector", "-o", "--output", "-p",
                  "--patch", "--type", "--field-selector", "--sort-by", "--since", "--tail", "--timeout",
                  "-f", "--filename", "-k", "--kustomize", "--to-revision", "--replicas"}


def positionals(args: list[str]) -> tuple[str, list[str]]:
    """(verb, positional arguments after it) of a kubectl command line."""
    words, skip = [], False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg == "--":
            break
        elif arg in VALUED_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
    return (words[0] if words else ""), words[1:]


def test_runbook_has_kubectl_commands():
    assert len(kubectl_commands()) >= 20, "the runbook should show its operations as commands"


@pytest.mark.parametrize("operation", sorted(REQUIRED))
def test_runbook_covers(operation):
    text = "\n".join(code_blocks())
    assert re.search(REQUIRED[operation], text), f"runbook shows no command for {operation}"


def test_names_in_commands_exist_in_the_manifests():
    inv = inventory()
    namespaces = {name for kind, name in inv["objects"] if kind == "Namespace"}
    problems = []
    for args in kubectl_commands():
        command = " ".join(args)
        for ns in option_values(args, "-n", "--namespace"):
            if ns not in namespaces:
                problems.append(f"namespace {ns!r}: {command}")
        refs = []
        for arg in args:
            match = re.fullmatch(r"([a-z]+)(?:\.[a-z.]+)?/([A-Za-z0-9$\"{}._-]+)", arg)
            if match and match.group(1) in KINDS:
                refs.append((KINDS[match.group(1)], match.group(2)))
        verb, positional = positionals(args)
        if verb in VERBS_WITH_TYPE_AND_NAME and len(positional) >= 2 and positional[0] in KINDS:
            refs.append((KINDS[positional[0]], positional[1]))
        for kind, name in refs:
            if "$" in name or '"' in name:
                continue
            if (kind, name) not in inv["objects"]:
                problems.append(f"{kind} {name!r} not in any manifest: {command}")
        for c in option_values(args, "-c", "--container"):
            if c not in inv["containers"]:
                problems.append(f"container {c!r}: {command}")
        for selector in option_values(args, "-l", "--selector"):
            wanted = dict(pair.split("=", 1) for pair in selector.split(","))
            if not any(wanted.items() <= labels.items() for labels in inv["labels"]):
                problems.append(f"selector {selector!r} matches nothing: {command}")
        for path in option_values(args, "-k", "-f", "--kustomize", "--filename"):
            if path != "-" and not (REPO / path).exists():
                problems.append(f"path {path!r} does not exist: {command}")
        if verb == "kustomize" and len(args) > 2 and not (REPO / args[2]).exists():
            problems.append(f"path {args[2]!r} does not exist: {command}")
    assert not problems, "runbook commands that do not match the manifests:\n" + "\n".join(problems)


def test_ports_endpoints_and_subcommands():
    port = default_listen_port()
    text = "\n".join(code_blocks())
    forwarded = {port: port}
    for args in kubectl_commands():
        if len(args) > 1 and "port-forward" in args:
            for mapping in [a for a in args if re.fullmatch(r"\d+:\d+", a)]:
                local, remote = map(int, mapping.split(":"))
                assert remote in (port, 80), f"port-forward to {remote}: neither the sidecar's {port} nor WordPress's 80"
                forwarded[local] = remote
    for local, path in re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/[^\s'\"]*)", text):
        local = int(local)
        assert local in forwarded, f"URL on port {local}, which nothing forwards: {path}"
        if forwarded[local] == port:
            assert path.split("?")[0].startswith(ENDPOINTS), f"{path}: not a wp-sentinel endpoint"
    for sub in re.findall(r"/wp-sentinel (\w+)", text):
        assert sub in SUBCOMMANDS, f"wp-sentinel has no subcommand {sub!r}"
