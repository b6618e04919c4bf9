#!/bin/sh
# User-space instructions per echo round trip, counted by callgrind: the
# figure that does not drift with the machine's load. Each server runs under
# callgrind while load_client (natively, CONNS connections, 64-byte echoes)
# drives it in lockstep rounds with a pause between them (PAUSE_US, 1000),
# so that the server reads each connection dry and waits, as it does when
# not slowed 50x by callgrind; free-running, the count would depend on how
# often the next request is already there. The count is the server's
# instructions (its code, guv, libc; not the kernel). Each server runs
# twice, for SECONDS and for twice as long, and the difference is divided
# by the difference in round trips, so that start-up cancels out.
#
#   callgrind.sh BIN_DIR [CONNS=100] [SECONDS=3] [SERVERS="echo_server epoll_echo"]
#   prints "SERVER CONNS conns: I instructions per round trip (N round trips)"
#   KEEP=DIR keeps the longer run's profile as DIR/SERVER.CONNS.callgrind.
set -eu
bin=$1
conns=${2:-100}
secs=${3:-3}
servers=${4:-echo_server epoll_echo}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# run SERVER SECONDS: prints "TRIPS INSTRUCTIONS" for one run under callgrind.
run() {
  : >"$dir/out"
  valgrind -q --tool=callgrind --callgrind-out-file="$dir/cg.%p" "$bin/$1" 0 >"$dir/out" 2>"$dir/err" &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$dir/out")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "$1 did not start" >&2; cat "$dir/err" >&2; exit 1; }
  trips=$("$bin/load_client" "$port" "$conns" "$2" 0 64 "${PAUSE_US:-1000}" | awk '{print $4}')
  # Dump the counts while the server still runs (a signal would lose them), then stop it.
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$trips $(sed -n 's/^summary: *//p' "$dir"/cg.$pid.* | head -n 1)"
  if [ -n "${KEEP:-}" ]; then cp "$dir"/cg.$pid.* "$KEEP/$1.$conns.callgrind"; fi
  rm -f "$dir"/cg.*
}

for server in $servers; do
  short=$(run "$server" "$secs")
  long=$(run "$server" "$(awk -v s="$secs" 'BEGIN { print 2 * s }')")
  echo "$short $long" | awk -v s="$server" -v c="$conns" '{
    printf "%s %s conns: %.0f instructions per round trip (%d round trips)\n", s, c, ($4 - $2) / ($3 - $1), $3 - $1 }'
done
