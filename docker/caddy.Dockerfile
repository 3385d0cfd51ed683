# The reverse proxy of docker/compose.yaml: Debian's caddy on the Debian base image
# (scripts/build-images.sh), so no image registry is needed. wget is for the health check.
ARG BASE=debian:bookworm
FROM ${BASE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        caddy ca-certificates wget \
    && rm -rf /var/lib/apt/lists/*
# Caddy's own state (certificates, the internal CA) in /caddy: /data is the FITS files
ENV XDG_DATA_HOME=/caddy/data XDG_CONFIG_HOME=/caddy/config
COPY proxy-start.sh /usr/local/bin/proxy-start.sh
CMD ["/usr/local/bin/proxy-start.sh"]
