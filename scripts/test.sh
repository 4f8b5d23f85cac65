#!/usr/bin/env bash
# The whole test suite, on a fresh machine of this project's kind (Debian 12, root):
# installs the Debian packages the tests need (MariaDB, PHP, WordPress), makes sure
# MariaDB answers on 127.0.0.1:3306 (starting it when it does not), installs podman
# and builds the pod tests' images (scripts/images.sh: cached by content, a no-op
# when nothing changed), installs python3-fusepy (the hung FUSE volume of
# tests/it/hung_volume.rs), then runs every Rust test with cargo-nextest (cargo test
# where nextest is missing; tests/pod among them) and the offline validation of the
# Kubernetes packaging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'test.sh: %s\n' "$*" >&2; }

say "installing packages (a no-op when present)"
scripts/wpenv.sh install

say "making sure MariaDB answers on 127.0.0.1:3306"
WPENV_DB_MODE=machine scripts/wpenv.sh db-up

say "podman and the pod tests' images (scripts/images.sh)"
scripts/images.sh build

say "FUSE for tests/it/hung_volume.rs (python3-fusepy; a no-op when present)"
scripts/install-deps.sh python3-fusepy

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  say "cargo-nextest missing: using cargo test"
  cargo test --workspace --no-fail-fast
fi

say "validating k8s/ and the Dockerfile"
scripts/validate-k8s.sh
