"""A gunicorn worker on guv green threads:

    gunicorn -k guv.GuvWorker --worker-connections 1000 app:app

Each worker process monkey-patches the standard library, accepts on its
listening sockets in a green thread each, and serves every connection in a
green thread of a GreenPool of `worker_connections` (accepting waits while
the pool is full). Keep-alive connections wait at most `keepalive` seconds
for their next request. On SIGTERM the worker stops accepting, lets the
requests in progress finish for up to `graceful_timeout` seconds, then
kills what is left."""
import os
import socket
import sys
import time

from gunicorn.sock import ssl_context
from gunicorn.workers.base_async import AsyncWorker

import guv
from guv import patcher


class GuvWorker(AsyncWorker):

    def patch(self):
        patcher.monkey_patch()
        # The master's listening sockets, made green (socket.socket is GreenSocket now).
        self.sockets = [socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach())
                        for s in self.sockets]

    def init_process(self):
        self.patch()
        super().init_process()

    def notify(self):
        super().notify()
        if self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            sys.exit(0)

    def timeout_ctx(self):
        return guv.Timeout(self.cfg.keepalive or None, False)

    def handle_quit(self, sig, frame):
        # The handler may block (it sleeps): run it as a green thread.
        guv.spawn(super().handle_quit, sig, frame)

    def handle_usr1(self, sig, frame):
        guv.spawn(super().handle_usr1, sig, frame)

    def handle(self, listener, client, addr):
        client.setblocking(True)  # accepted sockets inherit no timeout
        super().handle(listener, client, addr)

    def handle_request(self, listener_name, req, sock, addr):
        try:
            super().handle_request(listener_name, req, sock, addr)
        except (guv.GreenletExit, SystemExit):
            pass

    def _accept_loop(self, listener, pool):
        tls = ssl_context(self.cfg) if self.cfg.is_ssl else None
        while True:
            pool.sem.acquire()  # at most worker_connections connections at once
            pool.sem.release()
            try:
                client, addr = listener.accept()
            except OSError:
                if not self.alive:
                    return
                raise
            if tls is not None:
                client = tls.wrap_socket(client, server_side=True,
                                         do_handshake_on_connect=self.cfg.do_handshake_on_connect)
            pool.spawn_n(self.handle, listener, client, addr)

    def run(self):
        pools = []
        acceptors = []
        for listener in self.sockets:
            listener.setblocking(True)
            pool = guv.GreenPool(self.worker_connections)
            pools.append(pool)
            acceptors.append(guv.spawn(self._accept_loop, listener, pool))

        while self.alive:
            self.notify()
            guv.sleep(1.0)

        # Graceful shutdown: stop accepting, let the requests in progress end.
        for acceptor in acceptors:
            acceptor.kill()
        for listener in self.sockets:
            listener.close()
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while any(pool.running() for pool in pools) and time.monotonic() < deadline:
            self.notify()
            guv.sleep(0.1)
        if any(pool.running() for pool in pools):
            self.log.warning("Worker graceful timeout (pid:%s)", self.pid)
            for pool in pools:
                for gt in list(pool.coroutines_running):
                    gt.kill(block=False)
