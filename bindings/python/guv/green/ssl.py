"""Cooperative TLS. GreenSSLSocket puts GreenSocket between ssl.SSLSocket
and the standard socket class, keeps the fd non-blocking, and turns
SSLWantRead/WriteError into waits in guv.trampoline.

Patching sets SSLContext.sslsocket_class, the hook SSLContext.wrap_socket
reads at each call, and replaces no class ssl captured at import: so
patching after `import ssl`, after contexts were made, or in any order with
the socket patch gives the same result (gevent#1016 came from replacing
SSLContext itself). Only sockets wrapped before patching stay blocking."""
import ssl as _ssl

from .._runtime import READ, WRITE
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


def patch(module):
    module.SSLContext.sslsocket_class = GreenSSLSocket
