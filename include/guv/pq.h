/*
 * guv/pq.h: cooperative libpq for guv green threads.
 *
 * Header-only: include it after <libpq-fe.h> is reachable and link your
 * program with -lpq; libguv itself never links libpq. Each guv_PQ* call
 * below behaves as the libpq call of the same name, except that where libpq
 * would block the OS thread it suspends only the calling green thread, in
 * guv_trampoline() on PQsocket(conn). Called from main (outside any green
 * thread) the waits run the hub, as every blocking guv call does.
 *
 * Deadlines and kills. Every wait honours guv_timeout_begin() and guv_kill().
 * When a wait fails in the middle of a command (ETIMEDOUT, ECANCELED, or
 * EDEADLK/EPERM where the caller may not switch), the command is cancelled
 * on the server (PQcancel) and its results are drained; both run on guv's
 * offload pool, so the hub keeps running, and take at most
 * GUV_PQ_RESCUE_SECONDS. Then:
 *   - the call returns what libpq would have returned for the cancelled
 *     command, normally a PGRES_FATAL_ERROR result whose SQLSTATE
 *     (PQresultErrorField(res, PG_DIAG_SQLSTATE)) is "57014"
 *     (query_canceled), and errno says why (ETIMEDOUT, ECANCELED, ...);
 *   - the connection is usable again (PQstatus CONNECTION_OK; inside a
 *     transaction block it is PQTRANS_INERROR, as after any error);
 *   - if the server did not answer within GUV_PQ_RESCUE_SECONDS, the socket
 *     is shut down instead: PQstatus(conn) is CONNECTION_BAD and the result
 *     is a PGRES_FATAL_ERROR carrying PQerrorMessage(conn).
 * A connect that is interrupted returns NULL with errno set (PQstatus(NULL)
 * is CONNECTION_BAD and PQfinish(NULL) is a no-op, so usual code copes).
 * After the other calls errno is 0 unless a wait was interrupted.
 *
 * Single-row mode and other PQsend* calls: send with libpq on a connection
 * from guv_PQconnectdb (it is in non-blocking mode), then collect every
 * result with guv_PQgetResult(), which also flushes what is unsent.
 * Pipeline mode is not supported: the rescue drains one command only.
 *
 * Not cooperative: PQconnectStart's host name lookup runs on the offload
 * pool (cooperative, but uninterruptible); libpq's connect_timeout is not
 * applied (use guv_timeout_begin); PQcancel runs on the offload pool.
 */

#ifndef GUV_PQ_H
#define GUV_PQ_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libpq-fe.h>

#include <guv.h>

/* Casts that C++ code built with -Wold-style-cast accepts. */
#ifdef __cplusplus
#define GUV_PQ__CAST(type, value) (static_cast<type>(value))
#else
#define GUV_PQ__CAST(type, value) ((type)(value))
#endif

#ifndef GUV_PQ_RESCUE_SECONDS
/* How long an interrupted command may take to be cancelled and drained. */
#define GUV_PQ_RESCUE_SECONDS 2.0
#endif

/* ---- Waits ---- */

/* Waits for `events` on the connection's current socket; -1/errno as guv_trampoline. */
static inline int guv_pq__wait(PGconn *conn, int events)
{
    int fd = PQsocket(conn);
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    return guv_trampoline(fd, events);
}

/* Sends what libpq has buffered. 0 when sent, 1 when a wait failed (errno
 * set), -1 when libpq failed (its message is in PQerrorMessage). */
static inline int guv_pq__flush(PGconn *conn)
{
    for (;;) {
        int r = PQflush(conn);
        if (r <= 0)
            return r;
        /* The server may be sending while we send: read too, or both sides stall. */
        int ready = guv_pq__wait(conn, GUV_READ | GUV_WRITE);
        if (ready < 0)
            return 1;
        if ((ready & GUV_READ) && !PQconsumeInput(conn))
            return -1;
    }
}

/* Reads until PQgetResult would not block. 0, 1 or -1 as guv_pq__flush. */
static inline int guv_pq__await(PGconn *conn)
{
    int r = guv_pq__flush(conn);
    if (r != 0)
        return r;
    while (PQisBusy(conn)) {
        if (guv_pq__wait(conn, GUV_READ) < 0)
            return 1;
        if (!PQconsumeInput(conn))
            return -1;
    }
    return 0;
}

/* ---- Rescue of an interrupted command (runs on the offload pool) ---- */

struct guv_pq__rescue {
    PGconn *conn;
    PGresult *last;    /* the last result of the cancelled command */
    int broken;        /* the server did not answer in time */
};

/* One poll(2) on the socket; 0 when time is up or the socket is gone. */
static inline int guv_pq__poll(PGconn *conn, short events, double until)
{
    struct pollfd p;
    p.fd = PQsocket(conn);
    p.events = events;
    p.revents = 0;
    double left = until - guv_now();
    if (p.fd < 0 || left <= 0)
        return 0;
    int ms = GUV_PQ__CAST(int, left * 1000) + 1;
    return poll(&p, 1, ms > 250 ? 250 : ms) >= 0;
}

static inline void guv_pq__cancel(PGconn *conn)
{
    char err[256];
    PGcancel *c = PQgetCancel(conn);
    if (c) {
        (void)PQcancel(c, err, sizeof err);
        PQfreeCancel(c);
    }
}

/* Keeps the last result of the command in `r->last`: 1 once all are in,
 * -1 when more input is needed, 0 when the command cannot be drained. */
static inline int guv_pq__drain_ready(struct guv_pq__rescue *r)
{
    while (!PQisBusy(r->conn)) {
        PGresult *res = PQgetResult(r->conn);
        if (!res)
            return 1;
        ExecStatusType st = PQresultStatus(res);
        PQclear(r->last);
        r->last = res;
        if (st == PGRES_COPY_IN && PQputCopyEnd(r->conn, "canceled by guv") != 1)
            return 0;
        if (st == PGRES_COPY_OUT) {
            char *buf;
            int n;
            while ((n = PQgetCopyData(r->conn, &buf, 1)) > 0)
                PQfreemem(buf);
            if (n == 0)
                return -1;
        }
        if (st == PGRES_COPY_BOTH)
            return 0; /* a replication stream has no end to drain to */
    }
    return -1;
}

/* Finishes sending, cancels on the server and drains: blocking, so it runs
 * on an offload thread while the green thread waits. Cancels are repeated
 * because one that reaches the backend before the command starts is ignored. */
static inline void guv_pq__rescue_job(void *arg)
{
    struct guv_pq__rescue *r = GUV_PQ__CAST(struct guv_pq__rescue *, arg);
    double until = guv_now() + GUV_PQ_RESCUE_SECONDS, next_cancel = 0;
    while (PQflush(r->conn) == 1) {
        if (!guv_pq__poll(r->conn, POLLOUT, until))
            goto broken;
    }
    for (;;) {
        if (!PQconsumeInput(r->conn))
            goto broken;
        int done = guv_pq__drain_ready(r);
        if (done == 1)
            return;
        if (done == 0)
            goto broken;
        if (guv_now() >= next_cancel) {
            guv_pq__cancel(r->conn);
            next_cancel = guv_now() + 0.5;
        }
        if (!guv_pq__poll(r->conn, POLLIN, until))
            goto broken;
    }
broken:
    /* libpq reads EOF and marks itself CONNECTION_BAD with its own message. */
    (void)shutdown(PQsocket(r->conn), SHUT_RDWR);
    (void)PQconsumeInput(r->conn);
    r->broken = 1;
}

/* After a failed wait (errno set): cancels, drains and returns the
 * command's last result (or an error result when the connection broke),
 * leaving errno as the wait set it. */
static inline PGresult *guv_pq__rescued(PGconn *conn)
{
    int err = errno;
    struct guv_pq__rescue r = { conn, NULL, 0 };
    if (guv_offload(guv_pq__rescue_job, &r) < 0)
        guv_pq__rescue_job(&r); /* no offload thread: block rather than lose the connection */
    if (r.broken || !r.last) {
        PQclear(r.last);
        r.last = PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR);
    }
    errno = err;
    return r.last;
}

/* ---- Results ---- */

/* The next result; after a failed wait, the rescued one, with the wait's
 * errno in *err. */
static inline PGresult *guv_pq__next(PGconn *conn, int *err)
{
    int r = guv_pq__await(conn);
    if (r == 1) {
        *err = errno;
        return guv_pq__rescued(conn);
    }
    /* r == -1: libpq failed reading. If that dropped the connection, its
     * message is the error, as PQexec would report it: PQgetResult would
     * first wait on the closed socket and add "invalid socket" to it. */
    if (r == -1 && PQstatus(conn) == CONNECTION_BAD)
        return PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR);
    return PQgetResult(conn);
}

/* As PQgetResult: the next result of the command in progress, or NULL.
 * errno is nonzero only when a wait was interrupted (see the top). */
static inline PGresult *guv_PQgetResult(PGconn *conn)
{
    int err = 0;
    if (!conn)
        return NULL;
    PGresult *res = guv_pq__next(conn, &err);
    errno = err;
    return res;
}

/* Collects the results of a sent command as PQexec does: the last one,
 * stopping at COPY (the caller continues with the guv_PQ*Copy* calls). */
static inline PGresult *guv_pq__exec_finish(PGconn *conn)
{
    PGresult *last = NULL, *res;
    int err = 0;
    while ((res = guv_pq__next(conn, &err)) != NULL) {
        PQclear(last);
        last = res;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH
            || PQstatus(conn) == CONNECTION_BAD)
            break;
    }
    errno = err;
    return last;
}

/* guv's waits need a socket that never blocks on send. */
static inline int guv_pq__nonblocking(PGconn *conn)
{
    return conn && (PQisnonblocking(conn) || PQsetnonblocking(conn, 1) == 0);
}

/* ---- Commands ---- */

/* As PQexec: NULL only when the command could not be sent (see PQerrorMessage). */
static inline PGresult *guv_PQexec(PGconn *conn, const char *query)
{
    errno = 0;
    if (!guv_pq__nonblocking(conn) || !PQsendQuery(conn, query))
        return NULL;
    return guv_pq__exec_finish(conn);
}

/* As PQexecParams. */
static inline PGresult *guv_PQexecParams(PGconn *conn, const char *command, int nParams,
                                         const Oid *paramTypes, const char *const *paramValues,
                                         const int *paramLengths, const int *paramFormats,
                                         int resultFormat)
{
    errno = 0;
    if (!guv_pq__nonblocking(conn)
        || !PQsendQueryParams(conn, command, nParams, paramTypes, paramValues, paramLengths,
                              paramFormats, resultFormat))
        return NULL;
    return guv_pq__exec_finish(conn);
}

/* As PQprepare. */
static inline PGresult *guv_PQprepare(PGconn *conn, const char *stmtName, const char *query,
                                      int nParams, const Oid *paramTypes)
{
    errno = 0;
    if (!guv_pq__nonblocking(conn) || !PQsendPrepare(conn, stmtName, query, nParams, paramTypes))
        return NULL;
    return guv_pq__exec_finish(conn);
}

/* As PQexecPrepared. */
static inline PGresult *guv_PQexecPrepared(PGconn *conn, const char *stmtName, int nParams,
                                           const char *const *paramValues, const int *paramLengths,
                                           const int *paramFormats, int resultFormat)
{
    errno = 0;
    if (!guv_pq__nonblocking(conn)
        || !PQsendQueryPrepared(conn, stmtName, nParams, paramValues, paramLengths, paramFormats,
                                resultFormat))
        return NULL;
    return guv_pq__exec_finish(conn);
}

/* ---- COPY ---- */

/* As PQputCopyData on a blocking connection: 1 when queued, -1 on error
 * (PQerrorMessage; errno set when a wait failed: the COPY is then ended
 * with an error and the connection drained, see the top of this file). */
static inline int guv_PQputCopyData(PGconn *conn, const char *buffer, int nbytes)
{
    int r;
    while ((r = PQputCopyData(conn, buffer, nbytes)) == 0) {
        if (guv_pq__wait(conn, GUV_WRITE) < 0) {
            PQclear(guv_pq__rescued(conn));
            return -1;
        }
    }
    return r;
}

/* As PQputCopyEnd, also flushing: 1 when sent, -1 on error. Then collect
 * the COPY's result with guv_PQgetResult. */
static inline int guv_PQputCopyEnd(PGconn *conn, const char *errormsg)
{
    int r;
    while ((r = PQputCopyEnd(conn, errormsg)) == 0) {
        if (guv_pq__wait(conn, GUV_WRITE) < 0)
            goto interrupted;
    }
    if (r < 0)
        return -1;
    r = guv_pq__flush(conn);
    if (r == 1)
        goto interrupted;
    return r == 0 ? 1 : -1;
interrupted:
    PQclear(guv_pq__rescued(conn));
    return -1;
}

/* As PQgetCopyData with async = 0: a row's length (free *buffer with
 * PQfreemem), -1 at the end of the COPY (then guv_PQgetResult), -2 on error. */
static inline int guv_PQgetCopyData(PGconn *conn, char **buffer)
{
    int r;
    while ((r = PQgetCopyData(conn, buffer, 1)) == 0) {
        if (guv_pq__wait(conn, GUV_READ) < 0) {
            PQclear(guv_pq__rescued(conn));
            return -2;
        }
        if (!PQconsumeInput(conn))
            return -2;
    }
    return r;
}

/* ---- Connections ---- */

struct guv_pq__start {
    const char *conninfo;
    const char *const *keywords, *const *values;
    int expand_dbname;
    PGconn *conn;
};

/* PQconnectStart may resolve a host name with getaddrinfo: off the hub. */
static inline void guv_pq__start_job(void *arg)
{
    struct guv_pq__start *s = GUV_PQ__CAST(struct guv_pq__start *, arg);
    s->conn = s->conninfo ? PQconnectStart(s->conninfo)
                          : PQconnectStartParams(s->keywords, s->values, s->expand_dbname);
}

/* Drives PQconnectPoll to the end, re-reading the socket at every step (it
 * changes when libpq moves on to the next host or address). */
static inline PGconn *guv_pq__connect(struct guv_pq__start *s)
{
    if (guv_offload(guv_pq__start_job, s) < 0)
        guv_pq__start_job(s);
    PGconn *conn = s->conn;
    if (!conn || PQstatus(conn) == CONNECTION_BAD)
        return conn;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (guv_pq__wait(conn, st == PGRES_POLLING_READING ? GUV_READ : GUV_WRITE) < 0) {
            int err = errno;
            PQfinish(conn);
            errno = err;
            return NULL;
        }
        st = PQconnectPoll(conn);
    }
    if (st == PGRES_POLLING_OK)
        (void)PQsetnonblocking(conn, 1);
    return conn;
}

/* As PQconnectdb: check PQstatus. NULL when out of memory or when the
 * connect was interrupted (errno ETIMEDOUT, ECANCELED, ...). */
static inline PGconn *guv_PQconnectdb(const char *conninfo)
{
    struct guv_pq__start s = { conninfo, NULL, NULL, 0, NULL };
    return guv_pq__connect(&s);
}

/* As PQconnectdbParams, with guv_PQconnectdb's NULL cases. */
static inline PGconn *guv_PQconnectdbParams(const char *const *keywords, const char *const *values,
                                            int expand_dbname)
{
    struct guv_pq__start s = { NULL, keywords, values, expand_dbname, NULL };
    return guv_pq__connect(&s);
}

#endif /* GUV_PQ_H */
