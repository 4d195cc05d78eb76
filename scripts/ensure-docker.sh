#!/usr/bin/env bash
# Make a Docker engine answer on this machine: install Debian's docker.io if no engine is there,
# start dockerd (logging to a file) if none is running, and wait until it answers.
# Idempotent: on a machine whose engine already answers it does nothing.
set -euo pipefail

log=${HARNESS_DOCKERD_LOG:-/var/log/harness-dockerd.log}

engine_answers() { timeout 5 docker info >/dev/null 2>&1; }

if engine_answers; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "ensure-docker: no Docker engine answers and this is not root; start dockerd, or run as root" >&2
  exit 2
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing Debian's docker.io" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "ensure-docker: starting dockerd (log: $log)" >&2
  # setsid: the engine must outlive this shell and must not get the terminal's Ctrl-C.
  setsid nohup dockerd >"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 60); do
  if engine_answers; then
    exit 0
  fi
  sleep 1
done
echo "ensure-docker: dockerd did not answer within 60 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 2
