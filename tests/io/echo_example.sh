#!/bin/sh
# Runs examples/echo_server and echo_client against each other on loopback:
# 20 green client connections for half a second, every echo checked.
set -eu
out=$(mktemp)
"$BUILD_IO/echo_server" 0 >"$out" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$out")
[ -n "$port" ] || { echo "echo_server did not start"; exit 1; }
"$BUILD_IO/echo_client" "$port" 20 0.5
