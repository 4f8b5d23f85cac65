"""The wiring between WordPress, the wp-sentinel sidecar and the kubelet, as
rendered for every kustomization that holds the WordPress Deployment.

Each test states one property the design relies on (docs/operations.md,
"How the manifests are wired"); a failure names the object and the field.
"""

from __future__ import annotations

import re

import pytest

from conftest import (
    DRIFT_DETECTION,
    SIDECAR,
    SIDECAR_PROBE_PATH,
    STALENESS_BOUND,
    WEDGE_DETECTION,
    WORDPRESS,
    WORDPRESS_PROBE_PATHS,
    CHECK_INTERVAL,
    Rendered,
    all_containers,
    config_sections,
    container,
    default_listen_port,
    parse_duration,
    pod_spec,
    render,
    sidecar_env,
    workload_targets,
)

# Longest a liveness failure may take to reach the kubelet (periodSeconds x
# failureThreshold); shortest, so the sidecar's own hysteresis has room.
LIVENESS_WINDOW_MAX = 60
READINESS_WINDOW_MAX = 30
STARTUP_BUDGET_MIN = 120
# Pod Security Standards, baseline + restricted (v1.30+).
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}
RECOMMENDED_LABELS = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
]


def deployment(rendered: Rendered) -> dict:
    return rendered.get("Deployment", WORDPRESS)


def spec_of(rendered: Rendered) -> dict:
    return pod_spec(deployment(rendered))


def pod_workloads(rendered: Rendered) -> list[dict]:
    kinds = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
    return [d for d in rendered.docs if d["kind"] in kinds]


# --- the sidecar ----------------------------------------------------------


def test_sidecar_is_a_native_sidecar(workload):
    spec = spec_of(workload)
    sidecar = container(spec, SIDECAR, init=True)
    assert sidecar.get("restartPolicy") == "Always", (
        f"{workload.target}: initContainers[{SIDECAR}] needs restartPolicy: Always (native sidecar)"
    )
    assert SIDECAR not in [c["name"] for c in spec.get("containers", [])], "sidecar listed as a main container"


def test_sidecar_port_is_the_binary_default(workload):
    port = default_listen_port()
    sidecar = container(spec_of(workload), SIDECAR, init=True)
    ports = [p["containerPort"] for p in sidecar.get("ports", [])]
    assert ports == [port], f"{workload.target}: sidecar containerPort {ports} != DEFAULT_LISTEN port {port}"
    listen = sidecar_env(workload, spec_of(workload)).get("WP_SENTINEL_LISTEN")
    if listen is not None:
        assert listen.rsplit(":", 1)[-1] == str(port), f"WP_SENTINEL_LISTEN={listen} disagrees with port {port}"
    for arg in sidecar.get("args", []) + sidecar.get("command", []):
        assert not arg.startswith("--listen"), "pass the listen address through the default, not a flag"


def test_sidecar_has_its_own_probes_on_healthz(workload):
    port = default_listen_port()
    sidecar = container(spec_of(workload), SIDECAR, init=True)
    for kind in ("startupProbe", "livenessProbe"):
        probe = sidecar.get(kind)
        assert probe, f"{workload.target}: sidecar has no {kind}"
        http = probe.get("httpGet") or {}
        assert http.get("path") == SIDECAR_PROBE_PATH and http.get("port") == port, (
            f"sidecar {kind} must be httpGet {SIDECAR_PROBE_PATH} on port {port}, is {http}"
        )
    live = sidecar["livenessProbe"]
    # /healthz fails only on stale verdicts (its own bound) or no answer: a short
    # window cannot restart the sidecar for a slow check, only for a hung process.
    # A hung sidecar must be restarted before WordPress's liveness gives up on it
    # (refused and timed-out probes are failures): docs/kubelet.md, deployment.yaml.
    wordpress_live = container(spec_of(workload), WORDPRESS)["livenessProbe"]
    tolerated = (wordpress_live.get("failureThreshold", 3) - 1) * wordpress_live.get("periodSeconds", 10) - wordpress_live.get("timeoutSeconds", 1)
    grace = live.get("terminationGracePeriodSeconds", pod_spec(deployment(workload)).get("terminationGracePeriodSeconds", 30))
    back = live.get("failureThreshold", 3) * live.get("periodSeconds", 10) + live.get("timeoutSeconds", 1) + max(grace, 2) + 1
    assert back < tolerated, (
        f"{workload.target}: a hung sidecar is back after ~{back}s but WordPress's liveness tolerates only {tolerated}s "
        "without an answer: the kubelet would restart a healthy WordPress"
    )
    assert "readinessProbe" not in sidecar, (
        "a sidecar readinessProbe would take WordPress out of the Service whenever the sidecar is broken"
    )


def test_sidecar_settings_are_keys_the_binary_accepts(workload):
    sections = config_sections()
    env = sidecar_env(workload, spec_of(workload))
    unknown = []
    for name in env:
        if not name.startswith("WP_SENTINEL_") or name == "WP_SENTINEL_CONFIG":
            continue
        key = name[len("WP_SENTINEL_"):].lower()
        section, _, field = key.partition("__") if "__" in key else ("", "", key)
        if field not in sections.get(section, set()):
            unknown.append(name)
    assert not unknown, (
        f"{workload.target}: the binary rejects unknown keys at start-up (exit 2, CrashLoopBackOff): {unknown}; "
        f"accepted: {sorted((s + '.' if s else '') + k for s, ks in sections.items() for k in ks)}"
    )


# --- WordPress's probes ------------------------------------------------------


def test_sidecar_knows_wordpress_liveness_threshold(workload):
    # The healer counts failureThreshold failed /livez answers to kube-probe as the
    # kubelet's restart order: a different number there miscounts restarts.
    spec = spec_of(workload)
    threshold = container(spec, WORDPRESS)["livenessProbe"].get("failureThreshold", 3)
    configured = sidecar_env(workload, spec).get("WP_SENTINEL_HEAL__LIVENESS_FAILURE_THRESHOLD")
    assert configured is not None, (
        f"{workload.target}: set WP_SENTINEL_HEAL__LIVENESS_FAILURE_THRESHOLD to WordPress's "
        f"livenessProbe.failureThreshold ({threshold})"
    )
    assert int(configured) == threshold, (
        f"{workload.target}: WP_SENTINEL_HEAL__LIVENESS_FAILURE_THRESHOLD={configured} but WordPress's "
        f"livenessProbe.failureThreshold is {threshold}"
    )



def test_wordpress_probes_point_at_the_sidecar(workload):
    port = default_listen_port()
    wordpress = container(spec_of(workload), WORDPRESS, init=False)
    for kind, path in WORDPRESS_PROBE_PATHS.items():
        probe = wordpress.get(kind)
        assert probe, f"{workload.target}: WordPress has no {kind}"
        http = probe.get("httpGet")
        assert http, f"WordPress {kind} must be an httpGet probe"
        assert http.get("port") == port and isinstance(http.get("port"), int), (
            f"WordPress {kind} must target the sidecar's port by number ({port}), is {http.get('port')!r}"
        )
        assert http.get("path") == path, f"WordPress {kind} path {http.get('path')!r} != {path}"
        assert http.get("scheme", "HTTP") == "HTTP" and "host" not in http, f"WordPress {kind}: {http}"


def test_probe_timing_leaves_the_sidecar_room(workload):
    wordpress = container(spec_of(workload), WORDPRESS, init=False)
    live = wordpress["livenessProbe"]
    window = live.get("periodSeconds", 10) * live.get("failureThreshold", 3)
    assert WEDGE_DETECTION <= window <= LIVENESS_WINDOW_MAX, (
        f"liveness periodSeconds x failureThreshold = {window}s; want {WEDGE_DETECTION}..{LIVENESS_WINDOW_MAX}s "
        f"(the sidecar needs ~{WEDGE_DETECTION}s to call a wedge and heals drift in between)"
    )
    assert DRIFT_DETECTION + window <= LIVENESS_WINDOW_MAX, "drift reaches the kubelet too late"
    for kind in WORDPRESS_PROBE_PATHS:
        probe = wordpress[kind]
        assert probe.get("timeoutSeconds", 1) >= 2, f"{kind}: timeoutSeconds < 2 gives spurious failures under load"
        assert probe.get("timeoutSeconds", 1) < probe.get("periodSeconds", 10), f"{kind}: timeout >= period"
        assert probe.get("initialDelaySeconds", 0) == 0, f"{kind}: use the startupProbe, not initialDelaySeconds"
    for kind in ("livenessProbe", "startupProbe"):
        assert wordpress[kind].get("successThreshold", 1) == 1, f"{kind}: successThreshold must be 1"
    ready = wordpress["readinessProbe"]
    ready_window = ready.get("periodSeconds", 10) * ready.get("failureThreshold", 3)
    assert ready_window <= READINESS_WINDOW_MAX, f"readiness takes {ready_window}s to leave the Service"
    start = wordpress["startupProbe"]
    budget = start.get("periodSeconds", 10) * start.get("failureThreshold", 3)
    assert budget >= STARTUP_BUDGET_MIN, f"startup budget {budget}s < {STARTUP_BUDGET_MIN}s (first copy of WordPress)"
    sidecar_live = container(spec_of(workload), SIDECAR, init=True)["livenessProbe"]
    assert sidecar_live.get("timeoutSeconds", 1) >= 2, "sidecar liveness timeoutSeconds < 2"
    assert STALENESS_BOUND < 60, "contract changed: staleness bound"


# --- shutdown and updates ------------------------------------------------------


def test_termination_grace_covers_prestop_and_drain(workload):
    spec = spec_of(workload)
    wordpress = container(spec, WORDPRESS, init=False)
    pre_stop = wordpress.get("lifecycle", {}).get("preStop", {})
    assert "sleep" in pre_stop, "WordPress needs a preStop sleep action (Kubernetes 1.30+)"
    sleep = pre_stop["sleep"]["seconds"]
    env = sidecar_env(workload, spec)
    assert "WP_SENTINEL_SHUTDOWN__DRAIN" in env, "set WP_SENTINEL_SHUTDOWN__DRAIN explicitly"
    drain = parse_duration(env["WP_SENTINEL_SHUTDOWN__DRAIN"])
    deadline = parse_duration(env.get("WP_SENTINEL_SHUTDOWN__DEADLINE", "0s"))
    grace = spec.get("terminationGracePeriodSeconds", 30)
    assert grace > sleep + drain + deadline, (
        f"terminationGracePeriodSeconds {grace} <= preStop {sleep} + drain {drain} + deadline {deadline}"
    )
    assert sleep >= 5, "preStop sleep under 5 s: endpoints may still send traffic after SIGTERM"


def test_rolling_update_keeps_every_replica(workload):
    strategy = deployment(workload)["spec"].get("strategy", {})
    assert strategy.get("type") == "RollingUpdate"
    rolling = strategy.get("rollingUpdate", {})
    assert rolling.get("maxUnavailable") in (0, "0", "0%"), f"maxUnavailable is {rolling.get('maxUnavailable')!r}"
    surge = rolling.get("maxSurge")
    assert surge not in (None, 0, "0", "0%"), "maxSurge must be at least 1"


# --- security --------------------------------------------------------------------


def test_every_container_is_restricted(workload):
    problems = []
    for doc in pod_workloads(workload):
        spec = pod_spec(doc)
        pod_sc = spec.get("securityContext", {})
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                problems.append(f"{where}: {flag}")
        for sysctl in pod_sc.get("sysctls", []):
            if sysctl["name"] not in SAFE_SYSCTLS:
                problems.append(f"{where}: sysctl {sysctl['name']} not allowed")
        for volume in spec.get("volumes", []):
            kinds = set(volume) - {"name"}
            if not kinds <= RESTRICTED_VOLUME_TYPES:
                problems.append(f"{where}: volume {volume['name']} of type {kinds}")
        for c in all_containers(spec):
            sc = c.get("securityContext", {})
            name = f"{where} container {c['name']}"

            def effective(key, sc=sc):
                return sc.get(key, pod_sc.get(key))

            if effective("runAsNonRoot") is not True:
                problems.append(f"{name}: runAsNonRoot not true")
            if not effective("runAsUser"):
                problems.append(f"{name}: runAsUser must be set and non-zero")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}: allowPrivilegeEscalation not false")
            if sc.get("privileged"):
                problems.append(f"{name}: privileged")
            caps = sc.get("capabilities", {})
            if "ALL" not in caps.get("drop", []):
                problems.append(f"{name}: capabilities.drop lacks ALL")
            if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
                problems.append(f"{name}: capabilities.add {caps['add']}")
            seccomp = (effective("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{name}: seccompProfile {seccomp!r}")
            for port in c.get("ports", []):
                if "hostPort" in port:
                    problems.append(f"{name}: hostPort")
    sidecar = container(spec_of(workload), SIDECAR, init=True)
    if sidecar.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
        problems.append(f"{SIDECAR}: readOnlyRootFilesystem not true")
    assert not problems, f"{workload.target} violates Pod Security restricted:\n" + "\n".join(problems)


@pytest.mark.parametrize("target", [t for t in workload_targets() if t.startswith("overlays/")])
def test_overlay_namespaces_enforce_restricted(target):
    # The base is namespace-less; each overlay carries its Namespace.
    rendered = render(target)
    target_ns = deployment(rendered)["metadata"].get("namespace")
    assert target_ns, f"{target}: the Deployment has no namespace"
    ns = rendered.get("Namespace", target_ns)
    assert ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted"
    for doc in rendered.docs:
        if doc["kind"] not in ("Namespace", "StorageClass"):
            assert doc["metadata"].get("namespace") == target_ns, f"{doc['kind']}/{doc['metadata']['name']}"


def test_sidecar_can_rewrite_wp_config(workload):
    spec = spec_of(workload)
    sidecar = container(spec, SIDECAR, init=True)
    wordpress = container(spec, WORDPRESS, init=False)

    def docroot(c):
        mounts = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/var/www/html"]
        assert mounts, f"{c['name']} does not mount the docroot /var/www/html"
        return mounts[0]

    assert docroot(sidecar)["name"] == docroot(wordpress)["name"], "the two containers mount different docroots"
    assert not docroot(sidecar).get("readOnly"), "the sidecar must write wp-config.php (restore)"
    volume = next(v for v in spec["volumes"] if v["name"] == docroot(sidecar)["name"])
    assert "emptyDir" in volume or "persistentVolumeClaim" in volume
    uid = lambda c: c.get("securityContext", {}).get("runAsUser", spec["securityContext"].get("runAsUser"))  # noqa: E731
    assert uid(sidecar) == uid(wordpress), (
        "the sidecar must run as WordPress's UID to rewrite the wp-config.php that WordPress owns"
    )


def test_restore_policy_has_its_golden_copy(workload):
    spec = spec_of(workload)
    env = sidecar_env(workload, spec)
    assert env.get("WP_SENTINEL_HEAL__POLICY") in ("restore", "quarantine"), (
        "the docroot survives restarts: policy `restart` alone heals nothing (product.md)"
    )
    if env["WP_SENTINEL_HEAL__POLICY"] != "restore":
        return
    golden = env.get("WP_SENTINEL_WPCONFIG__GOLDEN") or env.get("WP_SENTINEL_HEAL__GOLDEN")
    assert golden, "restore needs a golden copy"
    sidecar = container(spec, SIDECAR, init=True)
    mount = next((m for m in sidecar.get("volumeMounts", []) if golden.startswith(m["mountPath"].rstrip("/") + "/")), None)
    assert mount, f"golden copy {golden} is not under any sidecar volumeMount"
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert "configMap" in volume, "the golden copy should come from a ConfigMap"
    configmap = workload.get("ConfigMap", volume["configMap"]["name"])
    key = golden[len(mount["mountPath"].rstrip("/")) + 1:]
    assert key in configmap.get("data", {}), f"ConfigMap {configmap['metadata']['name']} has no key {key}"
    assert "wp-settings.php" in configmap["data"][key], "the golden copy is not a wp-config.php"


def test_config_and_secret_feed_both_containers(workload):
    spec = spec_of(workload)
    for name in (SIDECAR, WORDPRESS):
        c = container(spec, name)
        refs = c.get("envFrom", [])
        maps = {r["configMapRef"]["name"] for r in refs if "configMapRef" in r}
        secrets = {r["secretRef"]["name"] for r in refs if "secretRef" in r}
        shared_map = workload.generated("ConfigMap", "wordpress-config")["metadata"]["name"]
        assert shared_map in maps, f"{name} does not get ConfigMap wordpress-config"
        assert "wordpress-db" in secrets, f"{name} does not get Secret wordpress-db"
        for m in maps:
            workload.get("ConfigMap", m)
        for s in secrets:
            workload.get("Secret", s)
    data = workload.generated("ConfigMap", "wordpress-config")["data"]
    for key in ("WORDPRESS_DB_HOST", "WORDPRESS_DB_NAME", "WORDPRESS_DB_USER"):
        assert key in data, f"wordpress-config lacks {key}"
    secret = workload.get("Secret", "wordpress-db")
    assert "WORDPRESS_DB_PASSWORD" in secret.get("stringData", secret.get("data", {}))
    assert spec.get("enableServiceLinks") is False, (
        "enableServiceLinks must be false: a Service named wordpress injects WORDPRESS_* variables"
    )


# --- the objects around the Deployment ------------------------------------------


def test_service_pdb_and_hpa_select_the_deployment(workload):
    deploy = deployment(workload)
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    selector = deploy["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    service = workload.get("Service", WORDPRESS)
    assert service["spec"]["selector"].items() <= pod_labels.items(), "Service selects no WordPress pod"
    wordpress = container(pod_spec(deploy), WORDPRESS, init=False)
    names = {p.get("name") for p in wordpress["ports"]} | {p["containerPort"] for p in wordpress["ports"]}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in names, f"Service targets {port['targetPort']!r}, not WordPress's port"
        assert port["targetPort"] != default_listen_port(), "the probe port must not be exposed by the Service"
    pdb = workload.get("PodDisruptionBudget", WORDPRESS)
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    hpa = workload.get("HorizontalPodAutoscaler", WORDPRESS)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": WORDPRESS}
    assert hpa["spec"]["minReplicas"] >= 2, "one replica cannot roll or drain without downtime"
    for metric in hpa["spec"]["metrics"]:
        if metric["type"] == "ContainerResource":
            assert metric["containerResource"]["container"] in {c["name"] for c in all_containers(pod_spec(deploy))}
    assert "replicas" not in deploy["spec"], "the HPA owns the replica count; `replicas` fights it on every apply"


def test_recommended_labels_and_scrape_annotations(workload):
    port = default_listen_port()
    for doc in workload.docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            labels = doc["metadata"].get("labels", {})
            missing = [label for label in RECOMMENDED_LABELS if label not in labels]
            assert not missing, f"{doc['kind']}/{doc['metadata']['name']} lacks {missing}"
    template = deployment(workload)["spec"]["template"]["metadata"]
    missing = [label for label in RECOMMENDED_LABELS + ["app.kubernetes.io/version"] if label not in template["labels"]]
    assert not missing, f"pod template lacks {missing}"
    annotations = template.get("annotations", {})
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/port") == str(port)
    assert annotations.get("prometheus.io/path") == "/metrics"


def test_every_container_has_requests_and_a_memory_limit(workload):
    for doc in pod_workloads(workload):
        for c in all_containers(pod_spec(doc)):
            resources = c.get("resources", {})
            requests, limits = resources.get("requests", {}), resources.get("limits", {})
            where = f"{doc['metadata']['name']}/{c['name']}"
            assert "cpu" in requests and "memory" in requests, f"{where}: requests cpu and memory"
            assert "memory" in limits, f"{where}: a memory limit"
    sidecar = container(spec_of(workload), SIDECAR, init=True)["resources"]

    def mebibytes(quantity: str) -> float:
        number, unit = re.fullmatch(r"(\d+)(Mi|Gi|M|G)", quantity).groups()
        return int(number) * {"Mi": 1, "Gi": 1024, "M": 0.954, "G": 954}[unit]

    # Measured idle RSS 4.3-9.2 MB (docs/stack-notes.md): the request covers it,
    # the limit leaves a wide margin.
    assert mebibytes(sidecar["requests"]["memory"]) >= 10
    assert mebibytes(sidecar["limits"]["memory"]) >= 4 * 9.2


# --- overlay specifics -------------------------------------------------------------


def test_article_overlay_uses_tls_and_a_shared_file_volume():
    rendered = render("overlays/article")
    spec = spec_of(rendered)
    env = sidecar_env(rendered, spec)
    assert env.get("WP_SENTINEL_MYSQL__TLS_MODE") == "verify-identity"
    ca = env.get("WP_SENTINEL_MYSQL__TLS_CA")
    assert ca, "verify-identity against a managed server needs its CA"
    sidecar = container(spec, SIDECAR, init=True)
    mount = next((m for m in sidecar["volumeMounts"] if ca.startswith(m["mountPath"].rstrip("/") + "/")), None)
    assert mount, f"CA {ca} is not mounted in the sidecar"
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    cm = rendered.get("ConfigMap", volume["configMap"]["name"])
    pem = cm["data"][ca.rsplit("/", 1)[-1]]
    assert pem.count("-----BEGIN CERTIFICATE-----") >= 1
    wordpress = container(spec, WORDPRESS, init=False)
    content = next((m for m in wordpress["volumeMounts"] if m["mountPath"] == "/var/www/html/wp-content"), None)
    assert content, "wp-content is not on its own volume"
    volume = next(v for v in spec["volumes"] if v["name"] == content["name"])
    pvc = rendered.get("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    storage_class = rendered.get("StorageClass", pvc["spec"]["storageClassName"])
    assert storage_class["provisioner"] == "file.csi.azure.com"
    extra = rendered.generated("ConfigMap", "wordpress-config")["data"].get("WORDPRESS_CONFIG_EXTRA", "")
    assert "MYSQLI_CLIENT_SSL" in extra, "WordPress itself must use TLS towards a server that requires it"


def test_in_cluster_overlay_has_the_database_wordpress_names():
    rendered = render("overlays/in-cluster-mysql")
    host = rendered.generated("ConfigMap", "wordpress-config")["data"]["WORDPRESS_DB_HOST"]
    service = rendered.get("Service", host.split(":")[0])
    statefulset = rendered.get("StatefulSet", service["metadata"]["name"])
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
