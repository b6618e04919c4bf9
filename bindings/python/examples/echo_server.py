"""An echo server: guv.serve runs handle() in a green thread per connection.

    python echo_server.py [PORT]         # default 8001; 0 picks a free port
    nc 127.0.0.1 8001

Sending "quit" ends the connection; "shutdown" stops the server (StopServe)."""
import sys

import guv


def handle(sock, addr):
    print(f"{addr[0]}:{addr[1]} connected", flush=True)
    rfile = sock.makefile("rb")
    for line in rfile:
        if line.strip() == b"quit":
            break
        if line.strip() == b"shutdown":
            raise guv.StopServe()
        sock.sendall(line)
    print(f"{addr[0]}:{addr[1]} gone", flush=True)


def main(port):
    server = guv.listen(("127.0.0.1", port))
    print(f"echo server listening on 127.0.0.1:{server.getsockname()[1]}", flush=True)
    guv.serve(server, handle)
    print("stopped", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8001)
