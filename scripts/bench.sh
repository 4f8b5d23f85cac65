#!/usr/bin/env bash
# bench.sh: what a probe costs with wp-sentinel and with the alternatives, measured
# side by side in one run on this machine. One command: installs what it
# needs (Debian: wrk, hyperfine, curl, mariadb-client, python3; crates.io: oha),
# builds the release binary and the bench examples, brings up a real WordPress and a
# MariaDB of its own (scripts/wpenv.sh), runs scripts/bench/run.py, writes the tables
# into BENCHMARKS.md (between <!-- bench:begin --> and <!-- bench:end -->) and the
# charts into docs/bench/, and leaves nothing running. Not part of the test suite.
# A full run takes about 8 minutes after the build. Needs root (as wpenv.sh does).
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR   [<repo>/target]
#   BENCH_DIR          scratch: results, logs, tools [$CARGO_TARGET_DIR/bench]
#   WPENV_DIR WPENV_PORT WPENV_DB_NAME WPENV_DB_USER WPENV_OWN_DB_PORT
#                      the environment, kept apart from other users of the machine
#                      [$BENCH_DIR/wpenv, 8290, wpbench, wpbench, 3391]
#   BENCH_PORTS        sidecar, bare TCP floor, hyper floor, single-threaded hyper
#                      floor ["8291 8292 8293 8294"]
#   BENCH_ARGS         extra arguments for scripts/bench/run.py (e.g. "--rounds 3")
#   BENCH_E2E          1: also run tests/e2e/article.rs when it exists [1]
#   BENCH_PHASES       phases of run.py, comma-separated
#                      [probe,quiet,startup,capacity,detection,bill]; "bill" alone
#                      (the pod's bill, ~14 minutes) writes only its
#                      block of BENCHMARKS.md and docs/bench/pod-bill.svg
#
# WordPress runs under Apache 2.4 prefork + mod_php (scripts/wpenv.sh's default), as
# the official wordpress:*-apache image runs it.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
BENCH_DIR=${BENCH_DIR:-$CARGO_TARGET_DIR/bench}
export WPENV_DIR=${WPENV_DIR:-$BENCH_DIR/wpenv}
export WPENV_PORT=${WPENV_PORT:-8290}
export WPENV_DB_NAME=${WPENV_DB_NAME:-wpbench}
export WPENV_DB_USER=${WPENV_DB_USER:-wpbench}
export WPENV_OWN_DB_PORT=${WPENV_OWN_DB_PORT:-3391}
# A MariaDB of our own: its counters are ours alone, and db-stop may stop it.
export WPENV_DB_MODE=own
export WPENV_PHP_WORKERS=4
export WPENV_SERVER=${WPENV_SERVER:-apache}
PHASES=${BENCH_PHASES:-probe,quiet,startup,capacity,detection,bill}
ONLY_BILL=0
[[ $PHASES == bill ]] && ONLY_BILL=1
read -r -a PORTS <<<"${BENCH_PORTS:-8291 8292 8293 8294}"
TOOLS=$BENCH_DIR/tools
OHA=$TOOLS/bin/oha
RESULTS=$BENCH_DIR/results.json

say() { printf 'bench.sh: %s\n' "$*" >&2; }
die() { printf 'bench.sh: error: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "run as root (apt-get, and scripts/wpenv.sh needs it)"
mkdir -p "$BENCH_DIR/work" "$TOOLS"

install_tools() {
	local missing=() p
	for p in wrk hyperfine curl mariadb-client python3 util-linux; do
		dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
	done
	if ((${#missing[@]})); then
		say "apt-get install ${missing[*]}"
		apt-get update -q >"$BENCH_DIR/apt.log" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >>"$BENCH_DIR/apt.log" 2>&1 || die "apt-get failed (log: $BENCH_DIR/apt.log)"
	fi
	if [[ ! -x $OHA ]] && ((!ONLY_BILL)); then
		# Not in Debian; a crate. Its own target dir, so the bench's build stays apart.
		say "cargo install oha (once; a few minutes on 2 cores)"
		CARGO_TARGET_DIR=$TOOLS/build cargo install --locked --root "$TOOLS" oha \
			>"$TOOLS/install.log" 2>&1 || die "cargo install oha failed (log: $TOOLS/install.log)"
	fi
	scripts/wpenv.sh install
}

cleanup() {
	local status=$?
	scripts/wpenv.sh down >/dev/null 2>&1 || true
	exit "$status"
}

install_tools
say "building the release binary and the bench examples"
cargo build --release --locked --bin wp-sentinel \
	--example bench_floor --example bench_hyper_ok --example bench_client

trap cleanup EXIT
trap 'exit 130' INT TERM
scripts/wpenv.sh up
python3 scripts/bench/run.py --env "$WPENV_DIR/env" --target "$CARGO_TARGET_DIR" \
	--work "$BENCH_DIR/work" --out "$RESULTS" --oha "$OHA" --ports "${PORTS[@]}" \
	--phases "$PHASES" ${BENCH_ARGS:-}
scripts/wpenv.sh down

# The article's edit -> WordPress healthy again, from the kubelet emulator's scenario,
# once tests/e2e has landed (it provisions its own environment).
ARTICLE=""
if [[ ${BENCH_E2E:-1} == 1 && -f tests/e2e/article.rs ]] && ((!ONLY_BILL)); then
	say "tests/e2e/article.rs: the article's edit under the kubelet emulator"
	if cargo test --locked --test e2e article -- --nocapture >"$BENCH_DIR/work/e2e-article.log" 2>&1; then
		ARTICLE=$(sed -n 's/^edit -> ready again (healthy): //p' "$BENCH_DIR/work/e2e-article.log" | tail -n 1)
	else
		say "warning: the e2e article scenario failed (log: $BENCH_DIR/work/e2e-article.log)"
		ARTICLE="failed to run: see the log of scripts/bench.sh"
	fi
fi

python3 - "$RESULTS" "$(git rev-parse --short HEAD)" "$ARTICLE" <<'EOF'
import json, sys
path, commit, article = sys.argv[1:4]
results = json.load(open(path))
results["commit"] = commit
if article:
    results["article_e2e"] = article
json.dump(results, open(path, "w"), indent=1)
EOF
mkdir -p docs/bench
if ((!ONLY_BILL)); then
	python3 scripts/bench/report.py "$RESULTS" --markdown BENCHMARKS.md --charts docs/bench
fi
if [[ ,$PHASES, == *,bill,* ]]; then
	python3 scripts/bench/bill.py "$RESULTS" --markdown BENCHMARKS.md --chart docs/bench/pod-bill.svg
fi
say "done: BENCHMARKS.md, docs/bench/*.svg (raw figures: $RESULTS)"
