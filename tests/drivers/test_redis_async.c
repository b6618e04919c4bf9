/* guv_redisAsyncAttach: hiredis' async API on guv, against the live Redis (GUV_TEST_REDIS). */
#include <string.h>
#include <unistd.h>

#include "guv/hiredis.h"

#include "drivers.h"

static char host[128];
static int port;

/* What one async context saw. */
struct seen {
    int connected;    /* connect callback status + 1 (0: not called) */
    int disconnected; /* disconnect callback status + 1 */
    char got[64];
    int replies;
    int *done;        /* counts contexts whose last reply came */
};

static void on_connect(const redisAsyncContext *ac, int status)
{
    ((struct seen *)ac->data)->connected = status + 1;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    ((struct seen *)ac->data)->disconnected = status + 1;
}

static redisAsyncContext *attach(const char *ip, int p, struct seen *s)
{
    redisAsyncContext *ac = redisAsyncConnect(ip, p);
    ASSERT(ac != NULL);
    ASSERT_EQ(ac->err, 0);
    ac->data = s;
    ASSERT_EQ(guv_redisAsyncAttach(ac), REDIS_OK);
    ASSERT_EQ(guv_redisAsyncAttach(ac), REDIS_ERR); /* attached once only */
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

static void on_set(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    redisReply *reply = (redisReply *)r;
    ASSERT(reply && reply->type == REDIS_REPLY_STATUS);
    ((struct seen *)ac->data)->replies++;
}

static void on_get_then_disconnect(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    redisReply *reply = (redisReply *)r;
    struct seen *s = (struct seen *)ac->data;
    ASSERT(reply && reply->type == REDIS_REPLY_STRING);
    snprintf(s->got, sizeof s->got, "%s", reply->str);
    s->replies++;
    if (s->done)
        ++*s->done;
    redisAsyncDisconnect(ac);
}

/* Commands sent from main get their callbacks while guv_run() runs, which
 * returns once the context is disconnected. */
static void test_set_get(void)
{
    struct seen s = { 0 };
    char key[64];
    snprintf(key, sizeof key, "guv:test:async:%d", (int)getpid());
    redisAsyncContext *ac = attach(host, port, &s);
    ASSERT_EQ(redisAsyncCommand(ac, on_set, NULL, "SET %s %s", key, "value"), REDIS_OK);
    ASSERT_EQ(redisAsyncCommand(ac, on_get_then_disconnect, NULL, "GET %s", key), REDIS_OK);
    ASSERT_OK(guv_run());
    ASSERT_EQ(s.connected, REDIS_OK + 1);
    ASSERT_EQ(s.replies, 2);
    ASSERT(strcmp(s.got, "value") == 0);
    ASSERT_EQ(s.disconnected, REDIS_OK + 1);
}

static void on_blpop(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    redisReply *reply = (redisReply *)r;
    struct seen *s = (struct seen *)ac->data;
    ASSERT(reply && reply->type == REDIS_REPLY_NIL);
    s->replies++;
    ++*s->done;
    redisAsyncDisconnect(ac);
}

struct stopper {
    struct drv_ticker *ticker;
    int *done;
};

/* Stops the ticker once every context has its reply. */
static void stop_when_done(void *arg)
{
    struct stopper *st = (struct stopper *)arg;
    while (*st->done < DRV_CONCURRENCY && guv_sleep(0.005) == 0) {}
    st->ticker->stop = 1;
}

/* 50 async contexts blocked 0.2 s in BLPOP overlap, and the hub keeps running. */
static void test_cooperation(void)
{
    static struct seen s[DRV_CONCURRENCY];
    int done = 0;
    struct drv_ticker ticker = { 0, 0, 0 };
    struct stopper st = { &ticker, &done };
    double t0 = guv_now();
    ASSERT_OK(guv_spawn(drv_tick, &ticker));
    ASSERT_OK(guv_spawn(stop_when_done, &st));
    for (int i = 0; i < DRV_CONCURRENCY; i++) {
        s[i] = (struct seen){ .done = &done };
        redisAsyncContext *ac = attach(host, port, &s[i]);
        ASSERT_EQ(redisAsyncCommand(ac, on_blpop, NULL, "BLPOP guv:test:async:%d:%d 0.2",
                                    (int)getpid(), i),
                  REDIS_OK);
    }
    ASSERT_OK(guv_run());
    double elapsed = guv_now() - t0;
    ASSERT_EQ(done, DRV_CONCURRENCY);
    for (int i = 0; i < DRV_CONCURRENCY; i++)
        ASSERT_EQ(s[i].disconnected, REDIS_OK + 1);
    drv_check_cooperation("async BLPOP", elapsed, &ticker);
}

static void on_reply_after_free(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    struct seen *s = (struct seen *)ac->data;
    ASSERT(r == NULL); /* hiredis hands pending callbacks NULL when the context is freed */
    s->replies++;
}

struct freer {
    redisAsyncContext *ac;
};

static void free_after_a_while(void *arg)
{
    ASSERT_OK(guv_sleep(0.2));
    redisAsyncFree(((struct freer *)arg)->ac);
}

/* redisAsyncFree from another green thread while the reader waits in a 5 s
 * BLPOP: the pending callback gets NULL, the reader ends, guv_run returns. */
static void test_free_while_waiting(void)
{
    struct seen s = { 0 };
    struct freer f = { attach(host, port, &s) };
    ASSERT_EQ(redisAsyncCommand(f.ac, on_reply_after_free, NULL, "BLPOP guv:test:async:never:%d 5",
                                (int)getpid()),
              REDIS_OK);
    ASSERT_OK(guv_spawn(free_after_a_while, &f));
    double t0 = guv_now();
    ASSERT_OK(guv_run());
    ASSERT(guv_now() - t0 < 1.0);
    ASSERT_EQ(s.replies, 1);
    ASSERT_EQ(s.connected, REDIS_OK + 1);
}

/* A refused connect reaches the connect callback as REDIS_ERR with hiredis'
 * message, and guv_run() returns. */
static void test_connect_refused(void)
{
    struct seen s = { 0 };
    redisAsyncContext *ac = attach("127.0.0.1", 1, &s);
    (void)ac; /* hiredis frees it after the failed connect */
    ASSERT_OK(guv_run());
    ASSERT_EQ(s.connected, REDIS_ERR + 1);
}

int main(void)
{
    drv_redis_target(host, &port);
    RUN(test_set_get);
    RUN(test_cooperation);
    RUN(test_free_while_waiting);
    RUN(test_connect_refused);
    return 0;
}
