"""A WSGI server in a green thread of the test process, and a raw HTTP
client over green sockets (so requests, pipelining and broken input are
written byte for byte)."""
import io

import guv
import guv.wsgi


class Running:
    def __init__(self, app, **kw):
        kw.setdefault("log", io.StringIO())
        self.log = kw["log"]
        self.listener = guv.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.server = guv.wsgi.Server(self.listener, app, **kw)
        self.gt = guv.spawn(self.server.serve_forever)

    def connect(self):
        return Client(guv.connect(("127.0.0.1", self.port)))

    def request(self, raw):
        """Send raw bytes on a new connection; everything received until the server closes it."""
        c = self.connect()
        c.sock.sendall(raw)
        return c.read_all()

    def stop(self):
        if not self.gt.dead:
            self.server.stop(timeout=1)
            self.gt.wait()

    def idle(self):
        """Wait until no connection is being served; whether that happened."""
        for _ in range(200):
            if not self.server.pool.running():
                return True
            guv.sleep(0.005)
        return False


class Client:
    def __init__(self, sock):
        self.sock = sock
        sock.settimeout(5)
        self.rfile = sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data)

    def read_all(self):
        data = self.rfile.read()
        self.close()
        return data

    def response(self, head_only=False):
        """(status, {header: value}, body) of the next response; None at EOF."""
        line = self.rfile.readline()
        if not line:
            return None
        status = int(line.split()[1])
        headers = {}
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if head_only or status == 100 or status in (204, 304):
            return status, headers, b""
        if "content-length" in headers:
            body = self.rfile.read(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read()
        return status, headers, body

    def closed_by_server(self):
        try:
            return self.rfile.read() == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.rfile.close()
        self.sock.close()


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!\n"]
