#!/usr/bin/env bash
# Project copy of ../shared/tools/privacyidea/stop.sh, carried in-repo so CI can run it from a clean clone (tests/privacyidea/stop.sh).
# Stop the gunicorn started by start.sh (only that pid, and only if it is ours).
PIDFILE="${PI_BASE:-/tmp/privacyidea-local}/run/gunicorn.pid"
pid="$(cat "$PIDFILE" 2>/dev/null || true)"
if [[ -n "$pid" ]] && grep -qa "pi_wsgi:application" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped privacyIDEA (pid $pid)"
else
    echo "privacyIDEA not running"
fi
rm -f "$PIDFILE"
