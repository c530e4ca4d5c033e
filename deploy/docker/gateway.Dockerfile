# syntax=docker/dockerfile:1.7
#
# scenario-gateway: the gRPC front of the tariff scenario service.
#
# The build context is the repository root (the build reads the whole workspace:
# data/ through include_str!, proto/ in build.rs, every member's manifest):
#
#   docker build -f deploy/docker/gateway.Dockerfile -t tariff/scenario-gateway:dev .
#
# BuildKit reads gateway.Dockerfile.dockerignore beside this file (a per-Dockerfile
# ignore file) instead of a .dockerignore at the root. Nothing else is needed: protos
# compile with protox (no protoc) and TLS uses ring (no cmake, no nasm).

# ---- build: the release binary ------------------------------------------------------
# Keep this tag equal to the channel of rust-toolchain.toml (scripts/check-deploy.sh
# checks it). RUSTUP_TOOLCHAIN makes rustup use the image's toolchain as it is instead
# of fetching the rustfmt and clippy components rust-toolchain.toml also names.
FROM rust:1.95.0-bookworm AS build
ENV RUSTUP_TOOLCHAIN=1.95.0 \
    CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p scenario-gateway \
    && install -D -m 0755 target/release/scenario-gateway /out/scenario-gateway

# ---- probe: grpc_health_probe, for Docker health checks and TLS probes --------------
# Kubernetes' native gRPC probe speaks plain text only; with gateway TLS on, the pod
# probes with this binary instead (deploy/k8s/components/gateway-tls). `go install`
# checks the module against the Go checksum database; the binary is static (no cgo),
# so the Go image's distribution does not matter.
FROM golang:1.26 AS probe
ARG GRPC_HEALTH_PROBE_VERSION=v0.4.42
RUN CGO_ENABLED=0 GOBIN=/out go install \
    "github.com/grpc-ecosystem/grpc-health-probe@${GRPC_HEALTH_PROBE_VERSION}"

# ---- runtime: glibc and CA certificates, no shell, no package manager, uid 65532 ----
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="scenario-gateway" \
      org.opencontainers.image.description="Tariff scenario service: gRPC gateway" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/scenario-gateway /usr/local/bin/scenario-gateway
COPY --from=probe /out/grpc-health-probe /usr/local/bin/grpc_health_probe
# In a container the gateway must listen on every interface (its default is loopback).
ENV TARIFF_LISTEN=0.0.0.0:50051
# 50051: gRPC (scenario service, grpc.health.v1, reflection). 9464: admin HTTP
# (/metrics, /healthz), off unless TARIFF_ADMIN_LISTEN is set.
EXPOSE 50051 9464
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/scenario-gateway"]
