# syntax=docker/dockerfile:1
#
# Strongroom container image.
#
#   docker build -t strongroom .
#
#   # TLS: a directory with cert.pem and key.pem, key readable by uid 10001. To make a
#   # self-signed pair with the image itself (the directory must be writable by uid 10001):
#   docker run --rm -v "$PWD/tls:/etc/strongroom/tls" strongroom \
#       tls-selfsigned --out /etc/strongroom/tls --host localhost --host 127.0.0.1
#
#   docker run -d --name strongroom -p 8200:8200 \
#       --ulimit memlock=-1:-1 --stop-timeout 40 \
#       -v strongroom-data:/var/lib/strongroom \
#       -v "$PWD/tls:/etc/strongroom/tls:ro" \
#       strongroom
#
# Memory locking: the server calls mlockall only when it holds CAP_IPC_LOCK in its effective
# set or RLIMIT_MEMLOCK is unlimited. This image runs as uid 10001, and a non-root user gets no
# effective capabilities from `--cap-add IPC_LOCK` alone, so pass `--ulimit memlock=-1:-1`.
# Without it the server logs a warning and runs; set `disable_mlock = true` in the config to
# skip the attempt on hosts without swap.
#
# Shutdown: on SIGTERM the server drains in-flight requests for up to 30 s, then seals.
# Docker's default stop timeout is 10 s, hence `--stop-timeout 40` above.
#
# `--dev` is not useful in a container: it listens on a loopback address only.

# ---------------------------------------------------------------------------- build
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p strongroom-server -p strongroom-cli \
 && mkdir -p /out \
 && cp target/release/strongroom-server target/release/strongroom /out/

# -------------------------------------------------------------------------- runtime
FROM debian:bookworm-slim

# curl is only for the HEALTHCHECK below. (The `strongroom` CLI has no health command at
# the time of writing; a bao-style `status` exits non-zero when sealed, which is not what
# "healthy" means here.)
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 strongroom \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /var/lib/strongroom --shell /usr/sbin/nologin strongroom \
 && install -d -m 0700 -o 10001 -g 10001 /var/lib/strongroom \
 && install -d -m 0755 /etc/strongroom /etc/strongroom/tls

COPY --from=build /out/strongroom-server /out/strongroom /usr/local/bin/
COPY docker/strongroom.toml /etc/strongroom/strongroom.toml

# The SQLite database (strongroom.db plus its -wal and -shm files). The server creates the
# file (mode 0600) but not the directory; a bind mount must be writable by uid 10001.
VOLUME ["/var/lib/strongroom"]

EXPOSE 8200

# Healthy = the process is alive and answers HTTPS. A sealed or uninitialised vault is
# healthy here (sealedcode/uninitcode = 200): unsealing is an operator's job, and restarting
# a sealed container would only seal it again. `-k` because the check talks to 127.0.0.1,
# which a real certificate usually does not name. If the config sets tls_disable = true,
# change the URL to http://.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["curl", "-fsk", "--max-time", "4", "-o", "/dev/null", \
         "https://127.0.0.1:8200/v1/sys/health?sealedcode=200&uninitcode=200"]

# Numeric so that Kubernetes' runAsNonRoot can verify it (10001 = strongroom).
USER 10001:10001

ENTRYPOINT ["strongroom-server"]
CMD ["--config", "/etc/strongroom/strongroom.toml"]
