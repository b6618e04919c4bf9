/* libpq's plain blocking API cooperates under libguv_hook: no guv call in
 * the workers, each of which connects and runs pg_sleep(0.2). libpq waits
 * in poll() and connects with a non-blocking connect(), both hooked. */
#include <libpq-fe.h>
#include <string.h>

#include "drivers.h"

static const char *conninfo;

static void sleep_query(int i, void *ctx)
{
    (void)ctx;
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
        FAIL("worker %d: cannot connect to PostgreSQL with \"%s\" (set GUV_TEST_PG): %s", i, conninfo,
             PQerrorMessage(conn));
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d FROM pg_sleep(%.1f)", i, DRV_SLEEP);
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        FAIL("worker %d: %s", i, PQresultErrorMessage(res));
    ASSERT_EQ(atoi(PQgetvalue(res, 0, 0)), i);
    PQclear(res);
    PQfinish(conn);
}

/* 50 connections each sleeping 0.2 s on the server overlap on one OS thread. */
static void test_pqexec_cooperates(void)
{
    struct drv_ticker ticker;
    double elapsed = drv_parallel(DRV_CONCURRENCY, sleep_query, NULL, &ticker);
    drv_check_cooperation("PQconnectdb + PQexec(pg_sleep)", elapsed, &ticker);
}

int main(void)
{
    /* Without TLS: 50 handshakes are CPU work that would eat the gate's margin
     * on a loaded machine, and prove nothing about cooperation. */
    conninfo = drv_env("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres sslmode=disable");
    RUN(test_pqexec_cooperates);
    return 0;
}
