"""python -m guv.wsgi module:app [--bind HOST:PORT] [--concurrency N]

Serves WSGI application `app` of module `module` (monkey-patched first, so
the application's own I/O is cooperative) until SIGTERM or Ctrl-C, which
stop it gracefully: requests in progress finish."""
import argparse
import importlib
import os
import signal
import sys

import guv
import guv.wsgi


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m guv.wsgi", description="Serve a WSGI application on guv.")
    parser.add_argument("app", help="module:callable, e.g. myproject.wsgi:application")
    parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT to listen on (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=1000, help="connections served at once")
    parser.add_argument("--backlog", type=int, default=511)
    parser.add_argument("--socket-timeout", type=float, default=60.0)
    parser.add_argument("--access-log", action="store_true", help="one line per request on stderr")
    parser.add_argument("--no-patch", action="store_true", help="do not monkey_patch the standard library")
    args = parser.parse_args(argv)

    if not args.no_patch:
        guv.monkey_patch()

    module_name, _, attr = args.app.partition(":")
    sys.path.insert(0, os.getcwd())
    app = getattr(importlib.import_module(module_name), attr or "application")
    host, _, port = args.bind.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = guv.green.socket.AF_INET6 if ":" in host else guv.green.socket.AF_INET
    sock = guv.listen((host, int(port)), family=family, backlog=args.backlog)
    server = guv.wsgi.Server(sock, app, max_size=args.concurrency, socket_timeout=args.socket_timeout,
                             log_output=args.access_log, log=sys.stderr)

    def stop(signum, frame):
        guv.spawn(server.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound = sock.getsockname()
    print(f"guv.wsgi: listening on http://{bound[0]}:{bound[1]}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
