"""guv.wsgi: a WSGI server (PEP 3333) on green threads.

    import guv; guv.monkey_patch()
    import guv.wsgi
    server_sock = guv.listen(("127.0.0.1", 8001))
    guv.wsgi.serve(server_sock, app)

Each connection is served by a green thread: HTTP/1.0 and 1.1, keep-alive
(HTTP/1.0's `Connection: keep-alive` too), pipelined requests, chunked
request bodies, `Expect: 100-continue` (answered when the application first
reads wsgi.input), HEAD. Responses get a Content-Length when the
application returns a list or tuple, else chunked transfer coding (or, for
HTTP/1.0, the end of the connection).

Bad input is answered and the connection closed: 400 for a malformed
request line, header, Content-Length or chunk, 414/431 for a request line or
header section over the limits, 501 for an unknown Transfer-Encoding, 505
for an HTTP version other than 1.0/1.1, 408 for a request head that does
not arrive within `socket_timeout` (a client that sends nothing is simply
dropped then) or a body that stalls longer than that. An application that raises gets a 500 and its traceback
logged. A client that goes away mid-response ends only its connection
(the application's iterable is closed, as always).

`python -m guv.wsgi module:app --bind HOST:PORT --concurrency N` serves an app
from the command line."""
import logging
import socket as _socket_mod
import sys
import time

from ..greenpool import GreenPool
from ..greenthread import getcurrent, sleep
from ..server import StopServe
from ._connection import Connection
from ._head import HttpError
from ._input import Input

DEFAULT_MAX_SIMULTANEOUS_REQUESTS = 1024
MAX_REQUEST_LINE = 8192
MAX_HEADER_SIZE = 65536

_log = logging.getLogger("guv.wsgi")


class FileWrapper:
    """wsgi.file_wrapper: iterates `filelike` in blocks, closes it with the response."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        close = getattr(filelike, "close", None)
        if close is not None:
            self.close = close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class Server:
    """A WSGI server on a listening socket; serve_forever() until stop().

    max_size: connections served at once (accepting waits beyond it).
    log: a logging.Logger or a file-like object for errors (tracebacks of
    applications that raised, bad requests) and, with log_output=True, one
    access line per request. keepalive: False (or 0) closes each connection
    after its response; a number is how many seconds a kept-alive connection
    may wait for its next request (else socket_timeout). socket_timeout: seconds a read or write may wait, and the
    most a request head may take to arrive (None: no limit).
    environ: extra keys for every request's environ."""

    def __init__(self, sock, app, max_size=DEFAULT_MAX_SIMULTANEOUS_REQUESTS, log=None, environ=None,
                 keepalive=True, socket_timeout=60.0, log_output=False, max_header_size=MAX_HEADER_SIZE,
                 max_request_line=MAX_REQUEST_LINE, url_scheme=None):
        if not getattr(sock, "_guv_green", False):
            # Its accept would block the whole OS thread, every green thread with it.
            raise TypeError(f"guv.wsgi needs a green listening socket (guv.listen, or a socket made after "
                            f"guv.monkey_patch()), not {type(sock).__module__}.{type(sock).__name__}")
        self.sock = sock
        self.app = app
        self.pool = GreenPool(max_size)
        self.keepalive = keepalive
        numeric = not isinstance(keepalive, bool) and isinstance(keepalive, (int, float))
        self.keepalive_timeout = float(keepalive) if numeric and keepalive > 0 else None
        self.socket_timeout = socket_timeout
        self.log = log if log is not None else _log
        self.log_output = log_output
        self.max_header_size = max_header_size
        self.max_request_line = max_request_line
        self.stopping = False
        self.connections = set()
        if url_scheme is None:
            url_scheme = "https" if hasattr(sock, "getpeercert") else "http"
        address = sock.getsockname()
        host, port = (address[0], str(address[1])) if isinstance(address, tuple) else (str(address), "")
        self.base_environ = {
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "guv.wsgi", "SCRIPT_NAME": "",
            "SERVER_NAME": host, "SERVER_PORT": port,
            "wsgi.version": (1, 0), "wsgi.url_scheme": url_scheme, "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "wsgi.input_terminated": True, "wsgi.file_wrapper": FileWrapper,
        }
        if environ:
            self.base_environ.update(environ)

    def serve_forever(self):
        """Accept and serve until stop() (or StopServe thrown into the caller),
        then let the requests in progress finish (see stop) and return."""
        sock = self.sock
        try:
            while not self.stopping:
                try:
                    conn, addr = sock.accept()
                except OSError:
                    if self.stopping:
                        break  # stop() closed the listening socket under us
                    raise
                if self.stopping:
                    conn.close()
                    break
                self.pool.spawn(self._serve_connection, conn, addr)
            self._drain()
        except StopServe:
            self.stopping = True
            self._close_idle()
            for gt in list(self.pool.coroutines_running):
                gt.kill(block=False)
        finally:
            sock.close()

    def _serve_connection(self, conn, addr):
        if self.socket_timeout is not None:
            conn.settimeout(self.socket_timeout)
        if conn.family in (_socket_mod.AF_INET, _socket_mod.AF_INET6):
            # A streamed response is several sends: Nagle would hold each small
            # one back until the client's delayed ACK (40 ms a response).
            conn.setsockopt(_socket_mod.IPPROTO_TCP, _socket_mod.TCP_NODELAY, 1)
        connection = Connection(self, conn, addr)
        connection.gt = getcurrent()
        self.connections.add(connection)
        try:
            connection.run()
        finally:
            self.connections.discard(connection)

    def stop(self, timeout=30.0):
        """Stop accepting; connections waiting for their next request are
        closed, requests in progress finish (their connections close after
        the response), for up to `timeout` seconds; then what is left is
        killed. serve_forever() returns when that is done."""
        self.stopping = True
        self._deadline = time.monotonic() + timeout
        self.sock.close()  # wakes serve_forever's accept
        self._close_idle()

    def _close_idle(self):
        for connection in list(self.connections):
            if connection.idle and connection.gt:
                connection.gt.kill(block=False)

    def _drain(self):
        deadline = getattr(self, "_deadline", time.monotonic() + 30.0)
        while self.pool.running() and time.monotonic() < deadline:
            self._close_idle()
            sleep(0.01)
        for gt in list(self.pool.coroutines_running):
            gt.kill(block=False)

    # -- logging ---------------------------------------------------------------

    def _write_log(self, level, message, exc_info=False):
        log = self.log
        if isinstance(log, logging.Logger):
            log.log(level, message, exc_info=exc_info)
        else:
            if exc_info:
                import traceback

                message += "\n" + traceback.format_exc().rstrip()
            log.write(message + "\n")

    def log_exception(self, environ):
        self._write_log(logging.ERROR, f"error in the application serving {environ.get('REQUEST_METHOD')} "
                                       f"{environ.get('REQUEST_URI')}", exc_info=True)

    def log_bad_request(self, addr, status, reason):
        client = addr[0] if isinstance(addr, tuple) else addr
        self._write_log(logging.INFO, f"{client}: {status} {reason}")

    def log_request(self, environ, connection):
        status = (connection.status or "000").split(" ", 1)[0]
        self._write_log(logging.INFO, f'{environ.get("REMOTE_ADDR", "-")} - - '
                                      f'[{time.strftime("%d/%b/%Y %H:%M:%S")}] '
                                      f'"{environ["REQUEST_METHOD"]} {environ["REQUEST_URI"]} '
                                      f'{environ["SERVER_PROTOCOL"]}" {status} {connection.sent}')


def serve(sock, app, **kw):
    """Serve WSGI application `app` on listening socket `sock` until the
    server is stopped (StopServe thrown into the caller; or build a Server
    and call its stop()). Keywords are Server's."""
    Server(sock, app, **kw).serve_forever()


server = serve  # the original guv's and eventlet's name

__all__ = ["serve", "server", "Server", "FileWrapper", "Input", "HttpError"]
