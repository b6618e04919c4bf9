"""A WSGI application on guv.wsgi, the original guv's README quickstart:

    python wsgi_app.py [PORT]            # default 8001; 0 picks a free port
    curl http://127.0.0.1:8001/          # Hello, World!
    curl -d 'some data' http://127.0.0.1:8001/echo

The same app from the command line: python -m guv.wsgi wsgi_app:app --bind 127.0.0.1:8001"""
import sys

import guv

guv.monkey_patch()

import guv.wsgi  # noqa: E402


def app(environ, start_response):
    if environ["PATH_INFO"] == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!\n"]


def main(port):
    server_sock = guv.listen(("127.0.0.1", port))
    print(f"serving on http://127.0.0.1:{server_sock.getsockname()[1]}", flush=True)
    guv.wsgi.serve(server_sock, app)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8001)
