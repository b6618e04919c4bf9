/* hiredis' blocking context cooperates under libguv_hook: each worker
 * connects and runs BLPOP on an empty key of its own with a 0.2 s timeout,
 * through plain redisConnect/redisCommand (connect + poll, then write and
 * read on a blocking socket). */
#include <hiredis/hiredis.h>
#include <unistd.h>

#include "drivers.h"

static const char *host;
static int port;

static void blpop(int i, void *ctx)
{
    (void)ctx;
    redisContext *c = redisConnect(host, port);
    if (!c || c->err)
        FAIL("worker %d: cannot connect to Redis at %s:%d (set GUV_TEST_REDIS): %s", i, host, port,
             c ? c->errstr : "out of memory");
    /* The server's BLPOP timeout is in seconds with decimals since Redis 6. */
    redisReply *r = redisCommand(c, "BLPOP guv:hook:%d:%d %.1f", (int)getpid(), i, DRV_SLEEP);
    if (!r)
        FAIL("worker %d: BLPOP: %s", i, c->errstr);
    /* An empty key times out: a nil reply after DRV_SLEEP seconds. */
    ASSERT_EQ(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    redisFree(c);
}

static void test_blpop_cooperates(void)
{
    struct drv_ticker ticker;
    double elapsed = drv_parallel(DRV_CONCURRENCY, blpop, NULL, &ticker);
    drv_check_cooperation("redisConnect + redisCommand(BLPOP)", elapsed, &ticker);
}

int main(void)
{
    /* GUV_TEST_REDIS is "host:port". */
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", drv_env("GUV_TEST_REDIS", "127.0.0.1:6379"));
    char *colon = strrchr(buf, ':');
    ASSERT(colon != NULL);
    *colon = 0;
    host = buf;
    port = atoi(colon + 1);
    RUN(test_blpop_cooperates);
    return 0;
}
