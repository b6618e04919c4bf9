/* guv/mysql.h against the live MariaDB server (GUV_TEST_MYSQL). */
#include <string.h>

#include "guv/mysql.h"

#include "drivers.h"

/* GUV_TEST_MYSQL is "host=... port=... user=... password=... db=...". */
static char host[128] = "127.0.0.1", user[64] = "root", password[64] = "", db[64] = "test";
static unsigned port = 3306;

static void parse_target(const char *s)
{
    char buf[512], *save;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *key = strtok_r(buf, " ", &save); key; key = strtok_r(NULL, " ", &save)) {
        char *val = strchr(key, '=');
        if (!val)
            FAIL("GUV_TEST_MYSQL: expected key=value, got %s", key);
        *val++ = 0;
        if (!strcmp(key, "host")) snprintf(host, sizeof host, "%s", val);
        else if (!strcmp(key, "port")) port = (unsigned)atoi(val);
        else if (!strcmp(key, "user")) snprintf(user, sizeof user, "%s", val);
        else if (!strcmp(key, "password")) snprintf(password, sizeof password, "%s", val);
        else if (!strcmp(key, "db")) snprintf(db, sizeof db, "%s", val);
        else FAIL("GUV_TEST_MYSQL: unknown key %s", key);
    }
}

static MYSQL *connect_flags(unsigned long flags)
{
    MYSQL *m = mysql_init(NULL);
    ASSERT(m != NULL);
    if (!guv_mysql_real_connect(m, host, user, password, db, port, NULL, flags))
        FAIL("cannot connect to MariaDB at %s:%u as %s (set GUV_TEST_MYSQL): %s", host, port, user,
             mysql_error(m));
    return m;
}

static MYSQL *connect_ok(void)
{
    return connect_flags(0);
}

/* Runs `sql` and returns its single value as a long. */
static long query_long(MYSQL *m, const char *sql)
{
    if (guv_mysql_query(m, sql) != 0)
        FAIL("%s: %s", sql, mysql_error(m));
    MYSQL_RES *res = guv_mysql_store_result(m);
    ASSERT(res != NULL);
    MYSQL_ROW row = guv_mysql_fetch_row(res);
    ASSERT(row != NULL && row[0] != NULL);
    long v = atol(row[0]);
    guv_mysql_free_result(res);
    return v;
}

/* Values and NULLs come back as the connector reports them. */
static void test_values_and_nulls(void)
{
    MYSQL *m = connect_ok();
    ASSERT_EQ(guv_mysql_query(m, "SELECT 42, 'hello', NULL"), 0);
    MYSQL_RES *res = guv_mysql_store_result(m);
    ASSERT(res != NULL);
    ASSERT_EQ(mysql_num_fields(res), 3);
    MYSQL_ROW row = guv_mysql_fetch_row(res);
    ASSERT(row != NULL);
    ASSERT(strcmp(row[0], "42") == 0);
    ASSERT(strcmp(row[1], "hello") == 0);
    ASSERT(row[2] == NULL);
    ASSERT(guv_mysql_fetch_row(res) == NULL);
    guv_mysql_free_result(res);
    guv_mysql_close(m);
}

/* A failing statement is a nonzero return with the server's error number,
 * and the connection stays usable. */
static void test_sql_error(void)
{
    MYSQL *m = connect_ok();
    ASSERT(guv_mysql_query(m, "SELECT * FROM guv_no_such_table") != 0);
    ASSERT_EQ(mysql_errno(m), 1146); /* ER_NO_SUCH_TABLE */
    ASSERT(strstr(mysql_error(m), "guv_no_such_table") != NULL);
    ASSERT_EQ(query_long(m, "SELECT 7"), 7);
    guv_mysql_close(m);
}

/* 200000 rows span many reads, both stored and streamed with use_result. */
static void test_large_result(void)
{
    MYSQL *m = connect_ok();
    const char *sql = "SELECT seq, REPEAT('x', 20) FROM seq_1_to_200000";
    ASSERT_EQ(guv_mysql_query(m, sql), 0);
    MYSQL_RES *res = guv_mysql_store_result(m);
    ASSERT(res != NULL);
    ASSERT_EQ(mysql_num_rows(res), 200000);
    guv_mysql_free_result(res);

    ASSERT_EQ(guv_mysql_query(m, sql), 0);
    res = mysql_use_result(m);
    ASSERT(res != NULL);
    long long sum = 0, rows = 0;
    MYSQL_ROW row;
    while ((row = guv_mysql_fetch_row(res)) != NULL) {
        sum += atol(row[0]);
        rows++;
    }
    ASSERT_EQ(mysql_errno(m), 0);
    ASSERT_EQ(rows, 200000);
    ASSERT_EQ(sum, 200000LL * 200001 / 2);
    guv_mysql_free_result(res);
    ASSERT_EQ(query_long(m, "SELECT 8"), 8);
    guv_mysql_close(m);
}

/* A use_result freed half-read drops the rest and leaves the connection in sync. */
static void test_free_unfinished_result(void)
{
    MYSQL *m = connect_ok();
    ASSERT_EQ(guv_mysql_query(m, "SELECT seq FROM seq_1_to_100000"), 0);
    MYSQL_RES *res = mysql_use_result(m);
    ASSERT(guv_mysql_fetch_row(res) != NULL);
    guv_mysql_free_result(res);
    ASSERT_EQ(query_long(m, "SELECT 9"), 9);
    guv_mysql_close(m);
}

/* Several statements in one call yield their results in turn. */
static void test_multi_statements(void)
{
    MYSQL *m = connect_flags(CLIENT_MULTI_STATEMENTS);
    ASSERT_EQ(guv_mysql_query(m, "SELECT 1; SELECT 2; SELECT 3"), 0);
    long sum = 0;
    int status;
    do {
        MYSQL_RES *res = guv_mysql_store_result(m);
        ASSERT(res != NULL);
        sum += atol(guv_mysql_fetch_row(res)[0]);
        guv_mysql_free_result(res);
    } while ((status = guv_mysql_next_result(m)) == 0);
    ASSERT_EQ(status, -1);
    ASSERT_EQ(sum, 6);
    guv_mysql_close(m);
}

/* A prepared statement binds a parameter, streams its rows and reports NULLs. */
static void test_prepared_statement(void)
{
    MYSQL *m = connect_ok();
    MYSQL_STMT *stmt = mysql_stmt_init(m);
    const char *sql = "SELECT seq * ?, IF(seq = 2, NULL, seq) FROM seq_1_to_3";
    if (guv_mysql_stmt_prepare(stmt, sql, (unsigned long)strlen(sql)) != 0)
        FAIL("prepare: %s", mysql_stmt_error(stmt));
    long long factor = 10, product = 0, plain = 0;
    MYSQL_BIND param = { 0 }, out[2];
    param.buffer_type = MYSQL_TYPE_LONGLONG;
    param.buffer = &factor;
    ASSERT_EQ(mysql_stmt_bind_param(stmt, &param), 0);
    ASSERT_EQ(guv_mysql_stmt_execute(stmt), 0);
    my_bool is_null[2];
    memset(out, 0, sizeof out);
    out[0].buffer_type = out[1].buffer_type = MYSQL_TYPE_LONGLONG;
    out[0].buffer = &product;
    out[1].buffer = &plain;
    out[0].is_null = &is_null[0];
    out[1].is_null = &is_null[1];
    ASSERT_EQ(mysql_stmt_bind_result(stmt, out), 0);
    ASSERT_EQ(guv_mysql_stmt_store_result(stmt), 0);
    for (int row = 1; row <= 3; row++) {
        ASSERT_EQ(guv_mysql_stmt_fetch(stmt), 0);
        ASSERT_EQ(product, row * 10);
        ASSERT_EQ(is_null[1], row == 2);
        if (row != 2)
            ASSERT_EQ(plain, row);
    }
    ASSERT_EQ(guv_mysql_stmt_fetch(stmt), MYSQL_NO_DATA);
    ASSERT_EQ(guv_mysql_stmt_close(stmt), 0);
    guv_mysql_close(m);
}

static void sleeper(int i, void *ctx)
{
    (void)i;
    (void)ctx;
    MYSQL *m = connect_ok();
    ASSERT_EQ(query_long(m, "SELECT SLEEP(0.2)"), 0);
    guv_mysql_close(m);
}

/* 50 connections sleeping 0.2 s on the server overlap, and the hub keeps running. */
static void test_cooperation(void)
{
    struct drv_ticker ticker;
    double elapsed = drv_parallel(DRV_CONCURRENCY, sleeper, NULL, &ticker);
    drv_check_cooperation("SLEEP", elapsed, &ticker);
}

/* The connection after a call interrupted with `err`: broken, says so the
 * connector's way, and every later call fails at once with the same errno. */
static void assert_broken(MYSQL *m, int err)
{
    unsigned e = mysql_errno(m);
    ASSERT(e == 2013 || e == 2006); /* CR_SERVER_LOST, CR_SERVER_GONE_ERROR */
    double t0 = guv_now();
    ASSERT(guv_mysql_ping(m) != 0);
    ASSERT_EQ(errno, err);
    ASSERT(guv_mysql_query(m, "SELECT 1") != 0);
    ASSERT_EQ(errno, err);
    ASSERT(guv_mysql_store_result(m) == NULL);
    ASSERT_EQ(errno, err);
    ASSERT_EQ(mysql_errno(m), 2013);
    ASSERT(guv_now() - t0 < 0.5);
}

/* A deadline interrupts a 5 s query within a second: ETIMEDOUT, and the
 * connection is reported lost. */
static void test_deadline(void)
{
    MYSQL *m = connect_ok();
    double t0 = guv_now();
    ASSERT_OK(guv_timeout_begin(0.3));
    int rc = guv_mysql_query(m, "SELECT SLEEP(5)");
    int err = errno;
    ASSERT_OK(guv_timeout_end());
    double took = guv_now() - t0;
    printf("  deadline 0.3 s: returned after %.2f s (mysql_errno %u: %s)\n", took, mysql_errno(m),
           mysql_error(m));
    ASSERT(rc != 0);
    ASSERT_EQ(err, ETIMEDOUT);
    ASSERT(took < 1.0);
    assert_broken(m, ETIMEDOUT);
    guv_mysql_close(m);
}

struct killed {
    MYSQL *m;
    int rc, err;
};

static void killed_query(void *arg)
{
    struct killed *k = (struct killed *)arg;
    k->rc = guv_mysql_query(k->m, "SELECT SLEEP(5)");
    k->err = errno;
}

/* A kill mid-query returns within a second with ECANCELED; the connection is reported lost. */
static void test_kill_mid_query(void)
{
    struct killed k = { connect_ok(), 0, 0 };
    double took = drv_kill_after(killed_query, &k, 0.3);
    printf("  kill: the query returned %.2f s after the kill\n", took);
    ASSERT(took < 1.0);
    ASSERT(k.rc != 0);
    ASSERT_EQ(k.err, ECANCELED);
    assert_broken(k.m, ECANCELED);
    guv_mysql_close(k.m);
}

/* A connect whose deadline has passed fails with ETIMEDOUT and a connector error. */
static void test_connect_deadline(void)
{
    MYSQL *m = mysql_init(NULL);
    ASSERT_OK(guv_timeout_begin(0));
    MYSQL *r = guv_mysql_real_connect(m, host, user, password, db, port, NULL, 0);
    int err = errno;
    ASSERT_OK(guv_timeout_end());
    ASSERT(r == NULL);
    ASSERT_EQ(err, ETIMEDOUT);
    ASSERT(mysql_errno(m) != 0);
    guv_mysql_close(m);
}

/* A refused connect is NULL with the connector's "can't connect" error. */
static void test_connect_refused(void)
{
    MYSQL *m = mysql_init(NULL);
    ASSERT(guv_mysql_real_connect(m, "127.0.0.1", user, password, db, 1, NULL, 0) == NULL);
    ASSERT(mysql_errno(m) == 2002 || mysql_errno(m) == 2003); /* CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR */
    guv_mysql_close(m);
}

/* ---- Two green threads on one connection ---- */

struct shared_conn {
    MYSQL *m;
    int a_rc, a_err, b_rc, b_err;
    long a_value;
};

static void first_user(void *arg)
{
    struct shared_conn *c = (struct shared_conn *)arg;
    c->a_rc = guv_mysql_query(c->m, "SELECT SLEEP(0.5), 7");
    c->a_err = errno;
    if (c->a_rc == 0) {
        MYSQL_RES *res = guv_mysql_store_result(c->m);
        ASSERT(res != NULL);
        MYSQL_ROW row = guv_mysql_fetch_row(res);
        ASSERT(row != NULL);
        c->a_value = atol(row[1]);
        guv_mysql_free_result(res);
    }
}

static void second_user(void *arg)
{
    struct shared_conn *c = (struct shared_conn *)arg;
    ASSERT_OK(guv_sleep(0.1));
    c->b_rc = guv_mysql_query(c->m, "SELECT 2");
    c->b_err = errno;
}

/* The program: the second caller gets EBUSY at once, and the first,
 * whose query is untouched, finishes with its result (before, it hung for
 * ever: the second's failure path shut the socket down under it). */
static void test_two_green_threads_one_connection(void)
{
    struct shared_conn c = { connect_ok(), -1, -1, -1, -1, 0 };
    double t0 = guv_now();
    ASSERT_OK(guv_spawn(first_user, &c));
    ASSERT_OK(guv_spawn(second_user, &c));
    ASSERT_EQ(guv_run(), 0);
    printf("  first: rc %d errno %d value %ld; second: rc %d errno %d; %.2f s\n", c.a_rc, c.a_err,
           c.a_value, c.b_rc, c.b_err, guv_now() - t0);
    ASSERT(c.b_rc != 0);
    ASSERT_EQ(c.b_err, EBUSY);
    ASSERT_EQ(c.a_rc, 0);
    ASSERT_EQ(c.a_err, 0);
    ASSERT_EQ(c.a_value, 7);
    ASSERT(guv_now() - t0 < 5);
    /* The connection is fine for the next user. */
    ASSERT_EQ(query_long(c.m, "SELECT 3"), 3);
    guv_mysql_close(c.m);
}

/* ---- A use_result fetch loop interrupted ---- */

struct fetcher {
    MYSQL *m;
    long rows_after_failure;
    int first_err, last_err, null_with_zero_errno;
    unsigned last_mysql_errno;
};

/* Streams a big result; once a fetch fails, keeps calling (as a careless
 * loop would) and records what the later calls report. */
static void fetch_loop(void *arg)
{
    struct fetcher *f = (struct fetcher *)arg;
    ASSERT_EQ(guv_mysql_query(f->m, "SELECT seq, REPEAT('x', 200) FROM seq_1_to_2000000"), 0);
    MYSQL_RES *res = mysql_use_result(f->m);
    ASSERT(res != NULL);
    MYSQL_ROW row;
    long n = 0;
    while ((row = guv_mysql_fetch_row(res)) != NULL) {
        if (++n % 1000 == 0)
            guv_sleep(0.001); /* give the killer its turn; may itself fail */
    }
    f->first_err = errno;
    for (int i = 0; i < 5000; i++) {
        row = guv_mysql_fetch_row(res);
        if (row)
            f->rows_after_failure++;
        else if (errno == 0)
            f->null_with_zero_errno++;
        f->last_err = errno;
    }
    f->last_mysql_errno = mysql_errno(f->m);
    guv_mysql_free_result(res);
}

static void check_fetcher(struct fetcher *f, int err)
{
    printf("  first failure errno %d, then %ld rows, %d NULLs with errno 0, last errno %d, "
           "mysql_errno %u\n",
           f->first_err, f->rows_after_failure, f->null_with_zero_errno, f->last_err,
           f->last_mysql_errno);
    ASSERT_EQ(f->first_err, err);
    ASSERT_EQ(f->rows_after_failure, 0);
    ASSERT_EQ(f->null_with_zero_errno, 0);
    ASSERT_EQ(f->last_err, err);
    ASSERT_EQ(f->last_mysql_errno, 2013);
}

/* A kill during the loop: every later fetch fails with ECANCELED, however
 * many rows are still buffered. */
static void test_use_result_after_kill(void)
{
    struct fetcher f = { connect_ok(), 0, 0, 0, 0, 0 };
    drv_kill_after(fetch_loop, &f, 0.2);
    check_fetcher(&f, ECANCELED);
    guv_mysql_close(f.m);
}

static void fetch_under_deadline(void *arg)
{
    ASSERT_OK(guv_timeout_begin(0.2));
    fetch_loop(arg);
    ASSERT_OK(guv_timeout_end());
    /* Still broken once the deadline is closed. */
    struct fetcher *f = (struct fetcher *)arg;
    ASSERT(guv_mysql_ping(f->m) != 0);
    ASSERT_EQ(errno, ETIMEDOUT);
}

/* Likewise a deadline: ETIMEDOUT, also after the deadline is closed. */
static void test_use_result_after_deadline(void)
{
    struct fetcher f = { connect_ok(), 0, 0, 0, 0, 0 };
    ASSERT_OK(guv_spawn(fetch_under_deadline, &f));
    ASSERT_EQ(guv_run(), 0);
    check_fetcher(&f, ETIMEDOUT);
    guv_mysql_close(f.m);
}

/* ---- Each wrapper accepts what the connector's function accepts ---- */

static void test_wrappers_accept_what_connector_does(void)
{
    ASSERT(guv_mysql_fetch_row(NULL) == NULL);
    guv_mysql_free_result(NULL);
    guv_mysql_close(NULL);
    ASSERT_EQ(guv_mysql_stmt_close(NULL), mysql_stmt_close(NULL));
    /* An unconnected handle: each call fails the connector's way. */
    MYSQL *u = mysql_init(NULL);
    ASSERT(guv_mysql_query(u, "SELECT 1") != 0);
    ASSERT(guv_mysql_real_query(u, "SELECT 1", 8) != 0);
    ASSERT(guv_mysql_store_result(u) == NULL);
    ASSERT(guv_mysql_ping(u) != 0);
    ASSERT(guv_mysql_select_db(u, "test") != 0);
    guv_mysql_next_result(u);
    guv_mysql_commit(u);
    guv_mysql_rollback(u);
    guv_mysql_autocommit(u, 1);
    guv_mysql_close(u);
    /* Statements whose connection was closed. */
    MYSQL *m = connect_ok();
    MYSQL_STMT *st = mysql_stmt_init(m);
    ASSERT(st != NULL);
    ASSERT_EQ(guv_mysql_stmt_prepare(st, "SELECT 1", 8), 0);
    guv_mysql_close(m);
    ASSERT(guv_mysql_stmt_prepare(st, "SELECT 1", 8) != 0);
    ASSERT(guv_mysql_stmt_execute(st) != 0);
    ASSERT(guv_mysql_stmt_store_result(st) != 0);
    ASSERT(guv_mysql_stmt_fetch(st) != 0);
    guv_mysql_stmt_close(st);
}

struct kill_query_ctx {
    MYSQL *victim;
    unsigned long id;
};

static void killer(void *arg)
{
    struct kill_query_ctx *k = (struct kill_query_ctx *)arg;
    MYSQL *m = connect_ok();
    char sql[64];
    ASSERT_OK(guv_sleep(0.3));
    snprintf(sql, sizeof sql, "KILL QUERY %lu", k->id);
    ASSERT_EQ(guv_mysql_query(m, sql), 0);
    guv_mysql_close(m);
}

/* The natural way to a NULL result: KILL QUERY from another connection
 * makes store_result return NULL (error 1317); fetch_row(NULL) is NULL. */
static void test_fetch_row_null_after_kill_query(void)
{
    struct kill_query_ctx k = { connect_ok(), 0 };
    k.id = mysql_thread_id(k.victim);
    ASSERT_OK(guv_spawn(killer, &k));
    int rc = guv_mysql_query(k.victim, "SELECT SLEEP(5), 1");
    MYSQL_RES *res = rc == 0 ? guv_mysql_store_result(k.victim) : NULL;
    printf("  after KILL QUERY: query rc %d, result %p, mysql_errno %u\n", rc, (void *)res,
           mysql_errno(k.victim));
    ASSERT_EQ(mysql_errno(k.victim), 1317); /* ER_QUERY_INTERRUPTED */
    ASSERT(res == NULL);
    ASSERT(guv_mysql_fetch_row(res) == NULL);
    guv_mysql_free_result(res);
    ASSERT_EQ(guv_run(), 0);
    guv_mysql_close(k.victim);
}

int main(void)
{
    parse_target(drv_env("GUV_TEST_MYSQL", "host=127.0.0.1 port=3306 user=root password= db=test"));
    RUN(test_values_and_nulls);
    RUN(test_sql_error);
    RUN(test_large_result);
    RUN(test_free_unfinished_result);
    RUN(test_multi_statements);
    RUN(test_prepared_statement);
    RUN(test_cooperation);
    RUN(test_deadline);
    RUN(test_kill_mid_query);
    RUN(test_connect_deadline);
    RUN(test_connect_refused);
    RUN(test_two_green_threads_one_connection);
    RUN(test_use_result_after_kill);
    RUN(test_use_result_after_deadline);
    RUN(test_wrappers_accept_what_connector_does);
    RUN(test_fetch_row_null_after_kill_query);
    mysql_library_end();
    return 0;
}
