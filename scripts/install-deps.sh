#!/usr/bin/env bash
# install-deps.sh: the one way the repository's scripts install Debian packages
# (scripts/wpenv.sh install, scripts/images.sh, scripts/validate-k8s.sh, .ci/run).
#
#   scripts/install-deps.sh [--no-daemons] [--log FILE] PACKAGE...
#
# Installs those of PACKAGE... that dpkg does not list as installed, with
# apt-get install -y --no-install-recommends (keeping changed configuration
# files). Nothing missing: exits 0 at once, without apt-get and without root.
# The package lists are fetched (apt-get update) first when there are none, as
# on a fresh machine, and once more when the install fails without a fresh list.
#
#   --no-daemons  no service may start during the install: a temporary
#                 /usr/sbin/policy-rc.d exiting 101, whatever was there put
#                 back afterwards, also on failure
#   --log FILE    apt-get's output goes to FILE (its last lines are printed on
#                 failure), else to stderr
set -euo pipefail

say() { printf 'install-deps: %s\n' "$*" >&2; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

no_daemons=0
log=""
while (($#)); do
	case $1 in
	--no-daemons) no_daemons=1 ;;
	--log)
		(($# >= 2)) || die "--log needs a file"
		log=$2
		shift
		;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
	shift
done
(($#)) || die "usage: scripts/install-deps.sh [--no-daemons] [--log FILE] PACKAGE..."

missing=()
for package in "$@"; do
	dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$package")
done
if ((${#missing[@]} == 0)); then
	say "present: $*"
	exit 0
fi
[[ $EUID -eq 0 ]] || die "must run as root to install ${missing[*]}"
say "installing ${missing[*]}${log:+ (log: $log)}"

POLICY=/usr/sbin/policy-rc.d
policy_backup=""
restore_policy() {
	if [[ -n $policy_backup ]]; then
		mv -f "$policy_backup" "$POLICY"
	else
		rm -f "$POLICY"
	fi
}
if ((no_daemons)); then
	if [[ -e $POLICY || -L $POLICY ]]; then
		policy_backup=$(mktemp /tmp/policy-rc.d.backup.XXXXXX)
		cp -a "$POLICY" "$policy_backup"
	fi
	trap restore_policy EXIT
	printf '#!/bin/sh\n# install-deps.sh: no daemons during the install\nexit 101\n' >"$POLICY.install-deps"
	chmod 755 "$POLICY.install-deps"
	mv -f "$POLICY.install-deps" "$POLICY"
fi

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${missing[@]}" </dev/null
}
update() { apt-get update -q </dev/null; }
run() {
	if compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		apt_install || { update && apt_install; }
	else
		update && apt_install
	fi
}

if [[ -n $log ]]; then
	if ! run >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "apt-get failed (full log: $log)"
	fi
else
	run >&2 || die "apt-get install ${missing[*]} failed"
fi
say "installed ${missing[*]}"
