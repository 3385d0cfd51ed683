# PostgreSQL 15 with the sky-geometry extensions that the qc schema and DaCHS need
# (sql/001_qc_core.sql: CREATE EXTENSION pg_sphere, q3c), for docker/compose.yaml: Debian's
# own packages on the Debian base image (scripts/build-images.sh makes it with debootstrap,
# so no image registry is needed). Same environment as the official postgres image:
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, data in /var/lib/postgresql/data.
ARG BASE=debian:bookworm
FROM ${BASE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql-15 postgresql-15-pgsphere postgresql-15-q3c \
    && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
VOLUME ["/var/lib/postgresql/data"]
STOPSIGNAL SIGINT
CMD ["/usr/local/bin/postgres-entrypoint.sh"]
