/*
 * guv/mysql.h: cooperative MariaDB Connector/C for guv green threads.
 *
 * Header-only: link your program with -lmariadb (pkg-config libmariadb);
 * libguv itself never links the connector. Each guv_mysql_* call behaves as
 * the connector's call of the same name, but drives the connector's
 * non-blocking API (mysql_*_start / mysql_*_cont): where the connector
 * would block, only the calling green thread waits, in
 * guv_trampoline_timeout() on mysql_get_socket(). MYSQL_WAIT_READ and
 * MYSQL_WAIT_EXCEPT wait for GUV_READ, MYSQL_WAIT_WRITE for GUV_WRITE, and
 * MYSQL_WAIT_TIMEOUT bounds the wait by mysql_get_timeout_value_ms() (the
 * connector's connect/read/write timeouts), so those options keep working.
 *
 * guv_mysql_real_connect() turns MYSQL_OPT_NONBLOCK on; the blocking API
 * still works on such a connection (it blocks the OS thread, as before).
 *
 * Deadlines and kills. When a wait fails (ETIMEDOUT from guv_timeout_begin(),
 * ECANCELED from guv_kill(), or EDEADLK/EPERM where the caller may not
 * switch) the socket is shut down and the operation is run to its end: the
 * connector then fails it its own way (a nonzero/NULL return, mysql_errno()
 * 2013 CR_SERVER_LOST or 2006 CR_SERVER_GONE_ERROR), and errno says why.
 * The connection is then broken for good: every later call fails the same
 * way; close it with guv_mysql_close() and connect again. Otherwise errno is
 * 0 after each guv_mysql_* call. The protocol has no in-band cancel: a
 * query interrupted this way may run on in the server until it notices the
 * closed connection (KILL QUERY would need a second connection).
 *
 * Not cooperative: the host name lookup inside mysql_real_connect (pass an
 * IP address, or resolve it with guv_offload()). Of the prepared-statement
 * API, prepare, execute, store_result, fetch and close are wrapped.
 */

#ifndef GUV_MYSQL_H
#define GUV_MYSQL_H

#include <errno.h>
#include <sys/socket.h>

#include <mysql.h>

#include <guv.h>

/* One operation in progress: its connection, and the errno that
 * interrupted it (0 while not interrupted). */
struct guv_mysql__op {
    MYSQL *mysql;
    int err;
};

/* Waits for what the connector asked for in `status` and returns the
 * MYSQL_WAIT_* bits that happened, for the _cont call. */
static inline int guv_mysql__wait(struct guv_mysql__op *op, int status)
{
    int fd_bits = status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT);
    int events = ((status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT)) ? GUV_READ : 0)
                 | ((status & MYSQL_WAIT_WRITE) ? GUV_WRITE : 0);
    double timeout = -1, until = 0;
    if (status & MYSQL_WAIT_TIMEOUT) {
        timeout = mysql_get_timeout_value_ms(op->mysql) / 1000.0;
        until = guv_now() + timeout;
    }
    if (!op->err) {
        int r = events ? guv_trampoline_timeout(mysql_get_socket(op->mysql), events, timeout)
                       : guv_sleep(timeout);
        if (r >= 0 && !events)
            return MYSQL_WAIT_TIMEOUT;
        if (r >= 0)
            return ((r & GUV_READ) ? status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT) : 0)
                   | ((r & GUV_WRITE) ? MYSQL_WAIT_WRITE : 0);
        /* The connector's own timeout ran out: it reports that itself. */
        if (errno == ETIMEDOUT && timeout >= 0 && guv_now() >= until)
            return MYSQL_WAIT_TIMEOUT;
        op->err = errno;
        (void)shutdown(mysql_get_socket(op->mysql), SHUT_RDWR);
    }
    /* Interrupted: with the socket shut down, every wait is over at once
     * and the connector fails the operation with its own error. */
    return fd_bits ? fd_bits : MYSQL_WAIT_TIMEOUT;
}

/* Runs one non-blocking operation to its end: `start` is its
 * mysql_*_start(...) call, `cont` its mysql_*_cont function applied to
 * (`ret`, `handle`); `mysql` owns the socket. */
#define GUV_MYSQL__RUN(mysql, start, cont, ret, handle)                  \
    do {                                                                 \
        struct guv_mysql__op op_ = { (mysql), 0 };                       \
        int st_ = (start);                                               \
        while (st_)                                                      \
            st_ = cont(ret, handle, guv_mysql__wait(&op_, st_));         \
        errno = op_.err;                                                 \
    } while (0)

/* As mysql_real_connect, on a handle from mysql_init(); turns on
 * MYSQL_OPT_NONBLOCK. NULL on failure (mysql_error(mysql)). */
static inline MYSQL *guv_mysql_real_connect(MYSQL *mysql, const char *host, const char *user,
                                            const char *passwd, const char *db, unsigned int port,
                                            const char *unix_socket, unsigned long clientflag)
{
    MYSQL *ret = NULL;
    if (mysql_options(mysql, MYSQL_OPT_NONBLOCK, NULL) != 0)
        return NULL;
    GUV_MYSQL__RUN(mysql,
                   mysql_real_connect_start(&ret, mysql, host, user, passwd, db, port,
                                            unix_socket, clientflag),
                   mysql_real_connect_cont, &ret, mysql);
    return ret;
}

/* As mysql_real_query: 0 on success. */
static inline int guv_mysql_real_query(MYSQL *mysql, const char *q, unsigned long length)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_real_query_start(&ret, mysql, q, length), mysql_real_query_cont,
                   &ret, mysql);
    return ret;
}

/* As mysql_query: 0 on success. */
static inline int guv_mysql_query(MYSQL *mysql, const char *q)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_query_start(&ret, mysql, q), mysql_query_cont, &ret, mysql);
    return ret;
}

/* As mysql_store_result: the whole result, read cooperatively. */
static inline MYSQL_RES *guv_mysql_store_result(MYSQL *mysql)
{
    MYSQL_RES *ret = NULL;
    GUV_MYSQL__RUN(mysql, mysql_store_result_start(&ret, mysql), mysql_store_result_cont, &ret,
                   mysql);
    return ret;
}

/* As mysql_fetch_row. Rows of a mysql_use_result() result are read from
 * the server cooperatively; those of a stored result are in memory. */
static inline MYSQL_ROW guv_mysql_fetch_row(MYSQL_RES *res)
{
    MYSQL_ROW ret = NULL;
    if (!res->handle)
        return mysql_fetch_row(res);
    GUV_MYSQL__RUN(res->handle, mysql_fetch_row_start(&ret, res), mysql_fetch_row_cont, &ret,
                   res);
    return ret;
}

/* As mysql_free_result: an unfinished mysql_use_result() result has its
 * remaining rows read (and dropped) cooperatively. */
static inline void guv_mysql_free_result(MYSQL_RES *res)
{
    if (!res || !res->handle) {
        mysql_free_result(res);
        return;
    }
    struct guv_mysql__op op = { res->handle, 0 };
    int st = mysql_free_result_start(res);
    while (st)
        st = mysql_free_result_cont(res, guv_mysql__wait(&op, st));
    errno = op.err;
}

/* As mysql_next_result: 0 more results, -1 no more, >0 error. */
static inline int guv_mysql_next_result(MYSQL *mysql)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_next_result_start(&ret, mysql), mysql_next_result_cont, &ret,
                   mysql);
    return ret;
}

/* As mysql_ping: 0 when the server answers. */
static inline int guv_mysql_ping(MYSQL *mysql)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_ping_start(&ret, mysql), mysql_ping_cont, &ret, mysql);
    return ret;
}

/* As mysql_select_db: 0 on success. */
static inline int guv_mysql_select_db(MYSQL *mysql, const char *db)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_select_db_start(&ret, mysql, db), mysql_select_db_cont, &ret,
                   mysql);
    return ret;
}

/* As mysql_commit / mysql_rollback / mysql_autocommit: 0 on success. */
static inline my_bool guv_mysql_commit(MYSQL *mysql)
{
    my_bool ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_commit_start(&ret, mysql), mysql_commit_cont, &ret, mysql);
    return ret;
}

static inline my_bool guv_mysql_rollback(MYSQL *mysql)
{
    my_bool ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_rollback_start(&ret, mysql), mysql_rollback_cont, &ret, mysql);
    return ret;
}

static inline my_bool guv_mysql_autocommit(MYSQL *mysql, my_bool mode)
{
    my_bool ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_autocommit_start(&ret, mysql, mode), mysql_autocommit_cont, &ret,
                   mysql);
    return ret;
}

/* ---- Prepared statements (mysql_stmt_init() and the bind calls do no I/O) ---- */

/* As mysql_stmt_prepare: 0 on success (mysql_stmt_error). */
static inline int guv_mysql_stmt_prepare(MYSQL_STMT *stmt, const char *q, unsigned long length)
{
    int ret = 1;
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_prepare_start(&ret, stmt, q, length),
                   mysql_stmt_prepare_cont, &ret, stmt);
    return ret;
}

/* As mysql_stmt_execute: 0 on success. */
static inline int guv_mysql_stmt_execute(MYSQL_STMT *stmt)
{
    int ret = 1;
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_execute_start(&ret, stmt), mysql_stmt_execute_cont,
                   &ret, stmt);
    return ret;
}

/* As mysql_stmt_store_result: 0 on success. */
static inline int guv_mysql_stmt_store_result(MYSQL_STMT *stmt)
{
    int ret = 1;
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_store_result_start(&ret, stmt),
                   mysql_stmt_store_result_cont, &ret, stmt);
    return ret;
}

/* As mysql_stmt_fetch: 0, MYSQL_NO_DATA, MYSQL_DATA_TRUNCATED or 1. */
static inline int guv_mysql_stmt_fetch(MYSQL_STMT *stmt)
{
    int ret = 1;
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_fetch_start(&ret, stmt), mysql_stmt_fetch_cont, &ret,
                   stmt);
    return ret;
}

/* As mysql_stmt_close: 0 on success; frees the statement. */
static inline my_bool guv_mysql_stmt_close(MYSQL_STMT *stmt)
{
    my_bool ret = 1;
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_close_start(&ret, stmt), mysql_stmt_close_cont, &ret,
                   stmt);
    return ret;
}

/* As mysql_close: says goodbye to the server cooperatively, then frees. */
static inline void guv_mysql_close(MYSQL *mysql)
{
    if (!mysql)
        return;
    struct guv_mysql__op op = { mysql, 0 };
    int st = mysql_close_start(mysql);
    while (st)
        st = mysql_close_cont(mysql, guv_mysql__wait(&op, st));
    errno = op.err;
}

#endif /* GUV_MYSQL_H */
