"""Cooperative TLS. GreenSSLSocket puts GreenSocket between ssl.SSLSocket
and the standard socket class, keeps the fd non-blocking, and turns
SSLWantRead/WriteError into waits in guv.trampoline.

Patching sets SSLContext.sslsocket_class, the hook SSLContext.wrap_socket
reads at each call, and replaces no class ssl captured at import: so
patching after `import ssl`, after contexts were made, or in any order with
the socket patch gives the same result (gevent#1016 came from replacing
SSLContext itself). Only sockets wrapped before patching stay blocking.

Without patching, the module is a whole green ssl module
(`from guv.green import ssl`): its SSLContext is a subclass whose
wrap_socket makes GreenSSLSockets, create_default_context makes one, and
wrap_socket keeps the interface ssl.wrap_socket had before 3.12."""
import ssl as _ssl

from .._runtime import READ, WRITE
from . import _namespace
from . import socket as _green_socket
from .socket import GreenSocket


class GreenSSLSocket(_ssl.SSLSocket, GreenSocket):
    """ssl.SSLSocket whose reads, writes and handshakes suspend only the caller."""

    def _ssl_io(self, fn, *args):
        deadline = self._deadline()
        while True:
            try:
                return fn(*args)
            except _ssl.SSLWantReadError:
                if self._timeout == 0.0:
                    raise
                self._wait(READ, deadline)
            except _ssl.SSLWantWriteError:
                if self._timeout == 0.0:
                    raise
                self._wait(WRITE, deadline)

    def read(self, len=1024, buffer=None):
        return self._ssl_io(super().read, len, buffer)

    def write(self, data):
        return self._ssl_io(super().write, data)

    def send(self, data, flags=0):
        if self._sslobj is None:
            return GreenSocket.send(self, data, flags)
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to send() on {self.__class__}")
        return self.write(data)

    def do_handshake(self, block=False):
        self._check_connected()
        timeout = self._timeout
        try:
            if timeout == 0.0 and block:
                self._timeout = None
            self._ssl_io(self._sslobj.do_handshake)
        finally:
            self._timeout = timeout

    def unwrap(self):
        if not self._sslobj:
            raise ValueError("No SSL wrapper around " + str(self))
        s = self._ssl_io(self._sslobj.shutdown)
        self._sslobj = None
        return s


class SSLContext(_ssl.SSLContext):
    """ssl.SSLContext whose wrap_socket returns a GreenSSLSocket."""

    sslsocket_class = GreenSSLSocket


SSLSocket = GreenSSLSocket
create_connection = _green_socket.create_connection
socket = GreenSocket


def wrap_socket(sock, keyfile=None, certfile=None, server_side=False, cert_reqs=_ssl.CERT_NONE,
                ssl_version=_ssl.PROTOCOL_TLS, ca_certs=None, do_handshake_on_connect=True,
                suppress_ragged_eofs=True, ciphers=None):
    """ssl.wrap_socket as it was before 3.12 removed it, green."""
    if server_side and not certfile:
        raise ValueError("certfile must be specified for server-side operations")
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    if ssl_version == _ssl.PROTOCOL_TLS:
        ssl_version = _ssl.PROTOCOL_TLS_SERVER if server_side else _ssl.PROTOCOL_TLS_CLIENT
    context = SSLContext(ssl_version)
    if ssl_version == _ssl.PROTOCOL_TLS_CLIENT:
        context.check_hostname = False  # ssl.wrap_socket never checked it
    context.verify_mode = cert_reqs
    if ca_certs:
        context.load_verify_locations(ca_certs)
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    if ciphers:
        context.set_ciphers(ciphers)
    return context.wrap_socket(sock=sock, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect,
                               suppress_ragged_eofs=suppress_ragged_eofs)


def patch(module):
    module.SSLContext.sslsocket_class = GreenSSLSocket


_ns = _namespace.inherit(globals(), _ssl, green_names=("SSLContext", "create_connection", "socket"),
                         rebind=("create_default_context", "_create_unverified_context", "get_server_certificate"))
_create_default_https_context = _ns["_create_default_https_context"] = create_default_context
_create_stdlib_context = _ns["_create_stdlib_context"] = _create_unverified_context
