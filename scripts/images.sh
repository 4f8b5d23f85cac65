#!/usr/bin/env bash
# images.sh: the container images of the pod tests (tests/pod), built on this
# machine with no registry (none is reachable from this machine kind).
#
#   scripts/images.sh [build]   install podman & co when missing, then build what changed
#   scripts/images.sh setup     only the packages and the podman configuration check
#   scripts/images.sh env       print the image names (after a build)
#   scripts/images.sh clean     remove every image this script made, by id
#
# Images, each tagged with a content key (a hash of its inputs), so a second run
# rebuilds nothing that did not change:
#   localhost/wp-sentinel-base       Debian bookworm from `debootstrap --variant=minbase`
#   localhost/wp-sentinel-wordpress  shaped like the official wordpress:*-apache image
#                                    (containers/wordpress, on the base)
#   localhost/wp-sentinel-binary     the sidecar binary built on the host with the
#                                    Dockerfile's builder command (static glibc) and
#                                    the host's CA bundle: the files the Dockerfile's
#                                    builder stage would produce
#   localhost/wp-sentinel            the repository's Dockerfile, its last stage as
#                                    shipped, BINARY_FROM=the binary image
#   localhost/wp-sentinel-release    v1-KEY and v2-KEY: thin layers on the WordPress
#                                    image answering `X-Release: v1` / `v2`, for the
#                                    rollout scenarios (containers/release)
# The names are written to target/pod/images.env for the tests.
#
# podman's configuration is containers/containers.conf, passed as CONTAINERS_CONF:
# no machine-wide file is written. One build at a time (flock): every test process
# of the pod suite calls this script and all but the first find the cache.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
WORK=${WP_SENTINEL_POD_WORK:-$REPO_DIR/target/pod}
ENV_FILE=$WORK/images.env
export CONTAINERS_CONF=$REPO_DIR/containers/containers.conf
PACKAGES=(podman buildah runc debootstrap catatonit busybox-static)
# The rollout scenarios' Service (tests/pod/rollout/haproxy.rs), run by the tests
# on 127.0.0.1 only: installed with no daemon started.
SERVICE_PACKAGES=(haproxy)
RUST_TARGET=x86_64-unknown-linux-gnu
SUITE=bookworm
MIRROR=http://deb.debian.org/debian

say() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }

# Seconds since this script started, for the log.
elapsed() { printf '%ss' "$SECONDS"; }

setup() {
	[[ $EUID -eq 0 ]] || die "must run as root (apt-get, debootstrap, podman)"
	"$SCRIPT_DIR/install-deps.sh" "${PACKAGES[@]}" || die "installing ${PACKAGES[*]} failed"
	"$SCRIPT_DIR/install-deps.sh" --no-daemons "${SERVICE_PACKAGES[@]}" ||
		die "installing ${SERVICE_PACKAGES[*]} failed"
	local runtime
	runtime=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}') ||
		die "podman info failed with $CONTAINERS_CONF"
	[[ $runtime == "runc cgroupfs" ]] ||
		die "podman uses '$runtime', expected 'runc cgroupfs' from $CONTAINERS_CONF"
}

# A content key: the first 16 hex digits of the sha256 of stdin.
key() { sha256sum | cut -c1-16; }

exists() { podman image exists "$1"; }

# ------------------------------------------------------------------ the base image
# The recipe below is its own cache key (declare -f): edit it and the base is rebuilt.
base_recipe() {
	debootstrap --variant=minbase "$SUITE" "$1" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
		die "debootstrap failed: $WORK/debootstrap.log"
	# Neither caches nor docs nor locales: the image stays small.
	rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* \
		"$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/* "$1"/tmp/*
}

build_base() {
	local tag
	tag=localhost/wp-sentinel-base:$( { declare -f base_recipe; echo "$SUITE $MIRROR"; } | key)
	BASE=$tag
	if exists "$tag"; then say "base: cached $tag"; return; fi
	say "base: debootstrap --variant=minbase $SUITE ($(elapsed))"
	local root=$WORK/rootfs
	rm -rf "$root"
	mkdir -p "$root"
	base_recipe "$root"
	tar -C "$root" -c . | podman import --quiet - "$tag" >/dev/null
	rm -rf "$root"
	say "base: built $tag ($(elapsed))"
}

# -------------------------------------------------------------- the WordPress image
build_wordpress() {
	local context=$WORK/wordpress-context
	rm -rf "$context"
	mkdir -p "$context"
	cp "$REPO_DIR"/containers/wordpress/* "$context"/
	# The image's own template is the manifests' golden copy (which the pod also
	# mounts over it, as k8s/base/deployment.yaml does).
	cp "$REPO_DIR/k8s/base/golden/wp-config.php" "$context/wp-config-docker.php"
	local tag
	tag=localhost/wp-sentinel-wordpress:$( { echo "$BASE"; cd "$context" && sha256sum -- *; } | key)
	WORDPRESS=$tag
	if exists "$tag"; then say "wordpress: cached $tag"; return; fi
	say "wordpress: podman build on $BASE ($(elapsed))"
	podman build --quiet --build-arg "BASE=$BASE" -f "$context/Containerfile" -t "$tag" \
		"$context" >"$WORK/wordpress-build.log" 2>&1 ||
		die "podman build of WordPress failed: $WORK/wordpress-build.log"
	say "wordpress: built $tag ($(elapsed))"
}

# ------------------------------------------------------- the releases v1 and v2
build_releases() {
	local context=$REPO_DIR/containers/release release tag
	for release in v1 v2; do
		tag=localhost/wp-sentinel-release:$release-$( { echo "$WORDPRESS $release"; cat "$context/Containerfile"; } | key)
		printf -v "RELEASE_${release^^}" '%s' "$tag"
		if exists "$tag"; then say "release $release: cached $tag"; continue; fi
		podman build --quiet --build-arg "WORDPRESS=$WORDPRESS" --build-arg "RELEASE=$release" \
			-f "$context/Containerfile" -t "$tag" "$context" >"$WORK/release-build.log" 2>&1 ||
			die "podman build of release $release failed: $WORK/release-build.log"
		say "release $release: built $tag ($(elapsed))"
	done
}

# ---------------------------------------------------------------- the sidecar image
build_sidecar() {
	say "sidecar: cargo build --release --locked --target $RUST_TARGET, static ($(elapsed))"
	(cd "$REPO_DIR" && RUSTFLAGS="-C target-feature=+crt-static" \
		cargo build --release --locked --target "$RUST_TARGET" --bin wp-sentinel) >&2 ||
		die "cargo build of the sidecar failed"
	local binary=$REPO_DIR/target/$RUST_TARGET/release/wp-sentinel
	# A static binary has no "lib => path" lines (ldd says "statically linked" or
	# "not a dynamic executable").
	if ldd "$binary" 2>&1 | grep -q '=>'; then die "$binary is not static"; fi
	"$binary" --help >/dev/null
	local bundle=/etc/ssl/certs/ca-certificates.crt
	[[ -s $bundle ]] || die "$bundle missing (apt-get install ca-certificates)"
	local binary_tag
	binary_tag=localhost/wp-sentinel-binary:$(cat "$binary" "$bundle" | key)
	SIDECAR_BINARY=$binary_tag
	if exists "$binary_tag"; then
		say "binary: cached $binary_tag"
	else
		local root=$WORK/binary-root
		rm -rf "$root"
		install -D -m 0755 "$binary" "$root/out/wp-sentinel"
		install -D -m 0644 "$bundle" "$root/etc/ssl/certs/ca-certificates.crt"
		tar -C "$root" -c . | podman import --quiet - "$binary_tag" >/dev/null
		rm -rf "$root"
		say "binary: imported $binary_tag"
	fi
	local revision
	revision=$(git -C "$REPO_DIR" rev-parse HEAD 2>/dev/null || echo unknown)
	local tag
	tag=localhost/wp-sentinel:$( { echo "$binary_tag"; cat "$REPO_DIR/Dockerfile"; } | key)
	SIDECAR=$tag
	if exists "$tag"; then say "sidecar: cached $tag"; return; fi
	say "sidecar: podman build of the repository's Dockerfile, BINARY_FROM=$binary_tag"
	# The Dockerfile COPYs sources only in the builder stage, which is skipped here;
	# the build context is the repository (.dockerignore keeps it small).
	(cd "$REPO_DIR" && podman build --quiet --build-arg "BINARY_FROM=$binary_tag" \
		--build-arg "VERSION=0.1.0" --build-arg "REVISION=$revision" \
		-f Dockerfile -t "$tag" .) >"$WORK/sidecar-build.log" 2>&1 ||
		die "podman build of the Dockerfile failed: $WORK/sidecar-build.log"
	say "sidecar: built $tag ($(elapsed))"
}

build() {
	setup
	mkdir -p "$WORK"
	exec 9>"$WORK/images.lock"
	flock -w 1800 9 || die "another images.sh held $WORK/images.lock for 30 minutes"
	build_base
	build_wordpress
	build_releases
	build_sidecar
	{
		echo "# written by scripts/images.sh"
		echo "CONTAINERS_CONF=$CONTAINERS_CONF"
		echo "BASE_IMAGE=$BASE"
		echo "WORDPRESS_IMAGE=$WORDPRESS"
		echo "SIDECAR_IMAGE=$SIDECAR"
		echo "WORDPRESS_V1_IMAGE=$RELEASE_V1"
		echo "WORDPRESS_V2_IMAGE=$RELEASE_V2"
	} >"$ENV_FILE.tmp"
	mv "$ENV_FILE.tmp" "$ENV_FILE"
	prune
	say "images ready in $(elapsed): $ENV_FILE"
}

# Older tags of this script's images (their inputs changed): removed by id.
prune() {
	local current=" $BASE $WORDPRESS $SIDECAR $SIDECAR_BINARY $RELEASE_V1 $RELEASE_V2 "
	local name id
	while read -r name id; do
		[[ $current == *" $name "* ]] && continue
		podman rmi "$id" >/dev/null 2>&1 && say "removed the stale $name ($id)"
	done < <(podman images --filter 'reference=localhost/wp-sentinel*' --format '{{.Repository}}:{{.Tag}} {{.ID}}')
}

clean() {
	local id
	for id in $(podman images --filter 'reference=localhost/wp-sentinel*' --format '{{.ID}}' | sort -u); do
		podman rmi --force "$id" >/dev/null && say "removed image $id"
	done
	rm -f "$ENV_FILE"
}

case ${1:-build} in
build) build ;;
setup) setup ;;
env) cat "$ENV_FILE" ;;
clean) clean ;;
*) sed -n '2,12p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
