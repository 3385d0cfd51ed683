# PostgreSQL 15 with the sky-geometry extensions that the qc schema and DaCHS need
# (sql/001_qc_core.sql: CREATE EXTENSION pg_sphere, q3c), for docker/compose.yaml.
FROM postgres:15-bookworm
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends \
        postgresql-15-pgsphere postgresql-15-q3c \
    && rm -rf /var/lib/apt/lists/*
