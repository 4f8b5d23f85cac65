#!/usr/bin/env bash
# The self-healing demo, the README's "run the main job" command. On a fresh machine
# of this project's kind (Debian 12, root): installs Debian's WordPress, PHP and
# MariaDB packages when missing (scripts/wpenv.sh), then runs the article's
# `DB_HOST=hoge` edit in one of two modes and prints the timeline:
#
# - pod (the default where podman works): scripts/images.sh installs podman & co
#   and builds the images (cached by content; the first time about 6 minutes on 2
#   cores), then examples/demo_pod.rs runs two podman pods with the pod tests'
#   harness (tests/pod): the manifests' pod (sidecar first, shared docroot, heal
#   policy restore: healed with no restart) and the article's own pod (docroot in
#   the container's layer, no sidecar: one restart, the container id replaced).
# - process (the fallback, with one line saying why, where podman cannot be
#   installed or the images cannot be built): examples/demo.rs, a real WordPress
#   and the real wp-sentinel as child processes, the kubelet emulator with the
#   probes of k8s/base/deployment.yaml.
#
# It stops what it started (every container, pod and volume removed by id; the web
# server and the sidecar stopped); the machine's MariaDB, started when none answered,
# stays running.
#
# Environment: WP_SENTINEL_DEMO_MODE (pod | process; default: pod where podman
# works), WP_SENTINEL_DEMO_SCALE (time scale; 0.2 in pods, 0.1 in processes),
# WP_SENTINEL_DEMO_DIR (state, default target/demo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'demo.sh: %s\n' "$*" >&2; }

if [[ $EUID -ne 0 ]]; then
	say "must run as root: scripts/wpenv.sh installs packages and starts PHP and MariaDB"
	exit 1
fi

mode=${WP_SENTINEL_DEMO_MODE:-auto}
case $mode in
auto | pod | process) ;;
*)
	say "WP_SENTINEL_DEMO_MODE: pod or process, not '$mode'"
	exit 1
	;;
esac

say "installing packages (a no-op when present)"
scripts/wpenv.sh install

target=${CARGO_TARGET_DIR:-target}
state=${WP_SENTINEL_DEMO_DIR:-target/demo}
mkdir -p "$state"

if [[ $mode != process ]]; then
	log=$state/images.log
	say "podman and the images: scripts/images.sh build (full output in $log)"
	if scripts/images.sh build 2> >(tee "$log" | grep --line-buffered '^images:' >&2); then
		mode=pod
	else
		reason=$(grep -E '^images: error:' "$log" | tail -n 1 | sed 's/^images: error: //')
		reason=${reason:-scripts/images.sh build failed}
		# The failing command's own last words (podman's, apt-get's, cargo's), if any.
		detail=$(grep -v '^images:' "$log" | grep -v '^[[:space:]]*$' | tail -n 1 || true)
		reason="$reason${detail:+: $detail}; see $log"
		if [[ $mode == pod ]]; then
			say "pod mode asked for, but podman does not work here: $reason"
			exit 1
		fi
		say "podman does not work here ($reason): falling back to the process mode (WordPress and wp-sentinel as processes)"
		mode=process
	fi
fi

if [[ $mode == pod ]]; then
	say "pod mode: building the demo driver (examples/demo_pod.rs)"
	cargo build --quiet --example demo_pod
	exec "$target/debug/examples/demo_pod"
fi

say "process mode: building wp-sentinel and the demo driver (examples/demo.rs)"
cargo build --quiet --bin wp-sentinel --example demo
WP_SENTINEL_BIN="$target/debug/wp-sentinel" exec "$target/debug/examples/demo"
