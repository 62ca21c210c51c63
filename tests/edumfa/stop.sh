#!/usr/bin/env bash
# Stops the eduMFA started by tests/edumfa/start.sh (only that pid, and only if it is ours), modelled on tests/privacyidea/stop.sh.
PIDFILE="${EDUMFA_BASE:-/tmp/edumfa-local}/run/gunicorn.pid"
pid="$(cat "$PIDFILE" 2>/dev/null || true)"
if [[ -n "$pid" ]] && grep -qa "edumfa_wsgi:application" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped eduMFA (pid $pid)"
else
    echo "eduMFA not running"
fi
rm -f "$PIDFILE"
