#!/usr/bin/env bash
# The self-healing demo, the README's "run the main job" command. On a fresh machine
# of this project's kind (Debian 12, root): installs Debian's WordPress, PHP and
# MariaDB packages when missing (scripts/wpenv.sh), builds the sidecar and the demo
# driver (examples/demo.rs; a debug build, ~3 minutes the first time on 2 cores),
# then runs the article's scenario: a real WordPress, the real wp-sentinel, a kubelet
# emulator with the probes of k8s/base/deployment.yaml, `DB_HOST` edited to `hoge`.
# It prints the timeline and leaves nothing running.
#
# Environment: WP_SENTINEL_DEMO_SCALE (0.1: ten times faster than a cluster),
# WP_SENTINEL_DEMO_DIR (state, default target/demo; remove it with
# `WPENV_DIR=target/demo/article scripts/wpenv.sh clean`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'demo.sh: %s\n' "$*" >&2; }

if [[ $EUID -ne 0 ]]; then
	say "must run as root: scripts/wpenv.sh installs packages and starts PHP and MariaDB"
	exit 1
fi

say "installing packages (a no-op when present)"
scripts/wpenv.sh install

say "building wp-sentinel and the demo driver"
cargo build --quiet --bin wp-sentinel --example demo

target=${CARGO_TARGET_DIR:-target}
WP_SENTINEL_BIN="$target/debug/wp-sentinel" exec "$target/debug/examples/demo"
