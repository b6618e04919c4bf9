"""boto3 (botocore over urllib3 over the patched socket) against moto_server,
a local S3-compatible server started here, behind a green proxy that holds
each request 0.2 s: the slow part is the network, as with a real S3."""
import os
import socket
import subprocess
import sys
import time

import boto3
import guv
import pytest
from botocore.config import Config

from helpers import WAIT, free_port, parallel, serve_forever, wait_for_port


@pytest.fixture(scope="module")
def moto_port():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def slow_proxy(upstream_port):
    """A connection handler forwarding to 127.0.0.1:upstream_port, holding
    every chunk from the client WAIT seconds before passing it on."""
    def pump(src, dst, delay):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle(client):
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
        back = guv.spawn(pump, upstream, client, 0)
        pump(client, upstream, WAIT)
        back.wait()
        client.close()
        upstream.close()
    return handle


def test_s3_get_object_through_a_slow_link(moto_port, spawn_server):
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    direct = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{moto_port}")
    direct.create_bucket(Bucket="guv-eco")
    for i in range(50):
        direct.put_object(Bucket="guv-eco", Key=f"k{i}", Body=b"object %d" % i)

    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    spawn_server(serve_forever, listener, slow_proxy(moto_port))
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
                      config=Config(max_pool_connections=50, retries={"max_attempts": 1}))
    t0 = time.monotonic()
    assert s3.head_bucket(Bucket="guv-eco")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert time.monotonic() - t0 >= WAIT * 0.9, "the proxy did not slow the request down"

    got = parallel(f"boto3 {boto3.__version__} S3 get_object (moto_server)",
                   lambda i: s3.get_object(Bucket="guv-eco", Key=f"k{i}")["Body"].read())
    assert got == [b"object %d" % i for i in range(50)]
