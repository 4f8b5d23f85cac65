"""Shared fixtures for the offline checks of k8s/, the Dockerfile and the runbook.

Everything is derived from the files in the repository: the kustomizations are
rendered with `kubectl kustomize` once per session; the sidecar's default port,
the keys it accepts and the metrics it exports come from the binary itself,
`wp-sentinel config --contract` (see `contract()`), and so do the sidecar's
check timings (see CHECK_INTERVAL). Run through scripts/validate-k8s.sh, which
installs what these tests need, or directly with `python3 -m pytest tests/k8s`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
DOCKERFILE = REPO / "Dockerfile"
RUNBOOK = REPO / "docs" / "operations.md"

# Kubernetes versions whose OpenAPI schemas the manifests must satisfy.
SCHEMA_VERSIONS = ["1.30.0", "1.33.0"]

# Names the manifests and the runbook share.
SIDECAR = "wp-sentinel"
WORDPRESS = "wordpress"

# Endpoint each WordPress probe must use, and the sidecar's own.
WORDPRESS_PROBE_PATHS = {
    "livenessProbe": "/livez",
    "readinessProbe": "/readyz",
    "startupProbe": "/startupz",
}
SIDECAR_PROBE_PATH = "/healthz"

_contract: dict | None = None


def contract() -> dict:
    """`wp-sentinel config --contract`: the JSON file scripts/validate-k8s.sh wrote
    (WP_SENTINEL_CONTRACT), else the output of `cargo run`. Read once."""
    global _contract
    if _contract is None:
        path = os.environ.get("WP_SENTINEL_CONTRACT")
        if path:
            text = Path(path).read_text()
        else:
            proc = subprocess.run(
                ["cargo", "run", "--quiet", "--locked", "--", "config", "--contract"],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"wp-sentinel config --contract failed:\n{proc.stderr.strip()}")
            text = proc.stdout
        _contract = json.loads(text)
    return _contract


# The metric names the binary exports, and their types (the contract's).
METRICS = {metric["name"]: metric["type"] for metric in contract()["metrics"]}


def kustomize_targets() -> list[str]:
    """Every directory that kubectl kustomize can render on its own."""
    targets = ["base"]
    overlays = K8S / "overlays"
    if overlays.is_dir():
        targets += sorted(
            f"overlays/{d.name}" for d in overlays.iterdir() if (d / "kustomization.yaml").is_file()
        )
    if (K8S / "monitoring" / "kustomization.yaml").is_file():
        targets.append("monitoring")
    return targets


def workload_targets() -> list[str]:
    """The targets that contain the WordPress Deployment."""
    return [t for t in kustomize_targets() if t != "monitoring"]


def kubectl() -> str:
    path = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not path:
        pytest.fail("kubectl not found: run scripts/validate-k8s.sh, which installs it, or set KUBECTL")
    return path


@dataclass
class Rendered:
    target: str
    docs: list[dict]

    def of_kind(self, kind: str) -> list[dict]:
        return [d for d in self.docs if d.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict:
        for doc in self.of_kind(kind):
            if doc["metadata"]["name"] == name:
                return doc
        pytest.fail(f"{self.target}: no {kind} named {name!r}")

    def generated(self, kind: str, name: str) -> dict:
        """A ConfigMap or Secret whose name kustomize suffixed with a hash."""
        pattern = re.compile(rf"^{re.escape(name)}(-[a-z0-9]{{10}})?$")
        found = [d for d in self.of_kind(kind) if pattern.match(d["metadata"]["name"])]
        if len(found) != 1:
            pytest.fail(f"{self.target}: expected one {kind} generated as {name!r}, found {len(found)}")
        return found[0]

    def names(self, kind: str) -> set[str]:
        return {d["metadata"]["name"] for d in self.of_kind(kind)}


_cache: dict[str, Rendered | str] = {}


def render(target: str) -> Rendered:
    """Renders k8s/<target> once per session; fails the calling test on error."""
    if target not in _cache:
        proc = subprocess.run(
            [kubectl(), "kustomize", str(K8S / target)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            _cache[target] = f"kubectl kustomize k8s/{target} failed:\n{proc.stderr.strip()}"
        else:
            docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
            _cache[target] = Rendered(target, docs) if docs else f"k8s/{target} rendered nothing"
    result = _cache[target]
    if isinstance(result, str):
        pytest.fail(result)
    return result


@pytest.fixture(params=workload_targets())
def workload(request) -> Rendered:
    return render(request.param)


def contract_defaults() -> dict[str, object]:
    """Each configuration key ("section.key", or "key" at the top level) and its default."""
    return {key["key"]: key["default"] for key in contract()["keys"]}


def default_listen_port() -> int:
    """The port of the binary's default `listen` address."""
    listen = contract_defaults().get("listen")
    match = re.fullmatch(r"(.*):(\d+)", str(listen))
    if not match:
        pytest.fail(f"wp-sentinel config --contract: no HOST:PORT default for listen, found {listen!r}")
    return int(match.group(2))


def config_sections() -> dict[str, set[str]]:
    """The keys the binary accepts, by section ("" = top level), from its contract."""
    sections: dict[str, set[str]] = {}
    for key in contract_defaults():
        section, _, field = key.rpartition(".")
        sections.setdefault(section, set()).add(field)
    if not sections:
        pytest.fail("wp-sentinel config --contract lists no configuration key")
    return sections


def pod_spec(workload_doc: dict) -> dict:
    return workload_doc["spec"]["template"]["spec"]


def container(spec: dict, name: str, init: bool | None = None) -> dict:
    lists = []
    if init in (None, True):
        lists += spec.get("initContainers", [])
    if init in (None, False):
        lists += spec.get("containers", [])
    for c in lists:
        if c["name"] == name:
            return c
    where = {None: "any container list", True: "initContainers", False: "containers"}[init]
    pytest.fail(f"no container {name!r} in {where}")


def all_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec.get("containers", []) + spec.get("ephemeralContainers", [])


def parse_duration(text: str) -> float:
    """'5s', '500ms', '1m30s', '2m' → seconds."""
    total, pos = 0.0, 0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for match in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text.strip()):
        if match.start() != pos:
            break
        total += float(match.group(1)) * units[match.group(2)]
        pos = match.end()
    if pos != len(text.strip()) or pos == 0:
        raise ValueError(f"not a duration: {text!r}")
    return total


def sidecar_env(rendered: Rendered, spec: dict) -> dict[str, str]:
    """The sidecar's effective environment: envFrom ConfigMaps, then env values."""
    sidecar = container(spec, SIDECAR, init=True)
    env: dict[str, str] = {}
    for source in sidecar.get("envFrom", []):
        if "configMapRef" in source:
            data = rendered.get("ConfigMap", source["configMapRef"]["name"]).get("data", {})
            env.update({source.get("prefix", "") + k: v for k, v in data.items()})
    for var in sidecar.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
    return env


def _default_seconds(key: str) -> float:
    """A duration key's default in the contract, in seconds."""
    default = contract_defaults()[key]
    return parse_duration(default) if isinstance(default, str) else float(default)


# The sidecar's built-in timings, from its contract (seconds). A wedge is the light
# WordPress check's to see (`wordpress_light`): it runs every `interval` (plus up to
# `jitter`), gives up after `timeout`, and fails /livez after `failure_threshold`
# failures in a row.
CHECK_INTERVAL = _default_seconds("wordpress_light.interval")
CHECK_TIMEOUT = _default_seconds("wordpress_light.timeout")
CHECK_JITTER = _default_seconds("wordpress_light.jitter")
FAIL_THRESHOLD = int(contract_defaults()["wordpress_light.failure_threshold"])
# Drift is seen through inotify, not a timer: a bound, not a setting (measured at
# about 10 ms; tests/it/drift.rs's inotify test waits at most 1 s).
DRIFT_DETECTION = 1
# A wedged WordPress fails /livez after this long (12 s at the defaults).
WEDGE_DETECTION = FAIL_THRESHOLD * CHECK_INTERVAL + CHECK_TIMEOUT
# Verdicts of the light check older than this fail /healthz (17.5 s at the
# defaults): `Schedule::staleness_bound` in src/config.rs.
STALENESS_BOUND = 3 * CHECK_INTERVAL + CHECK_JITTER + CHECK_TIMEOUT
