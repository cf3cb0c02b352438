# syntax=docker/dockerfile:1
# Build: a static binary (modernc.org/sqlite needs no cgo), cross-compiled
# on the build machine for the target platform.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
# go.mod names the toolchain (go1.27.3); Go fetches it through the module proxy.
ENV GOTOOLCHAIN=go1.27.3
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/uplink ./cmd/uplink \
 && mkdir -p /out/data

# The variant with ffmpeg, for processing (probe, thumbnails, previews):
# docker build --target media. A slim Debian runtime with Debian's ffmpeg
# package (whose ffprobe and ffmpeg uplink runs under nice and prlimit,
# both part of Debian), as the same non-root user. It is much larger than
# the default image: see "Processing" in the README.
FROM debian:bookworm-slim AS media
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 nonroot \
 && useradd --system --uid 65532 --gid 65532 --home-dir /data --no-create-home nonroot
COPY --from=build /out/uplink /usr/local/bin/uplink
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV UPLINK_ADDR=0.0.0.0:8080 UPLINK_DATA=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/uplink", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/uplink"]
CMD ["serve"]

# Run (the default target): no shell, no package manager, the distroless
# nonroot user (65532),
# numeric so that Kubernetes' runAsNonRoot can check it.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/uplink /usr/local/bin/uplink
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV UPLINK_ADDR=0.0.0.0:8080 UPLINK_DATA=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/uplink", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/uplink"]
CMD ["serve"]
