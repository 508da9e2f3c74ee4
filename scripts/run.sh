#!/usr/bin/env bash
# Serve Lockstep: gunicorn, and beside it one `manage.py run_worker`, which
# closes turns at their deadlines and runs the other periodic tasks.
# `make run` calls this. When gunicorn exits, for whatever reason, the
# worker is stopped too. SIGINT or SIGTERM to this script stops both, and
# the script exits with gunicorn's status.
set -u

PY=${PY:-.venv/bin/python}

# gunicorn and the worker write their Prometheus metrics to one folder, so
# the worker's series (deadline resolutions, webhook deliveries) are part of
# GET /metrics. Unless one is set, the folder is fresh and removed on exit.
own_metrics_dir=
if [ -z "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    own_metrics_dir=$(mktemp -d -t lockstep-metrics-XXXXXX)
    export PROMETHEUS_MULTIPROC_DIR=$own_metrics_dir
fi

"$PY" manage.py run_worker &
worker=$!
"$PY" -m gunicorn -c gameserver/gunicorn_conf.py &
server=$!

stop() {
    kill -TERM "$server" "$worker" 2>/dev/null
}
trap stop INT TERM

# A trapped signal ends `wait` early, so wait again while gunicorn still runs.
status=0
while :; do
    wait "$server"
    status=$?
    kill -0 "$server" 2>/dev/null || break
done

kill -TERM "$worker" 2>/dev/null
wait "$worker" 2>/dev/null
if [ -n "$own_metrics_dir" ]; then
    rm -rf "$own_metrics_dir"
fi
exit "$status"
