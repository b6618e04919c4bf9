"""listen, connect, serve, StopServe and wrap_ssl: the original guv's (and
eventlet's) convenience calls for servers and clients, on green sockets
that need no monkey_patch.

    server = guv.listen(("127.0.0.1", 0))
    guv.serve(server, handle)           # handle(client_sock, addr) per connection
"""
import socket as _socket_mod
import sys
import warnings

from ._runtime import GreenletExit
from .event import Event
from .greenpool import GreenPool
from .greenthread import spawn
from .green.socket import GreenSocket
from .green import ssl as _green_ssl


class StopServe(Exception):
    """Raised by a handler (or thrown into the green thread running serve)
    to make serve() return."""


def listen(addr, family=_socket_mod.AF_INET, backlog=511, reuse_addr=True, reuse_port=None):
    """A green listening socket bound to `addr`. SO_REUSEADDR by default;
    SO_REUSEPORT when reuse_port is true, or None with a fixed port (as
    eventlet: on port 0 it would let another process share the random port)."""
    sock = GreenSocket(family, _socket_mod.SOCK_STREAM)
    try:
        if reuse_addr:
            sock.setsockopt(_socket_mod.SOL_SOCKET, _socket_mod.SO_REUSEADDR, 1)
        if family in (_socket_mod.AF_INET, _socket_mod.AF_INET6) and addr[1] == 0:
            if reuse_port:
                warnings.warn("listen on port 0 with SO_REUSEPORT lets another process share the port",
                              RuntimeWarning, stacklevel=2)
            reuse_port = False
        elif reuse_port is None:
            reuse_port = True
        if reuse_port and hasattr(_socket_mod, "SO_REUSEPORT"):
            sock.setsockopt(_socket_mod.SOL_SOCKET, _socket_mod.SO_REUSEPORT, 1)
        sock.bind(addr)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def connect(addr, family=_socket_mod.AF_INET, bind=None):
    """A green socket connected to `addr` (bound to `bind` first if given)."""
    sock = GreenSocket(family, _socket_mod.SOCK_STREAM)
    try:
        if bind is not None:
            sock.bind(bind)
        sock.connect(addr)
    except BaseException:
        sock.close()
        raise
    return sock


def wrap_ssl(sock, *args, **kw):
    """ssl.wrap_socket's interface (keyfile, certfile, server_side, cert_reqs,
    ssl_version, ca_certs, do_handshake_on_connect, suppress_ragged_eofs,
    ciphers), returning a green SSL socket: wrap_ssl(connect(addr)) or
    wrap_ssl(listen(addr), server_side=True)."""
    return _green_ssl.wrap_socket(sock, *args, **kw)


def _end_serve_on_error(done, fn):
    """fn(); StopServe from it makes serve return, another exception makes serve raise it."""
    try:
        fn()
        return
    except GreenletExit:
        return  # a killed handler ended its connection, not the server
    except StopServe:
        exc = None
    except Exception as e:
        exc = e
    if not done.ready():
        done.send(exc=exc)


def serve(sock, handle, concurrency=1000):
    """Accept on `sock` and run handle(client_sock, addr) in a green thread
    per connection, at most `concurrency` at once (accepting waits while
    they are all busy). The client socket is closed when handle returns.

    Returns when a handler raises StopServe, or when StopServe is thrown
    into the caller (gt.kill(StopServe)). Any other exception a handler
    raises ends serve too, raised by it: handlers catch what they expect."""
    pool = GreenPool(concurrency)
    done = Event()

    def finished(gt, conn):
        conn.close()
        _end_serve_on_error(done, gt.wait)

    def accept_forever():
        while True:
            conn, addr = sock.accept()
            pool.spawn(handle, conn, addr).link(finished, conn)

    acceptor = spawn(_end_serve_on_error, done, accept_forever)
    try:
        done.wait()
    except StopServe:
        pass
    finally:
        # Not waited for: a caller killed with StopServe would see it again in the wait.
        acceptor.kill(block=False)


__all__ = ["listen", "connect", "serve", "StopServe", "wrap_ssl"]
