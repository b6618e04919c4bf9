#!/bin/bash
# Ordinary programs under LD_PRELOAD=libguv_hook.so (no green threads)
# print exactly what they print without it. HOOK_SO and PASSTHRU come from
# mk/hook.mk.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fails=0
# Runs "$@" twice, plain and preloaded, and compares stdout and exit status.
same() {
    local name=$1
    shift
    "$@" >"$work/plain" 2>"$work/plain.err"
    local plain_rc=$?
    LD_PRELOAD=$HOOK_SO "$@" >"$work/hooked" 2>"$work/hooked.err"
    local hooked_rc=$?
    if [ $plain_rc -ne 0 ]; then
        echo "FAIL $name: exits $plain_rc even without the hook:"; cat "$work/plain.err"; fails=1; return
    fi
    if [ $hooked_rc -ne $plain_rc ] || ! cmp -s "$work/plain" "$work/hooked"; then
        echo "FAIL $name: exit $plain_rc vs $hooked_rc under LD_PRELOAD; output diff:"
        diff "$work/plain" "$work/hooked" | head -20
        cat "$work/hooked.err"
        fails=1
        return
    fi
    echo "ok $name ($(wc -c <"$work/plain") bytes identical)"
}

# The hook must really be loaded, or the comparisons prove nothing.
LD_PRELOAD=$HOOK_SO grep -q libguv_hook /proc/self/maps || { echo "FAIL: LD_PRELOAD did not load $HOOK_SO"; exit 1; }

same "C program: file, TCP, socketpair, pthreads" "$PASSTHRU" "$work"

same "python3 sockets" python3 -c '
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
port = srv.getsockname()[1]
def serve():
    c, _ = srv.accept()
    with c:
        while data := c.recv(100):
            c.sendall(data[::-1])
threading.Thread(target=serve).start()
c = socket.create_connection(("127.0.0.1", port), timeout=5)
for i in range(5):
    c.sendall(b"hello %d" % i)
    print(c.recv(100))
c.settimeout(0.05)
try:
    c.recv(1)
except socket.timeout:
    print("recv timed out as asked")
print("blocking again:", c.setblocking(True), c.getblocking())
c.close()
a, b = socket.socketpair()
a.sendall(b"x" * 100000)
got = 0
a.shutdown(socket.SHUT_WR)
while data := b.recv(65536):
    got += len(data)
print("socketpair moved", got)
print(sorted({ai[4][0] for ai in socket.getaddrinfo("localhost", 80, socket.AF_INET)}))
'

same "python3 time.sleep, select, os pipes" python3 -c '
import os, select, time
t = time.monotonic(); time.sleep(0.05); print("slept enough:", time.monotonic() - t >= 0.05)
r, w = os.pipe()
print("select empty:", select.select([r], [], [], 0.02))
os.write(w, b"ping")
print("select ready:", select.select([r], [], [], 1)[0] == [r], os.read(r, 10))
p = select.poll(); p.register(r, select.POLLIN)
print("poll empty:", p.poll(20))
os.set_blocking(r, False)
try:
    os.read(r, 1)
except BlockingIOError as e:
    print("non-blocking read:", e.errno)
print("fds", r, w)
'

same "python3 subprocess" python3 -c '
import subprocess, sys
print(subprocess.run(["echo", "from echo"], capture_output=True).stdout)
print(subprocess.check_output(["sh", "-c", "cat; echo err >&2"], input=b"piped through cat", stderr=subprocess.STDOUT))
p = subprocess.Popen([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(p.communicate(b"child python", timeout=10), p.returncode)
'

[ $fails -eq 0 ] || exit 1
echo "passthru: all outputs identical"
