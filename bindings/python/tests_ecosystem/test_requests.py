"""requests (urllib3 over the patched socket) against a slow local HTTP
server: http.server's ThreadingHTTPServer, whose threads are green threads."""
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from helpers import WAIT, parallel


class SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(WAIT)
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's 5 would drop 50 simultaneous SYNs
    daemon_threads = True


def test_requests_against_a_slow_http_server(spawn_server):
    server = Server(("127.0.0.1", 0), SlowHandler)
    spawn_server(server.serve_forever, 0.05)
    url = f"http://localhost:{server.server_address[1]}"
    try:
        got = parallel(f"requests {requests.__version__} GET",
                       lambda i: requests.get(f"{url}/item/{i}", timeout=10).json()["path"])
        assert got == [f"/item/{i}" for i in range(50)]
        # A request timeout still fires while the server is slow.
        t0 = time.monotonic()
        try:
            requests.get(f"{url}/slow", timeout=WAIT / 4)
            raise AssertionError("no timeout")
        except requests.exceptions.ReadTimeout:
            assert time.monotonic() - t0 < WAIT
    finally:
        server.shutdown()
        server.server_close()
