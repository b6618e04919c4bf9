"""wsgi.input: the request body, read from the connection's buffer and
socket, framed by Content-Length or chunked transfer coding. A body that
breaks its framing raises BadBody, which ends the connection with 400."""
from ._head import HttpError

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_MAX_CHUNK_LINE = 4096
_RECV = 65536


class BadBody(HttpError, IOError):
    """The body broke its framing (a bad chunk size, or the client closed early)."""

    def __init__(self, reason, status=400):
        super().__init__(status, reason)


class Reader:
    """The connection's receive buffer: bytes received past what was consumed
    (the rest of a body, pipelined requests)."""

    __slots__ = ("sock", "buf")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        """Receive more; False at end of stream."""
        data = self.sock.recv(_RECV)
        if not data:
            return False
        self.buf += data
        return True

    def take(self, n):
        """Up to n bytes (at least one unless the stream ended)."""
        buf = self.buf
        if not buf and not self.fill():
            return b""
        buf = self.buf
        if len(buf) <= n:
            self.buf = b""
            return buf
        self.buf = buf[n:]
        return buf[:n]

    def line(self, limit):
        """Bytes up to and including the next LF, at most `limit` bytes."""
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0 and i < limit:
                line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                return line
            if len(self.buf) >= limit:
                line, self.buf = self.buf[:limit], self.buf[limit:]
                return line
            start = len(self.buf)
            if not self.fill():
                line, self.buf = self.buf, b""
                return line


class Input:
    """wsgi.input: read(size), readline(size), readlines(hint), iteration."""

    def __init__(self, reader, length, chunked, continue_sock=None):
        self._reader = reader
        self._left = length or 0  # bytes left: of the body, or of the current chunk
        self._chunked = chunked
        self._done = not chunked and not length
        self._continue_sock = continue_sock  # who to send "100 Continue" to before the first read
        self._in_chunk = False  # a chunk's data was started: its CRLF comes before the next size

    @property
    def finished(self):
        """Whether the whole body was read (so the next request can follow)."""
        return self._done

    @property
    def awaiting_continue(self):
        """Whether the client still waits for "100 Continue" (so sent no body yet)."""
        return self._continue_sock is not None

    def _start(self):
        sock, self._continue_sock = self._continue_sock, None
        sock.sendall(_CONTINUE)

    def _next_chunk(self):
        """Move to the next chunk; False after the last one (and its trailers)."""
        reader = self._reader
        if self._left == 0 and self._in_chunk:
            if reader.line(3) not in (b"\r\n", b"\n"):
                raise BadBody("chunk not followed by CRLF")
        line = reader.line(_MAX_CHUNK_LINE)
        if not line.endswith(b"\n"):
            raise BadBody("chunk size line too long or body ended")
        size = line.split(b";", 1)[0].strip()
        try:
            if not size or size.startswith((b"-", b"+", b"0x", b"0X")) or len(size) > 16:
                raise ValueError
            self._left = int(size, 16)
        except ValueError:
            raise BadBody(f"bad chunk size {size[:20]!r}") from None
        self._in_chunk = True
        if self._left == 0:
            while True:  # trailer fields, up to the blank line
                trailer = reader.line(_MAX_CHUNK_LINE)
                if not trailer.endswith(b"\n"):
                    raise BadBody("body ended in the trailers")
                if trailer in (b"\r\n", b"\n"):
                    break
            self._done = True
            return False
        return True

    def _read_some(self, n, line=False):
        """Up to n (> 0) bytes of the body, stopping after a LF when `line`.
        The client's failures (a reset, a body slower than socket_timeout)
        are BadBody: not the application's errors, so not 500s."""
        try:
            return self._receive(n, line)
        except BadBody:
            raise
        except TimeoutError:
            raise BadBody("body not received within socket_timeout", 408) from None
        except OSError as e:
            raise BadBody(f"connection failed in the body: {e}") from None

    def _receive(self, n, line):
        if self._continue_sock is not None:
            self._start()
        if self._done:
            return b""
        if self._left == 0 and not self._next_chunk():
            return b""
        n = min(n, self._left)
        data = self._reader.line(n) if line else self._reader.take(n)
        if not data:
            raise BadBody("client closed the connection before the end of the body")
        self._left -= len(data)
        if self._left == 0 and not self._chunked:
            self._done = True
        return data

    def read(self, size=-1):
        if size is None or size < 0:
            parts = []
            while True:
                data = self._read_some(_RECV)
                if not data:
                    return b"".join(parts)
                parts.append(data)
        parts = []
        while size > 0:
            data = self._read_some(size)
            if not data:
                break
            parts.append(data)
            size -= len(data)
        return b"".join(parts)

    def readline(self, size=-1):
        parts = []
        limit = size if size is not None and size >= 0 else None
        while limit is None or limit > 0:
            data = self._read_some(_RECV if limit is None else limit, line=True)
            if not data:
                break
            parts.append(data)
            if limit is not None:
                limit -= len(data)
            if data.endswith(b"\n"):
                break
        return b"".join(parts)

    def readlines(self, hint=-1):
        lines, total = [], 0
        for line in self:
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def discard(self, limit):
        """Read and drop what is left of the body, up to `limit` bytes;
        whether it all was (else the connection cannot carry another request)."""
        if self._continue_sock is not None:
            return False  # the client waits for 100 Continue: it sent no body
        while not self._done and limit > 0:
            data = self._read_some(min(limit, _RECV))
            limit -= len(data)
        return self._done
