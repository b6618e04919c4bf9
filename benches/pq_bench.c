/*
 * libpq `SELECT 1` round trips per second: N green threads on one OS thread,
 * each with its own connection through guv/pq.h, against N OS threads each
 * with its own blocking connection (plain PQexec). Same server, same run.
 *
 *   pq_bench [results.md]   GUV_TEST_PG picks the server, GUV_BENCH_SECONDS
 *                           the length of each measurement (default 2)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <guv/pq.h>

#ifndef GUV_PROFILE
#define GUV_PROFILE "debug"
#endif

static const char *conninfo;
static double seconds = 2.0;

/* One connection's share of a measurement. */
struct client {
    PGconn *conn;
    double until;
    long trips;
    int green;
};

static PGconn *open_conn(int green)
{
    PGconn *conn = green ? guv_PQconnectdb(conninfo) : PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "pq_bench: cannot connect (GUV_TEST_PG=\"%s\"): %s", conninfo,
                PQerrorMessage(conn));
        exit(1);
    }
    return conn;
}

static void run_client(struct client *c)
{
    while (guv_now() < c->until) {
        PGresult *res = c->green ? guv_PQexec(c->conn, "SELECT 1") : PQexec(c->conn, "SELECT 1");
        if (PQresultStatus(res) != PGRES_TUPLES_OK || strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
            fprintf(stderr, "pq_bench: SELECT 1 failed: %s", PQresultErrorMessage(res));
            exit(1);
        }
        PQclear(res);
        c->trips++;
    }
}

static void green_client(void *arg)
{
    run_client((struct client *)arg);
}

static void *thread_client(void *arg)
{
    run_client((struct client *)arg);
    return NULL;
}

/* This process's CPU seconds (user + system, all threads). */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One measurement: round trips per second, and client CPU microseconds per round trip. */
struct rate {
    double per_second;
    double cpu_us;
};

/* Measures n clients, green threads or OS threads; connections are opened
 * before the clock starts. */
static struct rate measure(int n, int green)
{
    struct client *cs = calloc((size_t)n, sizeof *cs);
    pthread_t *ts = calloc((size_t)n, sizeof *ts);
    if (!cs || !ts)
        exit(1);
    for (int i = 0; i < n; i++)
        cs[i] = (struct client){ open_conn(green), 0, 0, green };
    double t0 = guv_now(), cpu0 = cpu_seconds();
    for (int i = 0; i < n; i++)
        cs[i].until = t0 + seconds;
    if (green) {
        for (int i = 0; i < n; i++)
            if (guv_spawn(green_client, &cs[i]) < 0)
                exit(1);
        guv_run();
    } else {
        for (int i = 0; i < n; i++)
            if (pthread_create(&ts[i], NULL, thread_client, &cs[i]) != 0)
                exit(1);
        for (int i = 0; i < n; i++)
            pthread_join(ts[i], NULL);
    }
    double elapsed = guv_now() - t0, cpu = cpu_seconds() - cpu0;
    long trips = 0;
    for (int i = 0; i < n; i++) {
        trips += cs[i].trips;
        PQfinish(cs[i].conn);
    }
    free(ts);
    free(cs);
    return (struct rate){ trips / elapsed, cpu * 1e6 / trips };
}

int main(int argc, char **argv)
{
    static const int ns[] = { 1, 10, 50 };
    enum { ROWS = sizeof ns / sizeof ns[0] };
    struct rate green[ROWS], threads[ROWS];
    conninfo = getenv("GUV_TEST_PG") ? getenv("GUV_TEST_PG")
                                      : "host=127.0.0.1 port=5432 dbname=test user=postgres";
    if (getenv("GUV_BENCH_SECONDS"))
        seconds = atof(getenv("GUV_BENCH_SECONDS"));

    /* Other work on the machine skews both columns alike; say how much there was. */
    double load[3] = { 0 };
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        fclose(la);
    }
    for (int r = 0; r < ROWS; r++) {
        green[r] = measure(ns[r], 1);
        threads[r] = measure(ns[r], 0);
        printf("N=%-3d green %6.0f/s %5.1f us CPU   OS threads %6.0f/s %5.1f us CPU\n", ns[r],
               green[r].per_second, green[r].cpu_us, threads[r].per_second, threads[r].cpu_us);
        fflush(stdout);
    }
    if (argc < 2)
        return 0;

    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(f, "# Drivers: libpq round trips, green threads vs OS threads\n\n"
               "Written by `make bench-drivers` (benches/pq_bench.c); do not edit by hand.\n\n"
               "Method: N clients, each on its own connection to the local PostgreSQL,\n"
               "run `SELECT 1` back to back for %.1f s (connections are opened before the\n"
               "clock starts). *green*: N guv green threads on one OS thread using\n"
               "guv_PQexec (guv/pq.h). *OS threads*: N pthreads using blocking PQexec.\n"
               "Both in the same process, one after the other, per N. The server runs on\n"
               "the same machine, so both sides share its %ld CPUs with the server's backends\n"
               "(and, on a shared machine, with everyone else: see the load average).\n"
               "*CPU/trip* is this process's user + system CPU time per round trip\n"
               "(getrusage), the client-side cost, which is less sensitive to that load.\n\n"
               "Run: %s, libguv %s build, load average before the run %.2f.\n\n"
               "| N connections | green (round trips/s) | OS threads (round trips/s) | green / threads "
               "| green CPU/trip (us) | OS threads CPU/trip (us) |\n"
               "| ---: | ---: | ---: | ---: | ---: | ---: |\n",
            seconds, sysconf(_SC_NPROCESSORS_ONLN), when, GUV_PROFILE, load[0]);
    for (int r = 0; r < ROWS; r++)
        fprintf(f, "| %d | %.0f | %.0f | %.2f | %.1f | %.1f |\n", ns[r], green[r].per_second,
                threads[r].per_second, green[r].per_second / threads[r].per_second,
                green[r].cpu_us, threads[r].cpu_us);
    fclose(f);
    return 0;
}
