"""PyMySQL under guv: pure Python, so monkey_patch's green sockets already
make it cooperative. What this adds: a Timeout or kill during a query kills
the query on the server (KILL QUERY from a connection of its own, in a
green thread of its own, since a killed green thread's every later wait
fails), where the server would otherwise run it to its end. The
interrupted connection is closed: its reply stream stopped mid-way."""
import pymysql
from pymysql import connections

from ..greenthread import spawn_n

_saved = None


def _query(self, sql, unbuffered=False):
    try:
        return _saved(self, sql, unbuffered)
    except pymysql.err.Error:
        raise
    except BaseException:
        thread_id = self.server_thread_id[0] if self.server_thread_id else None
        params = dict(host=self.host, port=self.port, user=self.user, password=self.password,
                      unix_socket=self.unix_socket, connect_timeout=5)
        self._force_close()
        if thread_id is not None:
            spawn_n(_kill_query, params, thread_id)
        raise


def _kill_query(params, thread_id):
    try:
        conn = pymysql.connect(**params)
    except pymysql.err.Error:
        return  # the server is gone too: nothing runs there
    try:
        with conn.cursor() as cur:
            cur.execute("KILL QUERY %s", (thread_id,))
    except pymysql.err.Error:
        pass  # the query ended meanwhile (unknown thread): nothing to stop
    finally:
        conn.close()


def enable():
    global _saved
    if _saved is None:
        _saved, connections.Connection.query = connections.Connection.query, _query


def disable():
    global _saved
    if _saved is not None:
        connections.Connection.query, _saved = _saved, None


def enabled():
    return _saved is not None
