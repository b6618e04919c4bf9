"""One client connection: read a request head, run the WSGI application,
write its response; again while the connection is kept alive (pipelined
requests are served in order from the buffer)."""
import sys
import time

from ._head import HttpError, parse_head
from ._input import BadBody, Input, Reader

_REASONS = {400: "Bad Request", 408: "Request Timeout", 414: "URI Too Long",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
            505: "HTTP Version Not Supported"}
# What is left of a body the application did not read, drained so that the
# connection can carry the next request; more than this closes it instead.
_MAX_DISCARD = 1 << 20
_NO_BODY_STATUS = ("1", "204", "304")


def error_response(status, body=None):
    body = (body or _REASONS[status]).encode() + b"\n"
    return (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("latin-1") + body


_date = [0, ""]


def http_date():
    """The Date header's value, formatted once a second."""
    now = int(time.time())
    if now != _date[0]:
        _date[0], _date[1] = now, time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))
    return _date[1]


class ClientGone(Exception):
    """The client closed or reset the connection while we were writing."""


class Connection:
    """Serves the requests of one client socket, one at a time."""

    def __init__(self, server, sock, addr):
        self.server = server
        self.sock = sock
        self.addr = addr
        tcp = isinstance(addr, tuple)
        self.remote_addr, self.remote_port = (str(addr[0]), str(addr[1])) if tcp else ("", "")
        self.reader = Reader(sock)
        self.idle = True  # waiting for a request head: stop() may close it
        self.served = False  # a request was answered: the next wait is keep-alive's
        # Per request:
        self.status = self.headers = None
        self.head_sent = False
        self.chunked = False
        self.keep_alive = False
        self.version = (1, 1)
        self.head_only = False
        self.sent = 0
        self.body = None

    # -- the request loop ---------------------------------------------------

    def run(self):
        server = self.server
        try:
            while not server.stopping:
                head = self.read_head()
                if head is None:
                    return
                if not self.handle(head):
                    return
                self.served = True
        except HttpError as e:
            self.send_error(e.status, str(e))
        except OSError:
            pass  # reset, broken pipe, timeout: nothing to answer
        except ClientGone:
            pass
        finally:
            self.sock.close()

    def read_head(self):
        """The next request head, or None when the client is done (closed,
        or idle past the timeout). Raises HttpError for one too large, or
        408 when it does not arrive whole within socket_timeout."""
        reader = self.reader
        server = self.server
        start = 0
        deadline = None
        self.idle = not reader.buf
        # A numeric keepalive is how long a kept-alive connection may wait for its next request.
        retimed = self.idle and self.served and server.keepalive_timeout is not None
        if retimed:
            self.sock.settimeout(server.keepalive_timeout)
        try:
            while True:
                buf = reader.buf
                if buf and buf[0] in (10, 13):
                    reader.buf = buf = buf.lstrip(b"\r\n")  # blank lines before a request are allowed
                    continue
                end = buf.find(b"\r\n\r\n", start)
                skip = 4
                if end < 0:
                    end = buf.find(b"\n\n", max(start - 1, 0))
                    skip = 2
                if 0 <= end <= server.max_header_size:
                    reader.buf = buf[end + skip:]
                    return buf[:end]
                if end > 0 or len(buf) > server.max_header_size:
                    first = buf.find(b"\n")
                    if first < 0 or first > server.max_request_line:
                        raise HttpError(414, "request line too long")
                    raise HttpError(431, "request header section too large")
                start = max(len(buf) - 3, 0)
                if buf and server.socket_timeout is not None:
                    # Part of a head is here: the rest must come before the deadline
                    # (a client trickling bytes would otherwise hold us for ever).
                    if deadline is None:
                        deadline = time.monotonic() + server.socket_timeout
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise HttpError(408, "request head not received in time")
                    self.sock.settimeout(left)
                try:
                    more = reader.fill()
                except TimeoutError:
                    if buf:
                        raise HttpError(408, "request head not received in time") from None
                    return None
                if not more:
                    if buf.strip():
                        raise HttpError(400, "connection closed in a request head")
                    return None
                self.idle = False
                if retimed:
                    self.sock.settimeout(server.socket_timeout)
                    retimed = False
        finally:
            self.idle = False
            if deadline is not None or retimed:
                self.sock.settimeout(server.socket_timeout)

    def handle(self, head):
        """Serve one request; whether the connection can carry another."""
        server = self.server
        environ = server.base_environ.copy()
        version, length, chunked, keep_alive, expect_continue = parse_head(head, environ)
        if not server.keepalive:
            keep_alive = False
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = self.remote_addr, self.remote_port
        body = Input(self.reader, length, chunked, self.sock if expect_continue else None)
        environ["wsgi.input"] = self.body = body
        self.status = self.headers = None
        self.head_sent = self.chunked = False
        self.keep_alive = keep_alive
        self.version = version
        self.head_only = environ["REQUEST_METHOD"] == "HEAD"
        self.sent = 0
        result = None
        try:
            result = server.app(environ, self.start_response)
            self.send_result(result)
        except ClientGone:
            raise  # not the application's error: run() closes the connection
        except BadBody as e:
            self.keep_alive = False
            if self.head_sent:
                return False
            raise HttpError(e.status, str(e)) from None
        except Exception:
            server.log_exception(environ)
            if self.head_sent:
                return False  # the response is cut short: the client sees it end early
            self.send_raw(error_response(500))
            return False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    server.log_exception(environ)
            if server.log_output:
                server.log_request(environ, self)
        if not self.keep_alive:
            return False
        try:
            return body.discard(_MAX_DISCARD)
        except HttpError:
            return False

    # -- the response -------------------------------------------------------

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        if type(status) is not str:
            raise TypeError(f"status must be a str, not {type(status).__name__}")
        self.status = status
        self.headers = headers
        return self.write

    def _head(self, body_length):
        """The response head for the headers the application gave, with the
        framing headers added: Content-Length when `body_length` is known,
        else chunked (HTTP/1.1) or close-delimited (HTTP/1.0)."""
        status = self.status
        if status is None:
            raise AssertionError("the application did not call start_response")
        lines = ["HTTP/1.1 ", status, "\r\n"]
        has_length = has_date = False
        for name, value in self.headers:
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
                raise ValueError(f"response header {name!r} contains a line break or a colon")
            low = name.lower()
            if low == "content-length":
                has_length = True
            elif low == "date":
                has_date = True
            elif low == "connection":
                if value.lower() == "close":
                    self.keep_alive = False
                continue  # we say it ourselves, below
            elif low == "transfer-encoding":
                continue  # the framing is ours
            lines += (name, ": ", value, "\r\n")
        if not has_length and not status.startswith(_NO_BODY_STATUS):
            if body_length is not None:
                lines += ("Content-Length: ", str(body_length), "\r\n")
            elif self.version >= (1, 1) and not self.head_only:
                self.chunked = True
                lines.append("Transfer-Encoding: chunked\r\n")
            elif not self.head_only:
                self.keep_alive = False  # the end of the body is the end of the connection
        if not has_date:
            lines += ("Date: ", http_date(), "\r\n")
        if self.server.stopping or self.body.awaiting_continue:
            self.keep_alive = False  # (a client waiting for 100 Continue sent no body to skip)
        if not self.keep_alive:
            lines.append("Connection: close\r\n")
        elif self.version < (1, 1):
            lines.append("Connection: keep-alive\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def write(self, data):
        """PEP 3333's write(): send `data` now (the head first, if not sent yet)."""
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"WSGI response data must be bytes, not {type(data).__name__}")
            data = bytes(data)
        if not self.head_sent:
            head = self._head(None)
            self.head_sent = True
            if self.head_only:
                self.send_raw(head)
                return
            if self.chunked and data:
                self.send_raw(b"%s%x\r\n%s\r\n" % (head, len(data), data))
            else:
                self.send_raw(head + data)
        elif self.head_only or not data:
            return
        elif self.chunked:
            self.send_raw(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.send_raw(data)
        self.sent += len(data)

    def send_result(self, result):
        if type(result) in (list, tuple) and not self.head_sent:
            # The whole body is here: one send, with its Content-Length.
            body = b"".join(result) if len(result) != 1 else result[0]
            if type(body) is not bytes:
                body = b"".join(bytes(part) for part in result)
            head = self._head(len(body))
            self.head_sent = True
            self.send_raw(head if self.head_only else head + body)
            self.sent = len(body)
            return
        for data in result:
            if data:
                self.write(data)
        if not self.head_sent:
            head = self._head(0 if type(result) in (list, tuple) else None)
            self.head_sent = True
            self.send_raw(head + (b"0\r\n\r\n" if self.chunked else b""))
        elif self.chunked and not self.head_only:
            self.send_raw(b"0\r\n\r\n")

    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise ClientGone(str(e)) from None

    def send_error(self, status, reason):
        self.server.log_bad_request(self.addr, status, reason)
        try:
            self.sock.sendall(error_response(status))
        except OSError:
            pass

