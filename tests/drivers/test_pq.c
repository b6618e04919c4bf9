/* guv/pq.h against the live PostgreSQL server (GUV_TEST_PG). */
#include <string.h>

#include "guv/pq.h"

#include "drivers.h"

static const char *conninfo;

static PGconn *connect_ok(void)
{
    PGconn *conn = guv_PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
        FAIL("cannot connect to PostgreSQL with \"%s\" (set GUV_TEST_PG): %s", conninfo,
             PQerrorMessage(conn));
    return conn;
}

/* Runs `sql` and returns its single value as a long. */
static long exec_long(PGconn *conn, const char *sql)
{
    PGresult *res = guv_PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        FAIL("%s: %s", sql, PQresultErrorMessage(res));
    long v = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static void assert_sqlstate(PGresult *res, const char *state)
{
    ASSERT_EQ(PQresultStatus(res), PGRES_FATAL_ERROR);
    const char *got = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!got || strcmp(got, state) != 0)
        FAIL("SQLSTATE %s, expected %s (%s)", got ? got : "(none)", state, PQresultErrorMessage(res));
}

/* Values, types and NULLs come back as libpq reports them. */
static void test_values_and_nulls(void)
{
    PGconn *conn = connect_ok();
    PGresult *res = guv_PQexec(conn, "SELECT 42, 'héllo'::text, NULL::int");
    ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
    ASSERT_EQ(PQntuples(res), 1);
    ASSERT(strcmp(PQgetvalue(res, 0, 0), "42") == 0);
    ASSERT(strcmp(PQgetvalue(res, 0, 1), "héllo") == 0);
    ASSERT_EQ(PQgetisnull(res, 0, 2), 1);
    ASSERT_EQ(PQgetisnull(res, 0, 1), 0);
    PQclear(res);
    PQfinish(conn);
}

/* Parameters travel out of band, and a prepared statement runs twice. */
static void test_params_and_prepared(void)
{
    PGconn *conn = connect_ok();
    const char *vals[2] = { "20", "22" };
    PGresult *res = guv_PQexecParams(conn, "SELECT $1::int + $2::int", 2, NULL, vals, NULL, NULL, 0);
    ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
    ASSERT(strcmp(PQgetvalue(res, 0, 0), "42") == 0);
    PQclear(res);
    res = guv_PQprepare(conn, "twice", "SELECT $1::int * 2", 1, NULL);
    ASSERT_EQ(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    const char *one[1] = { "21" };
    for (int i = 0; i < 2; i++) {
        res = guv_PQexecPrepared(conn, "twice", 1, one, NULL, NULL, 0);
        ASSERT(strcmp(PQgetvalue(res, 0, 0), "42") == 0);
        PQclear(res);
    }
    PQfinish(conn);
}

/* A failing statement is an error result with its SQLSTATE, and the
 * connection stays usable. */
static void test_sql_error(void)
{
    PGconn *conn = connect_ok();
    PGresult *res = guv_PQexec(conn, "SELECT * FROM guv_no_such_table");
    assert_sqlstate(res, "42P01");
    PQclear(res);
    ASSERT_EQ(exec_long(conn, "SELECT 7"), 7);
    PQfinish(conn);
}

/* A 200000-row result spans many reads and arrives whole. */
static void test_large_result(void)
{
    PGconn *conn = connect_ok();
    PGresult *res = guv_PQexec(conn, "SELECT g, repeat('x', 20) FROM generate_series(1, 200000) g");
    ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
    ASSERT_EQ(PQntuples(res), 200000);
    long long sum = 0;
    for (int i = 0; i < PQntuples(res); i++)
        sum += atol(PQgetvalue(res, i, 0));
    ASSERT_EQ(sum, 200000LL * 200001 / 2);
    PQclear(res);
    PQfinish(conn);
}

/* Single-row mode: PQsendQuery + PQsetSingleRowMode, then guv_PQgetResult
 * hands out one row per result. */
static void test_single_row_mode(void)
{
    PGconn *conn = connect_ok();
    ASSERT(PQsendQuery(conn, "SELECT g FROM generate_series(1, 1000) g"));
    ASSERT(PQsetSingleRowMode(conn));
    PGresult *res;
    long rows = 0, sum = 0;
    while ((res = guv_PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) == PGRES_SINGLE_TUPLE) {
            ASSERT_EQ(PQntuples(res), 1);
            rows++;
            sum += atol(PQgetvalue(res, 0, 0));
        } else {
            ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK); /* the end marker */
        }
        PQclear(res);
    }
    ASSERT_EQ(rows, 1000);
    ASSERT_EQ(sum, 500500);
    PQfinish(conn);
}

/* COPY FROM STDIN then COPY TO STDOUT round-trips rows. */
static void test_copy(void)
{
    PGconn *conn = connect_ok();
    PQclear(guv_PQexec(conn, "CREATE TEMP TABLE guv_copy (n int, s text)"));
    PGresult *res = guv_PQexec(conn, "COPY guv_copy FROM STDIN");
    ASSERT_EQ(PQresultStatus(res), PGRES_COPY_IN);
    PQclear(res);
    char line[64];
    for (int i = 1; i <= 1000; i++) {
        int n = snprintf(line, sizeof line, "%d\trow %d\n", i, i);
        ASSERT_EQ(guv_PQputCopyData(conn, line, n), 1);
    }
    ASSERT_EQ(guv_PQputCopyEnd(conn, NULL), 1);
    res = guv_PQgetResult(conn);
    ASSERT_EQ(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    ASSERT(guv_PQgetResult(conn) == NULL);
    ASSERT_EQ(exec_long(conn, "SELECT sum(n) FROM guv_copy"), 500500);

    res = guv_PQexec(conn, "COPY (SELECT n FROM guv_copy ORDER BY n) TO STDOUT");
    ASSERT_EQ(PQresultStatus(res), PGRES_COPY_OUT);
    PQclear(res);
    char *buf;
    int n, rows = 0;
    while ((n = guv_PQgetCopyData(conn, &buf)) > 0) {
        rows++;
        ASSERT_EQ(atoi(buf), rows);
        PQfreemem(buf);
    }
    ASSERT_EQ(n, -1);
    ASSERT_EQ(rows, 1000);
    res = guv_PQgetResult(conn);
    ASSERT_EQ(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    ASSERT(guv_PQgetResult(conn) == NULL);
    PQfinish(conn);
}

static void sleeper(int i, void *ctx)
{
    (void)i;
    (void)ctx;
    PGconn *conn = connect_ok();
    PGresult *res = guv_PQexec(conn, "SELECT pg_sleep(0.2)");
    ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    PQfinish(conn);
}

/* 50 connections sleeping 0.2 s on the server overlap, and the hub keeps running. */
static void test_cooperation(void)
{
    struct drv_ticker ticker;
    double elapsed = drv_parallel(DRV_CONCURRENCY, sleeper, NULL, &ticker);
    drv_check_cooperation("pg_sleep", elapsed, &ticker);
}

/* A deadline cancels a 5 s query on the server: the call returns soon with
 * query_canceled and ETIMEDOUT, and the connection serves the next query. */
static void test_deadline_cancels(void)
{
    PGconn *conn = connect_ok();
    double t0 = guv_now();
    ASSERT_OK(guv_timeout_begin(0.3));
    PGresult *res = guv_PQexec(conn, "SELECT pg_sleep(5)");
    int err = errno;
    ASSERT_OK(guv_timeout_end());
    double took = guv_now() - t0;
    printf("  deadline 0.3 s: returned after %.2f s\n", took);
    ASSERT(took < 1.0);
    ASSERT_EQ(err, ETIMEDOUT);
    assert_sqlstate(res, "57014");
    PQclear(res);
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
    ASSERT_EQ(PQtransactionStatus(conn), PQTRANS_IDLE);
    ASSERT_EQ(exec_long(conn, "SELECT 8"), 8);
    PQfinish(conn);
}

/* Inside a transaction, the cancelled query leaves the block in error, as
 * any failed statement does; ROLLBACK makes it usable. */
static void test_deadline_in_transaction(void)
{
    PGconn *conn = connect_ok();
    PQclear(guv_PQexec(conn, "BEGIN"));
    ASSERT_OK(guv_timeout_begin(0.2));
    PGresult *res = guv_PQexec(conn, "SELECT pg_sleep(5)");
    ASSERT_OK(guv_timeout_end());
    assert_sqlstate(res, "57014");
    PQclear(res);
    ASSERT_EQ(PQtransactionStatus(conn), PQTRANS_INERROR);
    PQclear(guv_PQexec(conn, "ROLLBACK"));
    ASSERT_EQ(exec_long(conn, "SELECT 9"), 9);
    PQfinish(conn);
}

/* A deadline already passed when the query is sent: the first cancel can
 * reach the server before the query starts (and be ignored), so only the
 * repeated cancel ends it; the connection is usable after. */
static void test_deadline_already_passed(void)
{
    PGconn *conn = connect_ok();
    double t0 = guv_now();
    ASSERT_OK(guv_timeout_begin(0));
    PGresult *res = guv_PQexec(conn, "SELECT pg_sleep(5)");
    int err = errno;
    ASSERT_OK(guv_timeout_end());
    ASSERT(guv_now() - t0 < 1.5);
    ASSERT_EQ(err, ETIMEDOUT);
    assert_sqlstate(res, "57014");
    PQclear(res);
    ASSERT_EQ(exec_long(conn, "SELECT 11"), 11);
    PQfinish(conn);
}

/* A deadline in the middle of a COPY TO STDOUT ends the copy with
 * query_canceled and the connection usable. */
static void test_deadline_during_copy_out(void)
{
    PGconn *conn = connect_ok();
    /* Rows stream, then the server sleeps 5 s before the last one. */
    PGresult *res = guv_PQexec(conn, "COPY (SELECT repeat('x', 100000) UNION ALL "
                                     "SELECT pg_sleep(5)::text) TO STDOUT");
    ASSERT_EQ(PQresultStatus(res), PGRES_COPY_OUT);
    PQclear(res);
    char *buf = NULL;
    int n;
    double t0 = guv_now();
    ASSERT_OK(guv_timeout_begin(0.3));
    while ((n = guv_PQgetCopyData(conn, &buf)) > 0)
        PQfreemem(buf);
    int err = errno;
    ASSERT_OK(guv_timeout_end());
    ASSERT(guv_now() - t0 < 1.0);
    ASSERT_EQ(n, -2);
    ASSERT_EQ(err, ETIMEDOUT);
    ASSERT(guv_PQgetResult(conn) == NULL); /* the cancelled COPY is drained */
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
    ASSERT_EQ(exec_long(conn, "SELECT 12"), 12);
    PQfinish(conn);
}

struct killed {
    PGconn *conn;
    int err;
    int canceled;
};

static void killed_query(void *arg)
{
    struct killed *k = (struct killed *)arg;
    PGresult *res = guv_PQexec(k->conn, "SELECT pg_sleep(5)");
    k->err = errno;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    k->canceled = state && strcmp(state, "57014") == 0;
    PQclear(res);
}

/* A kill mid-query returns within a second with ECANCELED and query_canceled;
 * the connection then still answers (checked from main). */
static void test_kill_mid_query(void)
{
    struct killed k = { connect_ok(), 0, 0 };
    double took = drv_kill_after(killed_query, &k, 0.3);
    printf("  kill: the query returned %.2f s after the kill\n", took);
    ASSERT(took < 1.0);
    ASSERT_EQ(k.err, ECANCELED);
    ASSERT(k.canceled);
    ASSERT_EQ(PQstatus(k.conn), CONNECTION_OK);
    ASSERT_EQ(exec_long(k.conn, "SELECT 10"), 10);
    PQfinish(k.conn);
}

/* A connect whose deadline has passed gives NULL with ETIMEDOUT. */
static void test_connect_deadline(void)
{
    ASSERT_OK(guv_timeout_begin(0));
    PGconn *conn = guv_PQconnectdb(conninfo);
    int err = errno;
    ASSERT_OK(guv_timeout_end());
    ASSERT(conn == NULL);
    ASSERT_EQ(err, ETIMEDOUT);
}

/* A refused connect is CONNECTION_BAD with libpq's message. */
static void test_connect_refused(void)
{
    PGconn *conn = guv_PQconnectdb("host=127.0.0.1 port=1 dbname=test connect_timeout=2");
    ASSERT(conn != NULL);
    ASSERT_EQ(PQstatus(conn), CONNECTION_BAD);
    ASSERT(strstr(PQerrorMessage(conn), "refused") != NULL);
    PQfinish(conn);
}

struct terminator {
    int pid;
};

static void terminate_soon(void *arg)
{
    struct terminator *t = (struct terminator *)arg;
    PGconn *conn = connect_ok();
    char sql[64];
    ASSERT_OK(guv_sleep(0.3));
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", t->pid);
    ASSERT_EQ(exec_long(conn, sql) >= 0, 1);
    PQfinish(conn);
}

/* Runs pg_sleep on a connection that another terminates; returns the error
 * message `exec` ended with (malloc'd). */
static char *terminated_message(PGresult *(*exec)(PGconn *, const char *))
{
    PGconn *conn = connect_ok();
    struct terminator t = { PQbackendPID(conn) };
    ASSERT_OK(guv_spawn(terminate_soon, &t));
    PGresult *res = exec(conn, "SELECT pg_sleep(5)");
    char *msg = strdup(PQresultErrorMessage(res));
    ASSERT_EQ(PQresultStatus(res), PGRES_FATAL_ERROR);
    PQclear(res);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(PQstatus(conn), CONNECTION_BAD);
    PQfinish(conn);
    return msg;
}

/* The blocking PQexec, run on the offload pool so the terminator runs. */
struct plain_exec {
    PGconn *conn;
    const char *sql;
    PGresult *res;
};

static void plain_exec_job(void *arg)
{
    struct plain_exec *p = (struct plain_exec *)arg;
    p->res = PQexec(p->conn, p->sql);
}

static PGresult *plain_PQexec(PGconn *conn, const char *sql)
{
    struct plain_exec p = { conn, sql, NULL };
    ASSERT_OK(guv_offload(plain_exec_job, &p));
    return p.res;
}

/* A backend terminated mid-query: guv_PQexec's error ends with what
 * PQexec's says (after the server's own FATAL line, which PQexec drops),
 * without the extra "invalid socket" line it used to carry. */
static void test_terminated_backend_message(void)
{
    char *plain = terminated_message(plain_PQexec);
    char *green = terminated_message(guv_PQexec);
    printf("  PQexec: %s  guv_PQexec: %s", plain, green);
    ASSERT(strstr(green, "invalid socket") == NULL);
    size_t lp = strlen(plain), lg = strlen(green);
    ASSERT(lp > 0 && lg >= lp && strcmp(green + lg - lp, plain) == 0);
    free(plain);
    free(green);
}

int main(void)
{
    conninfo = drv_env("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres");
    RUN(test_values_and_nulls);
    RUN(test_params_and_prepared);
    RUN(test_sql_error);
    RUN(test_large_result);
    RUN(test_single_row_mode);
    RUN(test_copy);
    RUN(test_cooperation);
    RUN(test_deadline_cancels);
    RUN(test_deadline_in_transaction);
    RUN(test_deadline_already_passed);
    RUN(test_deadline_during_copy_out);
    RUN(test_kill_mid_query);
    RUN(test_connect_deadline);
    RUN(test_connect_refused);
    RUN(test_terminated_backend_message);
    return 0;
}
