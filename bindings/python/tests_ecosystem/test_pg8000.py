"""pg8000 (pure Python, over TLS when the server offers it, as by default)
against the PostgreSQL at 127.0.0.1:5432, db test."""
import os
import ssl

import pg8000.native

from helpers import WAIT, parallel

PG = dict(kv.split("=", 1) for kv in os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test").split())


# One context for all connections: pg8000's default makes one per connection,
# and loading the system CAs costs 60 ms of CPU each time.
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE


def connect(tls=TLS):
    return pg8000.native.Connection(ssl_context=tls, user=PG.get("user", "postgres"), host=PG.get("host", "127.0.0.1"),
                                    port=int(PG.get("port", 5432)), database=PG.get("dbname", "test"),
                                    timeout=10)


def test_pg_sleep():
    try:
        connect().close()
        tls = TLS
    except pg8000.exceptions.InterfaceError as e:  # a server without TLS: plain TCP
        assert "SSL" in str(e), e
        tls = False

    def query(i):
        conn = connect(tls)
        try:
            return conn.run("SELECT CAST(:i AS int), pg_sleep(:s)", i=i, s=WAIT)[0][0]
        finally:
            conn.close()

    assert parallel(f"pg8000 {pg8000.__version__} pg_sleep ({'TLS' if tls else 'plain'})", query) == list(range(50))
