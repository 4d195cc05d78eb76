#!/bin/sh
# Runs one Kafka process (broker, KRaft controller, ZooKeeper or MirrorMaker 2) on a node, the way an operator's
# service manager would. The harness uploads this script with node.env and the properties file, then drives it
# with `kafka-node start|stop|kill|pause|resume|status|format|wipe` — the same commands over docker exec or SSH.
set -eu
here=$(dirname "$0")
. "$here/node.env"   # ROLE MAIN_CLASS KAFKA_HOME DATA_DIR LOG_DIR HEAP_OPTS CLUSTER_ID PROPERTIES [MAIN_ARGS JAVA CLOCK FORMAT_ARGS]
pidfile="$here/kafka.pid"
clockfile="$here/clock"
strobepid="$here/clock-strobe.pid"
java=${JAVA:-java}

faketime_lib() {
  for lib in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
    [ -e "$lib" ] && { echo "$lib"; return 0; }
  done
  return 1
}

stop_strobe() {
  if [ -f "$strobepid" ]; then
    kill "$(cat "$strobepid")" 2>/dev/null || true
    rm -f "$strobepid"
  fi
}

pid() {
  # The recorded pid while any thread of our JVM is still alive. After SIGKILL the main thread turns zombie
  # first while other threads still hold the listening sockets; only when every thread is gone (or a zombie)
  # is the process really stopped. Never a recycled pid: the command line must still be ours.
  [ -f "$pidfile" ] || return 1
  p=$(cat "$pidfile")
  [ -r "/proc/$p/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "$MAIN_CLASS" || \
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] || return 1
  for task in /proc/"$p"/task/*/stat; do
    state=$(awk '{print $3}' "$task" 2>/dev/null) || continue
    [ -n "$state" ] && [ "$state" != Z ] && { echo "$p"; return 0; }
  done
  return 1
}

wait_gone() {
  i=0
  while pid >/dev/null; do
    i=$((i + 1)); [ "$i" -le "$1" ] || return 1; sleep 0.1
  done
}

case "${1:-}" in
  format)
    # ZooKeeper and MirrorMaker 2 keep no KRaft storage.
    case "$ROLE" in zookeeper|mirror) exit 0 ;; esac
    # A ZooKeeper-mode broker has no KRaft storage to format (StorageTool refuses its properties).
    grep -q '^zookeeper.connect=' "$PROPERTIES" && exit 0
    mkdir -p "$DATA_DIR" "$LOG_DIR"
    # The tool's output goes to format.log; when it fails, its last lines go to stderr too, so that the
    # harness's error (or `docker logs` of a compose node) says why instead of only "exit 1".
    # FORMAT_ARGS: a dynamic quorum's --initial-controllers (ids, addresses, directory ids) or --no-initial-controllers.
    # shellcheck disable=SC2086
    "$java" -cp "$KAFKA_HOME/libs/*" -Dlog4j.configuration="file:$here/log4j.properties" \
      -Dlog4j2.configurationFile="$here/log4j2.yaml" -Dkafka.logs.dir="$LOG_DIR" \
      kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$PROPERTIES" --ignore-formatted ${FORMAT_ARGS:-} \
      >"$LOG_DIR/format.log" 2>&1 || {
      status=$?
      echo "kafka-node: kafka-storage format exited $status; the end of $LOG_DIR/format.log:" >&2
      tail -n 20 "$LOG_DIR/format.log" >&2
      exit "$status"
    }
    ;;
  start)
    if pid >/dev/null; then exit 0; fi
    mkdir -p "$LOG_DIR" "$DATA_DIR"
    # A ZooKeeper server reads its id from myid in its data dir (written again after a wipe).
    if [ "$ROLE" = zookeeper ] && [ ! -f "$DATA_DIR/myid" ]; then echo "${NODE_ID:?}" >"$DATA_DIR/myid"; fi
    if [ "${CLOCK:-}" = faketime ]; then
      # Per-process clock control: libfaketime re-reads the offset in $clockfile at most once a second;
      # the monotonic clock stays real, so only wall-clock time (what Kafka timestamps and expires by) moves.
      # FORCE_MONOTONIC_FIX=0: with monotonic time left real, libfaketime's rewrite of monotonic timed waits
      # is not needed, and with it on JVM start-up measured 8x slower (brokers failed to register in 120 s).
      lib=$(faketime_lib) || { echo "kafka-node: libfaketime is not installed on this node" >&2; exit 3; }
      [ -f "$clockfile" ] || echo "+0" >"$clockfile"
      export LD_PRELOAD="$lib" FAKETIME_TIMESTAMP_FILE="$clockfile" FAKETIME_CACHE_DURATION=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_FORCE_MONOTONIC_FIX=0
    fi
    # shellcheck disable=SC2086
    setsid nohup "$java" $HEAP_OPTS $JVM_OPTS \
      -Dkafka.logs.dir="$LOG_DIR" -Dlog4j.configuration="file:$here/log4j.properties" \
      -Dlog4j2.configurationFile="$here/log4j2.yaml" -Dzookeeper.admin.enableServer=false \
      -cp "$KAFKA_HOME/libs/*" "$MAIN_CLASS" "$PROPERTIES" ${MAIN_ARGS:-} >>"$LOG_DIR/stdout.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    ;;
  stop)
    p=$(pid) || exit 0
    kill -CONT "$p" 2>/dev/null || true
    kill -TERM "$p"
    wait_gone "${2:-300}" || { kill -KILL "$p" 2>/dev/null || true; wait_gone 100; }
    ;;
  kill)
    p=$(pid) || exit 0
    kill -KILL "$p"
    wait_gone 100
    ;;
  pause) kill -STOP "$(pid)" ;;
  resume) kill -CONT "$(pid)" ;;
  status)
    if p=$(pid); then
      state=$(awk '{print $3}' "/proc/$p/stat")
      if [ "$state" = T ]; then echo paused; else echo running; fi
    else
      echo stopped
    fi
    ;;
  clock)
    # clock set OFFSET | clock strobe OFFSET SECONDS | clock reset   (OFFSET like +30s, -2d, +0)
    [ "${CLOCK:-}" = faketime ] || { echo "kafka-node: this node was not started with clock control" >&2; exit 3; }
    case "${2:-}" in
      set) stop_strobe; echo "$3" >"$clockfile.tmp" && mv "$clockfile.tmp" "$clockfile" ;;
      strobe)
        stop_strobe
        setsid nohup sh -c "while :; do echo '$3' >'$clockfile.tmp' && mv '$clockfile.tmp' '$clockfile'; sleep $4;
          echo '+0' >'$clockfile.tmp' && mv '$clockfile.tmp' '$clockfile'; sleep $4; done" >/dev/null 2>&1 </dev/null &
        echo $! >"$strobepid"
        ;;
      reset) stop_strobe; echo "+0" >"$clockfile.tmp" && mv "$clockfile.tmp" "$clockfile" ;;
      show) cat "$clockfile" 2>/dev/null || echo "+0" ;;
      *) echo "usage: kafka-node clock set OFFSET | strobe OFFSET SECONDS | reset | show" >&2; exit 2 ;;
    esac
    ;;
  wipe)
    ! pid >/dev/null || { echo "kafka-node: refusing to wipe while running" >&2; exit 1; }
    # A data dir that is a mount (the durable filesystem) stays: only what is in it goes.
    rm -rf "$DATA_DIR" 2>/dev/null || find "$DATA_DIR" -mindepth 1 -delete
    ;;
  *)
    echo "usage: kafka-node format|start|stop [tenths]|kill|pause|resume|status|clock ...|wipe" >&2
    exit 2
    ;;
esac
