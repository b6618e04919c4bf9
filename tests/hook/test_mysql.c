/* MariaDB Connector/C's plain mysql_real_connect and mysql_query cooperate
 * under libguv_hook: its socket is non-blocking and it waits in poll(),
 * both hooked. Each worker has its own connection and runs SLEEP(0.2). */
#include <mysql.h>
#include <string.h>

#include "drivers.h"

/* The server, from GUV_TEST_MYSQL ("host=... port=... user=... password=... db=...");
 * an absent key keeps the local default. */
static char host[128] = "127.0.0.1", user[64] = "root", password[64] = "", db[64] = "test";
static unsigned port = 3306;

static void read_target(const char *target)
{
    struct { const char *key; char *val; size_t size; } keys[] = {
        { "host=", host, sizeof host }, { "user=", user, sizeof user },
        { "password=", password, sizeof password }, { "db=", db, sizeof db },
    };
    for (const char *p = target; *p; p += strspn(p, " ")) {
        size_t len = strcspn(p, " ");
        if (strncmp(p, "port=", 5) == 0)
            port = (unsigned)atoi(p + 5);
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            size_t kl = strlen(keys[k].key);
            if (strncmp(p, keys[k].key, kl) == 0)
                snprintf(keys[k].val, keys[k].size, "%.*s", (int)(len - kl), p + kl);
        }
        p += len;
    }
}

static void sleep_query(int i, void *ctx)
{
    (void)ctx;
    MYSQL *m = mysql_init(NULL);
    ASSERT(m != NULL);
    if (!mysql_real_connect(m, host, user, password, db, port, NULL, 0))
        FAIL("worker %d: cannot connect to MariaDB at %s:%u as %s (set GUV_TEST_MYSQL): %s", i, host, port,
             user, mysql_error(m));
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d + SLEEP(%.1f)", i, DRV_SLEEP);
    if (mysql_query(m, sql) != 0)
        FAIL("worker %d: %s: %s", i, sql, mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    ASSERT(res != NULL);
    MYSQL_ROW row = mysql_fetch_row(res);
    ASSERT(row != NULL && row[0] != NULL);
    /* SLEEP() returns 0 when it was not interrupted. */
    ASSERT_EQ(atoi(row[0]), i);
    mysql_free_result(res);
    mysql_close(m);
}

static void test_mysql_query_cooperates(void)
{
    struct drv_ticker ticker;
    double elapsed = drv_parallel(DRV_CONCURRENCY, sleep_query, NULL, &ticker);
    drv_check_cooperation("mysql_real_connect + mysql_query(SLEEP)", elapsed, &ticker);
}

int main(void)
{
    read_target(drv_env("GUV_TEST_MYSQL", "host=127.0.0.1 port=3306 user=root password= db=test"));
    ASSERT_EQ(mysql_library_init(0, NULL, NULL), 0);
    RUN(test_mysql_query_cooperates);
    mysql_library_end();
    return 0;
}
