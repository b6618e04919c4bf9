/*
 * Ten green threads, each with its own PostgreSQL connection, run a 0.1 s
 * query at once: the whole takes about 0.1 s, not 1 s.
 *
 *   cc pq_example.c $(pkg-config --cflags --libs libpq guv) -o pq_example
 *   GUV_TEST_PG="host=127.0.0.1 dbname=test user=postgres" ./pq_example
 */
#include <stdio.h>
#include <stdlib.h>

#include <guv/pq.h>

static const char *conninfo;
static int failures;

static void worker(void *arg)
{
    char id[16];
    snprintf(id, sizeof id, "%d", (int)(intptr_t)arg);

    PGconn *conn = guv_PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(conn));
        failures++;
        PQfinish(conn);
        return;
    }
    const char *params[1] = { id };
    PGresult *res = guv_PQexecParams(conn, "SELECT $1::int * 10, pg_sleep(0.1)", 1, NULL, params,
                                     NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        printf("worker %s got %s\n", id, PQgetvalue(res, 0, 0));
    else {
        fprintf(stderr, "query: %s", PQresultErrorMessage(res));
        failures++;
    }
    PQclear(res);
    PQfinish(conn);
}

int main(void)
{
    conninfo = getenv("GUV_TEST_PG");
    if (!conninfo)
        conninfo = "host=127.0.0.1 port=5432 dbname=test user=postgres";
    double t0 = guv_now();
    for (intptr_t i = 1; i <= 10; i++)
        guv_spawn(worker, (void *)i);
    guv_run();
    printf("10 queries of 0.1 s took %.2f s\n", guv_now() - t0);
    return failures != 0;
}
