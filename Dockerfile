# syntax=docker/dockerfile:1
#
# wp-sentinel container image.
#
#   docker build -t wp-sentinel:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# The builder stage makes a statically linked release binary for the glibc
# target of the platform being built (amd64 or arm64; build each platform
# natively or under emulation with `docker buildx build --platform ...`):
# `RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --target
# <arch>-unknown-linux-gnu`. The last stage is `scratch`: no shell, no package
# manager, no libc, only the binary, the CA bundle and a numeric non-root
# user. Kubernetes ignores HEALTHCHECK; it is for plain Docker.
#
# Why glibc and not musl: the same command builds the binary on a machine
# that has only the gnu target (this project's test machines cannot install
# the musl one), so the shipped binary and the one the pod tests run are built
# the same way. glibc 2.36 linked statically resolves names from /etc/hosts
# and DNS inside libc (measured in a scratch container in a pod).
#
# BINARY_FROM picks the stage or image that supplies /out/wp-sentinel and
# /etc/ssl/certs/ca-certificates.crt to the last stage. Default: the builder
# below. Where no Rust image can be pulled (the pod tests: no registry),
# scripts/images.sh builds the binary on the host with the builder's command
# and passes an image holding those two files:
#   podman build --build-arg BINARY_FROM=localhost/wp-sentinel-binary:KEY .
# Builders that skip unused stages (BuildKit, buildah) then never pull
# rust:1.95-bookworm. The last stage is the same either way.
ARG BINARY_FROM=builder

FROM rust:1.95-bookworm AS builder

# Set by BuildKit for the platform being built; "amd64" when built without it.
ARG TARGETARCH=amd64

WORKDIR /build

# Static glibc. With an explicit --target, RUSTFLAGS reach only the target's
# code, not build scripts and proc macros (which must stay dynamic).
ENV RUSTFLAGS="-C target-feature=+crt-static" \
    CARGO_TERM_COLOR=never

RUN case "${TARGETARCH}" in \
      amd64) echo x86_64-unknown-linux-gnu > /rust-target ;; \
      arm64) echo aarch64-unknown-linux-gnu > /rust-target ;; \
      *) echo "unsupported TARGETARCH ${TARGETARCH}" >&2; exit 1 ;; \
    esac

# Dependencies first, in their own layer: it is rebuilt only when Cargo.toml or
# Cargo.lock change. The placeholder sources only let cargo resolve the targets
# that Cargo.toml declares (the binary, the library and the `probe` bench). The
# workspace's dev-only test kit is never built here; cargo only reads its manifest.
COPY Cargo.toml Cargo.lock ./
COPY testkit/Cargo.toml ./testkit/Cargo.toml
RUN mkdir -p src benches testkit/src \
 && touch testkit/src/lib.rs \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > benches/probe.rs \
 && cargo build --release --locked --target "$(cat /rust-target)" \
 && rm -rf src benches

# The real sources. Touching them, and removing the placeholder's artefacts,
# makes sure cargo rebuilds the crate itself even when the copied files carry
# older modification times than the placeholder build.
COPY src ./src
COPY benches ./benches
RUN find src benches -type f -exec touch {} + \
 && rm -rf "target/$(cat /rust-target)/release/.fingerprint/wp-sentinel-"* \
 && cargo build --release --locked --target "$(cat /rust-target)" \
 && install -D -m 0755 "target/$(cat /rust-target)/release/wp-sentinel" /out/wp-sentinel \
 && /out/wp-sentinel --help > /dev/null

# The supplier of the binary and the CA bundle (see BINARY_FROM above).
FROM ${BINARY_FROM} AS binary

FROM scratch

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="wp-sentinel" \
      org.opencontainers.image.description="Health-probe sidecar and self-healing agent for WordPress on Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="scratch"

# Without WP_SENTINEL_MYSQL__TLS_CA, verify-ca / verify-identity trust the
# Mozilla roots compiled into the binary (mysql_async's webpki-roots); a managed
# database's CA is better mounted explicitly (see k8s/overlays/article). The
# system bundle is shipped for anything that reads SSL_CERT_FILE.
COPY --from=binary /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /out/wp-sentinel /wp-sentinel

ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

# glibc's malloc, tuned so that memory goes back to the kernel after a big
# wp-config.php (the static binary reads GLIBC_TUNABLES like a dynamic one).
# Untuned, `serve` reading 1 MiB hostile files again and again kept 48 to 72 MB
# once a normal file was back, and peaked at 53 to 77 MB (the manifests' limit
# is 64 Mi); tuned: 4 MB kept, 37 MB peak. Buffers of 128 KiB and more are
# mmapped and unmapped when freed (a fixed mmap_threshold also stops glibc
# raising it after each big free); the heap top is trimmed past 128 KiB; two
# arenas, not eight per core, for the runtime's two worker threads. Figures and
# command: RELIABILITY.md, "Memory on hostile files". tests/it/hostile_memory.rs
# runs the sidecar with this line's value; keep it on one line.
ENV GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=2

# 65532 is the conventional "nonroot" UID/GID of distroless images. In the
# WordPress pod the manifests run it as www-data (33) instead, so that it can
# rewrite the wp-config.php that the WordPress image creates.
USER 65532:65532

EXPOSE 9090

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/wp-sentinel", "probe", "http://127.0.0.1:9090/healthz", "--timeout", "2s"]

ENTRYPOINT ["/wp-sentinel"]
CMD ["serve"]
