# The PostgreSQL image of `localrds serve --runtime docker`, for machines WITH a registry: an
# equivalent of the localrds/postgres:<major> that docker/build-image.sh makes without one
# (debootstrap + docker import), built from the official `postgres:<major>-bookworm` image.
#
#   docker build -t localrds/postgres:15 -f docker/postgres.Dockerfile docker
#   docker build -t localrds/postgres:16 --build-arg PG_MAJOR=16 -f docker/postgres.Dockerfile docker
#
# localrds finds the engine versions by tag: one tag per major version (15, 16, ...), as above.
#
# What localrds needs from the image: the server binaries on PATH (postgres, initdb,
# pg_basebackup), and sh, gzip, cmp, sync and mv for the WAL archive command. It starts every
# container with its own command (`postgres -D ...`, `initdb ...`, `pg_basebackup ...`) as the
# uid that owns the data directory on the host, with its own /etc/passwd and /etc/group mounted,
# so the official image's entrypoint (docker-entrypoint.sh, which would initialise a cluster of
# its own) is dropped below.
#
# The version label: a Dockerfile cannot compute a label (LABEL takes no command output), and
# the official image's PG_VERSION (e.g. 15.10-1.pgdg120+1) is not a version RDS would report. Pass
# the version with --build-arg PG_VERSION_LABEL=15.10 to set org.localrds.pg-version; left empty,
# localrds runs `postgres --version` in the image once when it starts instead (a second or so).
#
# The official image declares VOLUME /var/lib/postgresql/data, which a derived image cannot undo:
# every container localrds runs from it gets an empty anonymous volume there, removed with the
# container (localrds runs them with --rm); the data itself lives in the bind-mounted data
# directory of localrds.
#
# Not built on the machine this was written on (it has no registry). Checked there by building
# it FROM the registry-less image instead: --build-arg BASE=localrds/postgres:15.
ARG PG_MAJOR=15
ARG BASE=postgres:${PG_MAJOR}-bookworm
FROM ${BASE}

ARG PG_MAJOR
ARG PG_VERSION_LABEL=
USER root
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 LC_ALL=C.UTF-8

# Fails the build when a tool localrds runs in the container is missing, or the major is not the
# one asked for.
RUN set -eu; \
    for tool in postgres initdb pg_basebackup sh gzip cmp sync mv; do \
      command -v "$tool" >/dev/null || { echo "missing in the image: $tool" >&2; exit 1; }; \
    done; \
    postgres --version; \
    postgres --version | grep -q "(PostgreSQL) ${PG_MAJOR}\." \
      || { echo "this image has not PostgreSQL ${PG_MAJOR}" >&2; exit 1; }; \
    mkdir -p /var/run/postgresql

LABEL org.localrds.pg-major="${PG_MAJOR}" \
      org.localrds.pg-version="${PG_VERSION_LABEL}"
USER postgres
ENTRYPOINT []
CMD ["postgres", "--version"]
