# syntax=docker/dockerfile:1
#
# rhombus-bridge container image.
#
#   docker build -t rhombus-bridge .                         # the bridge (default, last stage)
#   docker build --target sim -t rhombus-sim .               # the Rhombus simulator
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse --short HEAD) .
#
# Both final stages are distroless/static (no shell, no package manager) and run as the
# numeric non-root user 65532, so Kubernetes can verify runAsNonRoot.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
        -o /out/rhombus-bridge ./cmd/rhombus-bridge \
 && go build -trimpath -ldflags "-s -w" -o /out/rhombus-sim ./cmd/rhombus-sim \
 && mkdir -p /out/data

# The simulator: a stand-in for Rhombus (STOMP over WebSocket, REST, webhooks) for compose.
FROM gcr.io/distroless/static-debian12:nonroot AS sim
COPY --from=build /out/rhombus-sim /rhombus-sim
USER 65532:65532
ENV SIM_LISTEN=0.0.0.0:8443
EXPOSE 8443
ENTRYPOINT ["/rhombus-sim"]

# The bridge (default target).
FROM gcr.io/distroless/static-debian12:nonroot AS bridge
ARG VERSION=dev
ARG COMMIT=none
LABEL org.opencontainers.image.title="rhombus-bridge" \
      org.opencontainers.image.description="Rhombus change events to NATS JetStream and Kafka as CloudEvents" \
      org.opencontainers.image.source="https://github.com/rhombus-bridge/rhombus-bridge" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/rhombus-bridge /rhombus-bridge
COPY --from=build /out/rhombus-sim /rhombus-sim
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV BRIDGE_DATA_DIR=/data \
    WEBHOOK_ADDR=:8080 \
    HTTP_ADDR=:9090
VOLUME ["/data"]
# 8080: webhook receiver, 9090: /healthz /readyz /status /metrics
EXPOSE 8080 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/rhombus-bridge", "healthcheck"]
ENTRYPOINT ["/rhombus-bridge"]
