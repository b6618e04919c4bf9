/*
 * Ten green threads, each with its own MariaDB connection, run a 0.1 s
 * query at once: the whole takes about 0.1 s, not 1 s.
 *
 *   cc mysql_example.c $(pkg-config --cflags --libs libmariadb guv) -o mysql_example
 *   ./mysql_example        # root@127.0.0.1:3306, database test
 */
#include <stdint.h>
#include <stdio.h>

#include <guv/mysql.h>

static int failures;

static void worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d * 10, SLEEP(0.1)", id);

    MYSQL *m = mysql_init(NULL);
    if (!guv_mysql_real_connect(m, "127.0.0.1", "root", "", "test", 3306, NULL, 0)
        || guv_mysql_query(m, sql) != 0) {
        fprintf(stderr, "worker %d: %s\n", id, mysql_error(m));
        failures++;
    } else {
        MYSQL_RES *res = guv_mysql_store_result(m);
        MYSQL_ROW row = guv_mysql_fetch_row(res);
        printf("worker %d got %s\n", id, row[0]);
        guv_mysql_free_result(res);
    }
    guv_mysql_close(m);
}

int main(void)
{
    double t0 = guv_now();
    for (intptr_t i = 1; i <= 10; i++)
        guv_spawn(worker, (void *)i);
    guv_run();
    printf("10 queries of 0.1 s took %.2f s\n", guv_now() - t0);
    mysql_library_end();
    return failures != 0;
}
