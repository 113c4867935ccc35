#!/bin/sh
# Container entrypoint: prepare what a read-only root file system cannot hold, then become the
# command (exec, so the HTTP server, granian or gunicorn, or `idp worker` is PID 1 and receives
# SIGTERM itself).
set -eu

# Prometheus multi-process mode keeps one file per worker process here. Files of an earlier
# run (a restarted container keeps its emptyDir) would count dead workers, so start empty.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi

exec "$@"
