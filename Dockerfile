# syntax=docker/dockerfile:1
# Build: a static binary (modernc.org/sqlite needs no cgo).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/uplink ./cmd/uplink \
 && mkdir -p /out/data

# Run: no shell, no package manager, a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/uplink /usr/local/bin/uplink
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
ENV UPLINK_ADDR=0.0.0.0:8080 UPLINK_DATA=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/uplink"]
CMD ["serve"]
