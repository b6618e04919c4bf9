"""The original guv's (and eventlet's) greenio names: a green socket class
usable without monkey_patch, and shutdown_safe.

    from guv.greenio import socket
    s = socket(); s.settimeout(1.0); s.connect(addr)   # socket.timeout after 1 s

settimeout is honoured by connect, accept, recv*, send* and sendall
(socket.timeout, i.e. TimeoutError); connect_ex returns the errno the
stdlib's would; makefile gives the stdlib's buffered files over it."""
import errno as _errno
import socket as _socket_mod

from .green.socket import GreenSocket
from .green.ssl import GreenSSLSocket
from .support import get_errno

socket = GreenSocket


def shutdown_safe(sock):
    """sock.shutdown(SHUT_RDWR), for plain and SSL sockets alike (and
    shutdown() for objects that take no argument), ignoring a socket that
    is already closed or not connected."""
    try:
        try:
            return sock.shutdown(_socket_mod.SHUT_RDWR)
        except TypeError:
            return sock.shutdown()
    except OSError as e:
        if get_errno(e) not in (_errno.ENOTCONN, _errno.EBADF, _errno.ENOTSOCK):
            raise


__all__ = ["socket", "GreenSocket", "GreenSSLSocket", "shutdown_safe"]
