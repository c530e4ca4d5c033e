# syntax=docker/dockerfile:1.7
#
# tariff-worker: pulls scenario jobs from NATS JetStream and computes them.
#
# The build context is the repository root (see gateway.Dockerfile):
#
#   docker build -f deploy/docker/worker.Dockerfile -t tariff/tariff-worker:dev .
#
# BuildKit reads worker.Dockerfile.dockerignore beside this file.

# ---- build: the release binary ------------------------------------------------------
# Keep this tag equal to the channel of rust-toolchain.toml (scripts/check-deploy.sh
# checks it).
FROM rust:1.95.0-bookworm AS build
ENV RUSTUP_TOOLCHAIN=1.95.0 \
    CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p tariff-worker \
    && install -D -m 0755 target/release/tariff-worker /out/tariff-worker

# ---- runtime: glibc and CA certificates, no shell, no package manager, uid 65532 ----
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="tariff-worker" \
      org.opencontainers.image.description="Tariff scenario service: job worker" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/tariff-worker /usr/local/bin/tariff-worker
# 9464: admin HTTP (/metrics, /healthz), off unless TARIFF_ADMIN_LISTEN is set. The
# worker takes no other connection: it only dials NATS.
EXPOSE 9464
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/tariff-worker"]
