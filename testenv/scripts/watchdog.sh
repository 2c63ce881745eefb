#!/usr/bin/env bash
# watchdog.sh PARENT_PID BINARY ARGS...
# Runs a test server and kills it when the Node process that started it (PARENT_PID) is gone,
# even when that process died by SIGKILL and ran no exit hook: no server outlives a test run.
# It watches its own parent pid, which changes as soon as Node dies (`kill -0` would still
# succeed on a zombie), and escalates to SIGKILL: a kube-apiserver whose etcd is gone can hang
# while shutting down.
parent=$1
shift
"$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit $?' TERM INT
while kill -0 "$child" 2>/dev/null; do
  read -r stat </proc/$$/stat
  stat=${stat##*) }
  # shellcheck disable=SC2086 # split "state ppid ..." into fields
  set -- $stat
  [[ "$2" == "$parent" ]] || break
  sleep 1 &
  wait $!
done
if kill -0 "$child" 2>/dev/null; then
  kill -TERM "$child"
  for _ in 1 2 3 4 5; do
    kill -0 "$child" 2>/dev/null || break
    sleep 1
  done
  kill -KILL "$child" 2>/dev/null
fi
wait "$child"
