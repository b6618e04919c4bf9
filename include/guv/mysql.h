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
 * ECANCELED from guv_kill(), or EACCES/EPERM where the caller may not
 * switch), or a call starts in a green thread that was killed or whose
 * deadline has passed, the connection is broken for good: its socket is
 * shut down, the operation is run to its end and fails (a nonzero/NULL
 * return, mysql_errno() 2013 CR_SERVER_LOST), and errno says why. Every
 * later guv_mysql_* call on that connection, and on its results and
 * statements, fails the same way at once, with the same errno, whatever
 * rows are still buffered, so a caller that retries on "server gone" does
 * not reconnect from a killed green thread. Close it with guv_mysql_close()
 * (which, with guv_mysql_free_result() and guv_mysql_stmt_close(), always
 * frees) and connect again. Otherwise errno is 0 after each guv_mysql_*
 * call. The protocol has no in-band cancel: a query interrupted this way
 * may run on in the server until it notices the closed connection (KILL
 * QUERY would need a second connection).
 *
 * One connection, one green thread at a time: a call made while another
 * green thread is inside a call on the same connection fails at once with
 * errno EBUSY (a nonzero/NULL return) and leaves the connection, and the
 * other call, untouched. The module keeps these marks in the connection's
 * MARIADB_OPT_USERDATA under the key "guv_mysql".
 *
 * Each wrapper accepts what the connector's function of the same name
 * accepts (NULL results for fetch_row and free_result, NULL for close and
 * stmt_close, unconnected handles, statements whose connection is gone).
 *
 * Not cooperative: the host name lookup inside mysql_real_connect (pass an
 * IP address, or resolve it with guv_offload()). Of the prepared-statement
 * API, prepare, execute, store_result, fetch and close are wrapped.
 */

#ifndef GUV_MYSQL_H
#define GUV_MYSQL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <mysql.h>

#include <guv.h>

/* One operation in progress: its connection, the errno that interrupted
 * it (0 while not interrupted), and whether it marked the connection busy. */
struct guv_mysql__op {
    MYSQL *mysql;
    int err;
    int entered;
};

/* The module's mark on a connection (MARIADB_OPT_USERDATA, never NULL):
 * bit 0 set, bit 1 "a green thread is inside a call", above that the errno
 * that broke it (0: not broken). */
#define GUV_MYSQL__KEY "guv_mysql"
#ifdef __cplusplus
#define GUV_MYSQL__TO_PTR(v) reinterpret_cast<void *>(v)
#define GUV_MYSQL__TO_UINT(p) reinterpret_cast<uintptr_t>(p)
#else
#define GUV_MYSQL__TO_PTR(v) ((void *)(v))
#define GUV_MYSQL__TO_UINT(p) ((uintptr_t)(p))
#endif

static inline uintptr_t guv_mysql__mark(MYSQL *mysql)
{
    char key[] = GUV_MYSQL__KEY;
    void *v = NULL;
    if (mysql_get_optionv(mysql, MARIADB_OPT_USERDATA, key, &v) != 0)
        return 0;
    return GUV_MYSQL__TO_UINT(v);
}

static inline void guv_mysql__set_mark(MYSQL *mysql, int busy, int err)
{
    char key[] = GUV_MYSQL__KEY;
    uintptr_t e = err, v = 1u | (busy ? 2u : 0u) | (e << 2);
    (void)mysql_optionsv(mysql, MARIADB_OPT_USERDATA, key, GUV_MYSQL__TO_PTR(v));
}

/* Says in the connector's own terms that the connection is lost, and why. */
static inline void guv_mysql__set_lost(MYSQL *mysql, int err)
{
    mysql->net.last_errno = 2013; /* CR_SERVER_LOST */
    snprintf(mysql->net.last_error, sizeof mysql->net.last_error,
             "Lost connection to server: a guv wait failed (%s)", strerror(err));
    snprintf(mysql->net.sqlstate, sizeof mysql->net.sqlstate, "HY000");
}

/* Whether an operation may start on `op->mysql`; else op->err says why. */
static inline int guv_mysql__enter(struct guv_mysql__op *op)
{
    uintptr_t mark = guv_mysql__mark(op->mysql);
    if (mark >> 2) {
        op->err = mark >> 2;
        guv_mysql__set_lost(op->mysql, op->err);
        return 0;
    }
    if (mark & 2) {
        op->err = EBUSY;
        return 0;
    }
    if (guv_check() != 0) {
        op->err = errno;
        (void)shutdown(mysql_get_socket(op->mysql), SHUT_RDWR);
        guv_mysql__set_mark(op->mysql, 0, op->err);
        guv_mysql__set_lost(op->mysql, op->err);
        return 0;
    }
    /* A handle guv_mysql_real_connect() never saw (unconnected, or
     * connected the plain way) gets the non-blocking API the wrappers need. */
    my_bool nonblock = 0;
    if (mysql_get_optionv(op->mysql, MYSQL_OPT_NONBLOCK, &nonblock) == 0 && !nonblock
        && mysql_options(op->mysql, MYSQL_OPT_NONBLOCK, NULL) != 0) {
        op->err = ENOMEM;
        return 0;
    }
    guv_mysql__set_mark(op->mysql, 1, 0);
    op->entered = 1;
    return 1;
}

/* Ends an operation: an interrupted one leaves the connection broken. */
static inline void guv_mysql__leave(struct guv_mysql__op *op)
{
    if (op->entered) {
        guv_mysql__set_mark(op->mysql, 0, op->err);
        if (op->err)
            guv_mysql__set_lost(op->mysql, op->err);
    }
    errno = op->err;
}

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
 * (`ret`, `handle`); `mysql` owns the socket. An operation refused or
 * interrupted returns `failed`, whatever the connector made of it. */
#define GUV_MYSQL__RUN(mysql, start, cont, ret, handle, failed)          \
    do {                                                                 \
        struct guv_mysql__op op_ = { (mysql), 0, 0 };                    \
        if (guv_mysql__enter(&op_)) {                                    \
            int st_ = (start);                                           \
            while (st_)                                                  \
                st_ = cont(ret, handle, guv_mysql__wait(&op_, st_));     \
        }                                                                \
        if (op_.err)                                                     \
            *(ret) = (failed);                                           \
        guv_mysql__leave(&op_);                                          \
    } while (0)

/* Runs a clean-up operation (close, free): never refused, always run to
 * its end, so that it frees what it must. */
#define GUV_MYSQL__RUN_CLEANUP(mysql, start, cont_call)                  \
    do {                                                                 \
        struct guv_mysql__op op_ = { (mysql), 0, 0 };                    \
        int st_ = (start);                                               \
        while (st_)                                                      \
            st_ = cont_call;                                             \
        errno = op_.err;                                                 \
    } while (0)

/* As mysql_real_connect, on a handle from mysql_init(); turns on
 * MYSQL_OPT_NONBLOCK. NULL on failure (mysql_error(mysql)). A handle
 * broken by an interrupted call may connect again. */
static inline MYSQL *guv_mysql_real_connect(MYSQL *mysql, const char *host, const char *user,
                                            const char *passwd, const char *db, unsigned int port,
                                            const char *unix_socket, unsigned long clientflag)
{
    MYSQL *ret = NULL;
    if (mysql_options(mysql, MYSQL_OPT_NONBLOCK, NULL) != 0)
        return NULL;
    if (guv_mysql__mark(mysql) & 2) {
        errno = EBUSY;
        return NULL;
    }
    guv_mysql__set_mark(mysql, 0, 0);
    GUV_MYSQL__RUN(mysql,
                   mysql_real_connect_start(&ret, mysql, host, user, passwd, db, port,
                                            unix_socket, clientflag),
                   mysql_real_connect_cont, &ret, mysql, NULL);
    return ret;
}

/* As mysql_real_query: 0 on success. */
static inline int guv_mysql_real_query(MYSQL *mysql, const char *q, unsigned long length)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_real_query_start(&ret, mysql, q, length), mysql_real_query_cont,
                   &ret, mysql, 1);
    return ret;
}

/* As mysql_query: 0 on success. */
static inline int guv_mysql_query(MYSQL *mysql, const char *q)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_query_start(&ret, mysql, q), mysql_query_cont, &ret, mysql, 1);
    return ret;
}

/* As mysql_store_result: the whole result, read cooperatively. */
static inline MYSQL_RES *guv_mysql_store_result(MYSQL *mysql)
{
    MYSQL_RES *ret = NULL;
    GUV_MYSQL__RUN(mysql, mysql_store_result_start(&ret, mysql), mysql_store_result_cont, &ret,
                   mysql, NULL);
    if (ret && errno) {
        mysql_free_result(ret);
        ret = NULL;
    }
    return ret;
}

/* As mysql_fetch_row (NULL for a NULL result). Rows of a mysql_use_result()
 * result are read from the server cooperatively; those of a stored result
 * are in memory. Once a call on a use_result result has failed by a kill or
 * deadline, every later one returns NULL with that errno. */
static inline MYSQL_ROW guv_mysql_fetch_row(MYSQL_RES *res)
{
    MYSQL_ROW ret = NULL;
    if (!res || !res->handle)
        return mysql_fetch_row(res);
    MYSQL *mysql = res->handle;
    GUV_MYSQL__RUN(mysql, mysql_fetch_row_start(&ret, res), mysql_fetch_row_cont, &ret, res, NULL);
    if (errno && errno != EBUSY) {
        /* The connector may have let go of the connection on its error;
         * keep it, so that later calls still find the broken mark. */
        int err = errno;
        res->handle = mysql;
        res->eof = 1;
        errno = err;
    }
    return ret;
}

/* As mysql_free_result: an unfinished mysql_use_result() result has its
 * remaining rows read (and dropped) cooperatively. Always frees. */
static inline void guv_mysql_free_result(MYSQL_RES *res)
{
    if (!res || !res->handle) {
        mysql_free_result(res);
        return;
    }
    if (guv_mysql__mark(res->handle) >> 2) {
        /* Broken: nothing more will be read from it. */
        res->handle->status = MYSQL_STATUS_READY;
        mysql_free_result(res);
        return;
    }
    GUV_MYSQL__RUN_CLEANUP(res->handle, mysql_free_result_start(res),
                           mysql_free_result_cont(res, guv_mysql__wait(&op_, st_)));
}

/* As mysql_next_result: 0 more results, -1 no more, >0 error. */
static inline int guv_mysql_next_result(MYSQL *mysql)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_next_result_start(&ret, mysql), mysql_next_result_cont, &ret,
                   mysql, 1);
    return ret;
}

/* As mysql_ping: 0 when the server answers. */
static inline int guv_mysql_ping(MYSQL *mysql)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_ping_start(&ret, mysql), mysql_ping_cont, &ret, mysql, 1);
    return ret;
}

/* As mysql_select_db: 0 on success. */
static inline int guv_mysql_select_db(MYSQL *mysql, const char *db)
{
    int ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_select_db_start(&ret, mysql, db), mysql_select_db_cont, &ret,
                   mysql, 1);
    return ret;
}

/* As mysql_commit / mysql_rollback / mysql_autocommit: 0 on success. */
static inline my_bool guv_mysql_commit(MYSQL *mysql)
{
    my_bool ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_commit_start(&ret, mysql), mysql_commit_cont, &ret, mysql, 1);
    return ret;
}

static inline my_bool guv_mysql_rollback(MYSQL *mysql)
{
    my_bool ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_rollback_start(&ret, mysql), mysql_rollback_cont, &ret, mysql, 1);
    return ret;
}

static inline my_bool guv_mysql_autocommit(MYSQL *mysql, my_bool mode)
{
    my_bool ret = 1;
    GUV_MYSQL__RUN(mysql, mysql_autocommit_start(&ret, mysql, mode), mysql_autocommit_cont, &ret,
                   mysql, 1);
    return ret;
}

/* ---- Prepared statements (mysql_stmt_init() and the bind calls do no I/O) ----
 * A statement whose connection is gone (stmt->mysql NULL after mysql_close)
 * is handed to the connector's own call, which fails it without I/O. */

/* As mysql_stmt_prepare: 0 on success (mysql_stmt_error). */
static inline int guv_mysql_stmt_prepare(MYSQL_STMT *stmt, const char *q, unsigned long length)
{
    int ret = 1;
    if (!stmt->mysql)
        return mysql_stmt_prepare(stmt, q, length);
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_prepare_start(&ret, stmt, q, length),
                   mysql_stmt_prepare_cont, &ret, stmt, 1);
    return ret;
}

/* As mysql_stmt_execute: 0 on success. */
static inline int guv_mysql_stmt_execute(MYSQL_STMT *stmt)
{
    int ret = 1;
    if (!stmt->mysql)
        return mysql_stmt_execute(stmt);
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_execute_start(&ret, stmt), mysql_stmt_execute_cont,
                   &ret, stmt, 1);
    return ret;
}

/* As mysql_stmt_store_result: 0 on success. */
static inline int guv_mysql_stmt_store_result(MYSQL_STMT *stmt)
{
    int ret = 1;
    if (!stmt->mysql)
        return mysql_stmt_store_result(stmt);
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_store_result_start(&ret, stmt),
                   mysql_stmt_store_result_cont, &ret, stmt, 1);
    return ret;
}

/* As mysql_stmt_fetch: 0, MYSQL_NO_DATA, MYSQL_DATA_TRUNCATED or 1. */
static inline int guv_mysql_stmt_fetch(MYSQL_STMT *stmt)
{
    int ret = 1;
    if (!stmt->mysql)
        return mysql_stmt_fetch(stmt);
    GUV_MYSQL__RUN(stmt->mysql, mysql_stmt_fetch_start(&ret, stmt), mysql_stmt_fetch_cont, &ret,
                   stmt, 1);
    return ret;
}

/* As mysql_stmt_close: 0 on success; always frees the statement. */
static inline my_bool guv_mysql_stmt_close(MYSQL_STMT *stmt)
{
    my_bool ret = 1;
    if (!stmt || !stmt->mysql || (guv_mysql__mark(stmt->mysql) >> 2))
        return mysql_stmt_close(stmt);
    GUV_MYSQL__RUN_CLEANUP(stmt->mysql, mysql_stmt_close_start(&ret, stmt),
                           mysql_stmt_close_cont(&ret, stmt, guv_mysql__wait(&op_, st_)));
    return ret;
}

/* As mysql_close: says goodbye to the server cooperatively, then frees. */
static inline void guv_mysql_close(MYSQL *mysql)
{
    if (!mysql)
        return;
    GUV_MYSQL__RUN_CLEANUP(mysql, mysql_close_start(mysql),
                           mysql_close_cont(mysql, guv_mysql__wait(&op_, st_)));
}

#endif /* GUV_MYSQL_H */
