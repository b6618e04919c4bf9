#!/bin/sh
# Where an echo server's time goes, in system calls: counts each server's
# calls per round trip under the same load, with perf's syscall tracepoints
# (perf must be installed and allowed to trace). Calls a server never makes
# are left out; perf follows only the threads alive when it attaches.
#
#   syscalls.sh BIN_DIR [SECONDS]
set -eu
bin=$1
secs=${2:-2}
events=raw_syscalls:sys_enter
for s in read write recvfrom sendto fcntl getsockopt epoll_wait epoll_pwait epoll_ctl futex nanosleep sched_yield; do
  events=$events,syscalls:sys_enter_$s
done
for server in echo_server epoll_echo go_echo; do
  out=$(mktemp)
  GOMAXPROCS=1 "$bin/$server" 0 >"$out" &
  pid=$!
  sleep 0.3
  port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$out")
  stat=$(mktemp)
  # perf watches from before the load starts until after it ends, so that
  # every round trip the client counts falls inside its window.
  perf stat -x, -e "$events,task-clock" -p "$pid" -o "$stat" -- sleep "$(awk -v s="$secs" 'BEGIN { print s + 1 }')" &
  perfpid=$!
  sleep 0.3
  load=$("$bin/load_client" "$port" 100 "$secs" 0.1)
  wait $perfpid || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  # Round trips served while perf watched: the load client's total.
  trips=$(echo "$load" | awk '{print $4}')
  echo "== $server$( [ $server = go_echo ] && echo ' (GOMAXPROCS=1)'): $trips round trips"
  awk -F, -v t="$trips" '$3 ~ /sys_enter|task-clock/ {
      name = $3; sub(/.*sys_enter_?/, "", name); if (name == "") name = "all syscalls";
      if ($3 == "task-clock") printf "  %-14s %8.2f us CPU per round trip\n", "CPU", $1 * 1000 / t;
      else if ($1 > 0) printf "  %-14s %8.2f per round trip\n", name, $1 / t }' "$stat"
  rm -f "$out" "$stat"
done
