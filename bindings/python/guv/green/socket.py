"""Cooperative sockets. GreenSocket subclasses the standard socket class
(isinstance checks hold) and keeps its fd non-blocking underneath: a call
that would block waits in guv.trampoline for the fd instead, honouring the
socket's own timeout (settimeout) and any guv.Timeout. Name lookups run on
guv's offload threads; numeric addresses are resolved inline.

The module is also a whole green socket module, usable without
monkey_patch (`from guv.green import socket; socket.socket()`,
socket.create_connection, ...), while the process's own socket stays as it was."""
import errno as _errno
import os as _os
import socket as _socket_mod

from .. import _core
from ..greenthread import trampoline
from .._runtime import READ, WRITE
from . import _libguv, _namespace

_std = _socket_mod.socket
while getattr(_std, "_guv_green", False):  # guv.green.socket reloaded after patching
    _std = _std.__bases__[0]
_orig = {name: getattr(_socket_mod, name) for name in
         ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo")}
_timeout_error = _socket_mod.timeout
_CONNECTING = (_errno.EINPROGRESS, _errno.EALREADY, _errno.EWOULDBLOCK)


class GreenSocket(_std):
    """socket.socket whose blocking calls suspend only the calling green thread."""

    _guv_green = True

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        super().__init__(family, type, proto, fileno)
        # The C socket's own choice: the default timeout, or 0 for SOCK_NONBLOCK.
        self._timeout = _std.gettimeout(self)
        _std.setblocking(self, False)

    # The user's timeout lives here; the fd itself stays non-blocking (set
    # again each time, so that a closed fd raises as the C socket's would).
    def settimeout(self, value):
        if value is not None:
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
        _std.setblocking(self, False)
        self._timeout = value

    def gettimeout(self):
        return self._timeout

    @property
    def timeout(self):
        return self._timeout

    def setblocking(self, flag):
        _std.setblocking(self, False)
        self._timeout = None if flag else 0.0

    def getblocking(self):
        return self._timeout != 0.0

    def _deadline(self):
        return None if self._timeout is None else _core.now() + self._timeout

    def _wait(self, events, deadline):
        timeout = None
        if deadline is not None:
            timeout = deadline - _core.now()
            if timeout <= 0:
                raise _timeout_error("timed out")
        trampoline(self.fileno(), events, timeout, _timeout_error("timed out"))

    def _io(self, op, events, *args, **kwargs):
        if self._timeout == 0.0:
            return op(self, *args, **kwargs)
        deadline = self._deadline()
        while True:
            try:
                return op(self, *args, **kwargs)
            except BlockingIOError:
                self._wait(events, deadline)

    def sendall(self, data, flags=0):
        view = memoryview(data).cast("B")
        deadline = self._deadline()
        sent = 0
        while sent < len(view):
            try:
                sent += _std.send(self, view[sent:], flags)
            except BlockingIOError:
                if self._timeout == 0.0:
                    raise
                self._wait(WRITE, deadline)

    def accept(self):
        fd, addr = self._io(_std._accept, READ)
        sock = GreenSocket(self.family, self.type, self.proto, fileno=fd)
        if _socket_mod.getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        return sock, addr

    def connect(self, address):
        address = _resolve(self, address)
        if self._timeout == 0.0:
            return _std.connect(self, address)
        deadline = self._deadline()
        err = _std.connect_ex(self, address)
        if err in (0, _errno.EISCONN):
            return
        if err not in _CONNECTING:
            raise OSError(err, _os.strerror(err))
        self._wait(WRITE, deadline)
        err = self.getsockopt(_socket_mod.SOL_SOCKET, _socket_mod.SO_ERROR)
        if err:
            raise OSError(err, _os.strerror(err))

    def connect_ex(self, address):
        try:
            self.connect(address)
            return 0
        except _timeout_error:
            return _errno.EAGAIN
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno

    def _real_close(self, _ss=_socket_mod._socket.socket):
        # guv_close wakes a green thread still waiting on the fd (EBADF) and
        # drops guv's state for the number before the kernel reuses it.
        fd = _ss.detach(self)
        if fd >= 0:
            _core.close(fd)


def _waiting(name, events, flags_at):
    op = getattr(_std, name)

    def method(self, *args, **kwargs):
        flags = kwargs.get("flags", args[flags_at] if len(args) > flags_at else 0)
        if isinstance(flags, int) and flags & _MSG_DONTWAIT:
            return op(self, *args, **kwargs)  # the caller asked for EAGAIN rather than a wait
        return self._io(op, events, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = op.__doc__
    return method


_MSG_DONTWAIT = getattr(_socket_mod, "MSG_DONTWAIT", 0)
# Where each call takes its flags (sendto's only when it has three arguments).
for _name, _at in (("recv", 1), ("recv_into", 2), ("recvfrom", 1), ("recvfrom_into", 2), ("recvmsg", 2),
                   ("recvmsg_into", 2)):
    setattr(GreenSocket, _name, _waiting(_name, READ, _at))
for _name, _at in (("send", 1), ("sendto", 1), ("sendmsg", 2)):
    setattr(GreenSocket, _name, _waiting(_name, WRITE, _at))


def _is_numeric(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = host.partition("%")[0]
    for family in (_socket_mod.AF_INET, _socket_mod.AF_INET6):
        try:
            _socket_mod.inet_pton(family, host)
            return True
        except (OSError, ValueError):
            pass
    return False


def _resolve(sock, address):
    """A (host, port, ...) address with a name in it, resolved cooperatively:
    the C socket would call getaddrinfo itself, blocking the OS thread."""
    if sock.family not in (_socket_mod.AF_INET, _socket_mod.AF_INET6) or not isinstance(address, tuple):
        return address
    host = address[0]
    if not host or _is_numeric(host):
        return address
    info = getaddrinfo(host, address[1], sock.family, sock.type, sock.proto)
    return info[0][4][:2] + tuple(address[2:])


def _lookup(name, host, *args):
    if host is None or (isinstance(host, (str, bytes)) and (not host or _is_numeric(host))):
        return _orig[name](host, *args)
    if isinstance(host, str):
        # Encoded here: the first IDNA encoding imports encodings.idna, and an
        # import on an offload thread would contend for green import locks.
        host = host.encode("idna")
    return _libguv.offload(_orig[name], host, *args)


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    return _lookup("getaddrinfo", host, port, family, type, proto, flags)


def gethostbyname(hostname):
    return _lookup("gethostbyname", hostname)


def gethostbyname_ex(hostname):
    return _lookup("gethostbyname_ex", hostname)


def gethostbyaddr(ip_address):
    return _libguv.offload(_orig["gethostbyaddr"], ip_address)


def getnameinfo(sockaddr, flags):
    if not isinstance(sockaddr, tuple):
        # Checked here, as the C function does, and without this frame keeping
        # the argument alive in the traceback.
        del sockaddr
        raise TypeError("getnameinfo() argument 1 must be a tuple")
    return _libguv.offload(_orig["getnameinfo"], sockaddr, flags)


def patch(module):
    """socket, and everything in the module that makes one (create_connection,
    socketpair, fromfd, create_server), green: they look these names up at call time."""
    module.socket = GreenSocket
    module.getaddrinfo = getaddrinfo
    module.gethostbyname = gethostbyname
    module.gethostbyname_ex = gethostbyname_ex
    module.gethostbyaddr = gethostbyaddr
    module.getnameinfo = getnameinfo


# The green socket module: the stdlib's names, with its functions that make
# sockets or resolve names seeing the green ones.
socket = GreenSocket
_namespace.inherit(globals(), _socket_mod,
                   green_names=("socket", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
                                "getnameinfo"),
                   rebind=("create_connection", "create_server", "socketpair", "fromfd", "getfqdn"))
