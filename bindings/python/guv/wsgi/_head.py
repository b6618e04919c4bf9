"""Parsing a request head (request line and header fields, RFC 9112) into
a WSGI environ. Pure Python: each header name seen is validated once and
its environ key cached, so a keep-alive stream of similar requests costs a
split and a few dict lookups per request."""
import re
from urllib.parse import unquote_to_bytes

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# No control characters but the line ends' (checked once over the whole head).
_BAD_CHAR = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_VERSIONS = {b"HTTP/1.1": (1, 1), b"HTTP/1.0": (1, 0)}


class HttpError(Exception):
    """The request cannot be served: answer `status` and close."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


# Header name (bytes, as received) -> environ key, or None for a name to drop.
_keys = {}
_SPECIAL = {"CONTENT_TYPE", "CONTENT_LENGTH"}


def _environ_key(name):
    key = _keys.get(name)
    if key is None and name not in _keys:
        if not _TOKEN.match(name):
            raise HttpError(400, f"bad header name {name[:40]!r}")
        text = name.decode("ascii")
        # A name with "_" would share its environ key with the "-" one: a
        # proxy that checks one and lets the other through could be fooled.
        key = None if "_" in text else text.upper().replace("-", "_")
        if key is not None and key not in _SPECIAL:
            key = "HTTP_" + key
        if len(_keys) < 4096:
            _keys[name] = key
    return key


def parse_head(head, environ):
    """Fill `environ` from `head` (the bytes before the blank line, CRLF or
    LF line ends). Returns (version tuple, content length or None, chunked,
    keep-alive wanted, expects 100-continue). Raises HttpError."""
    if _BAD_CHAR.search(head):
        raise HttpError(400, "control character in the request head")
    if b"\r" in head:
        crlf = head.count(b"\r\n")
        if head.count(b"\r") != crlf or head.count(b"\n") != crlf:
            raise HttpError(400, "bare CR or LF in a CRLF request head")
        lines = head.split(b"\r\n")
    else:
        lines = head.split(b"\n")
    request_line = lines[0]
    parts = request_line.split(b" ")
    if len(parts) != 3:
        raise HttpError(400, f"bad request line {request_line[:80]!r}")
    method, target, version = parts
    if not _TOKEN.match(method):
        raise HttpError(400, f"bad method {method[:40]!r}")
    http_version = _VERSIONS.get(version)
    if http_version is None:
        if re.match(rb"HTTP/\d\.\d\Z", version):
            raise HttpError(505, f"HTTP version {version!r} not supported")
        raise HttpError(400, f"bad HTTP version {version[:40]!r}")
    if not target:
        raise HttpError(400, "bad request target")
    if target[0] != 47:  # b"/"
        if target.startswith((b"http://", b"https://")):
            # absolute-form (what a proxy receives): the path is what follows the authority
            slash = target.find(b"/", target.index(b"//") + 2)
            target = target[slash:] if slash >= 0 else b"/"
        elif not (target == b"*" and method == b"OPTIONS"):
            raise HttpError(400, "bad request target")
    path, _, query = target.partition(b"?")
    environ["REQUEST_METHOD"] = method.decode("ascii")
    environ["RAW_PATH_INFO"] = raw = path.decode("latin-1")
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1") if b"%" in path else raw
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["REQUEST_URI"] = target.decode("latin-1")
    environ["SERVER_PROTOCOL"] = version.decode("ascii")

    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise HttpError(400, f"bad header line {line[:80]!r}")
        key = _environ_key(name)  # raises on whitespace before the colon, folded lines, ...
        if key is None:
            continue
        text = value.strip(b" \t").decode("latin-1")
        if key in environ:
            if key == "CONTENT_LENGTH" and environ[key] != text:
                raise HttpError(400, "conflicting Content-Length headers")
            text = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + text
        environ[key] = text

    length = environ.get("CONTENT_LENGTH")
    chunked = False
    if length is not None:
        if length.isdigit() and length.isascii():
            length = int(length)
        else:
            # "5,5" after merging equal duplicates is allowed; anything else is not
            values = set(length.split(","))
            if len(values) != 1 or not (length := values.pop().strip()).isdigit() or not length.isascii():
                raise HttpError(400, "bad Content-Length")
            length = int(length)
            environ["CONTENT_LENGTH"] = str(length)
    coding = environ.get("HTTP_TRANSFER_ENCODING")
    if coding is not None:
        if length is not None or http_version < (1, 1):
            # Both framings at once is how requests are smuggled past a proxy.
            raise HttpError(400, "Transfer-Encoding with Content-Length or in HTTP/1.0")
        if coding.lower() != "chunked":
            raise HttpError(501, f"Transfer-Encoding {coding[:40]!r} not implemented")
        chunked = True
    connection = environ.get("HTTP_CONNECTION")
    if connection is None:
        keep_alive = http_version >= (1, 1)
    else:
        tokens = connection.lower()
        keep_alive = "close" not in tokens and (http_version >= (1, 1) or "keep-alive" in tokens)
    expect = environ.get("HTTP_EXPECT")
    continue_ = expect is not None and expect.lower() == "100-continue" and http_version >= (1, 1)
    return http_version, length, chunked, keep_alive, continue_
