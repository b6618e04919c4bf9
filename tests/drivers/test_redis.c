/* guv/hiredis.h against the live Redis server (GUV_TEST_REDIS, "host:port"). */
#include <string.h>
#include <unistd.h>

#include "guv/hiredis.h"

#include "drivers.h"

static char host[128];
static int port;

static redisContext *connect_ok(void)
{
    redisContext *c = guv_redisConnect(host, port);
    ASSERT(c != NULL);
    if (c->err)
        FAIL("cannot connect to Redis at %s:%d (set GUV_TEST_REDIS): %s", host, port, c->errstr);
    return c;
}

/* A key no other run or test uses. */
static void unique_key(char *buf, size_t n, const char *what, int i)
{
    snprintf(buf, n, "guv:test:%s:%d:%d:%.0f", what, (int)getpid(), i, guv_now() * 1e6);
}

/* Status, string, integer, nil and error replies come back as hiredis builds them. */
static void test_reply_types(void)
{
    redisContext *c = connect_ok();
    char key[96];
    unique_key(key, sizeof key, "types", 0);
    redisReply *r = guv_redisCommand(c, "SET %s %s", key, "41");
    ASSERT(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0);
    freeReplyObject(r);
    r = guv_redisCommand(c, "INCR %s", key);
    ASSERT(r && r->type == REDIS_REPLY_INTEGER);
    ASSERT_EQ(r->integer, 42);
    freeReplyObject(r);
    r = guv_redisCommand(c, "GET %s", key);
    ASSERT(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "42") == 0);
    freeReplyObject(r);
    r = guv_redisCommand(c, "GET %s:missing", key);
    ASSERT(r && r->type == REDIS_REPLY_NIL);
    freeReplyObject(r);
    /* A command error is an error reply, and the context stays usable. */
    r = guv_redisCommand(c, "HGET %s field", key);
    ASSERT(r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "WRONGTYPE") != NULL);
    freeReplyObject(r);
    ASSERT_EQ(c->err, 0);
    r = guv_redisCommand(c, "DEL %s", key);
    ASSERT(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
    redisFree(c);
}

/* An 8 MiB binary value goes out and comes back whole over many writes and reads. */
static void test_large_value(void)
{
    redisContext *c = connect_ok();
    size_t n = 8u << 20;
    char *big = malloc(n), key[96];
    ASSERT(big != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7 + (i >> 13));
    unique_key(key, sizeof key, "big", 0);
    const char *argv[3] = { "SET", key, big };
    size_t lens[3] = { 3, strlen(key), n };
    redisReply *r = guv_redisCommandArgv(c, 3, argv, lens);
    ASSERT(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = guv_redisCommand(c, "GET %s", key);
    ASSERT(r && r->type == REDIS_REPLY_STRING);
    ASSERT_EQ(r->len, n);
    ASSERT(memcmp(r->str, big, n) == 0);
    freeReplyObject(r);
    freeReplyObject(guv_redisCommand(c, "DEL %s", key));
    free(big);
    redisFree(c);
}

/* 10000 pipelined commands get their replies in order. */
static void test_pipeline(void)
{
    redisContext *c = connect_ok();
    char key[96];
    unique_key(key, sizeof key, "pipe", 0);
    for (int i = 0; i < 10000; i++)
        ASSERT_EQ(redisAppendCommand(c, "INCR %s", key), REDIS_OK);
    for (int i = 1; i <= 10000; i++) {
        redisReply *r;
        ASSERT_EQ(guv_redisGetReply(c, (void **)&r), REDIS_OK);
        ASSERT(r->type == REDIS_REPLY_INTEGER);
        ASSERT_EQ(r->integer, i);
        freeReplyObject(r);
    }
    freeReplyObject(guv_redisCommand(c, "DEL %s", key));
    redisFree(c);
}

struct pubsub {
    char channel[96];
    int subscribed;
    int received;
};

static void subscriber(void *arg)
{
    struct pubsub *ps = (struct pubsub *)arg;
    redisContext *c = connect_ok();
    redisReply *r = guv_redisCommand(c, "SUBSCRIBE %s", ps->channel);
    ASSERT(r && r->type == REDIS_REPLY_ARRAY && strcmp(r->element[0]->str, "subscribe") == 0);
    freeReplyObject(r);
    ps->subscribed = 1;
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(guv_redisGetReply(c, (void **)&r), REDIS_OK);
        ASSERT(r->type == REDIS_REPLY_ARRAY && r->elements == 3);
        ASSERT(strcmp(r->element[0]->str, "message") == 0);
        ASSERT_EQ(atoi(r->element[2]->str), i);
        freeReplyObject(r);
        ps->received++;
    }
    redisFree(c);
}

/* Pub/sub: a subscriber waits for messages with guv_redisGetReply while
 * another green thread publishes them. */
static void test_pubsub(void)
{
    struct pubsub ps = { "", 0, 0 };
    unique_key(ps.channel, sizeof ps.channel, "channel", 0);
    int64_t sub = guv_spawn(subscriber, &ps);
    ASSERT_OK(sub);
    redisContext *c = connect_ok();
    while (!ps.subscribed)
        ASSERT_OK(guv_sleep(0.01));
    for (int i = 0; i < 3; i++) {
        redisReply *r = guv_redisCommand(c, "PUBLISH %s %d", ps.channel, i);
        ASSERT(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
        freeReplyObject(r);
    }
    ASSERT_OK(guv_join(sub));
    ASSERT_EQ(ps.received, 3);
    redisFree(c);
}

static void blpop_sleeper(int i, void *ctx)
{
    (void)ctx;
    char key[96];
    unique_key(key, sizeof key, "blpop", i);
    redisContext *c = connect_ok();
    redisReply *r = guv_redisCommand(c, "BLPOP %s 0.2", key);
    ASSERT(r != NULL);
    ASSERT(r->type == REDIS_REPLY_NIL); /* timed out on the server: nothing was pushed */
    freeReplyObject(r);
    redisFree(c);
}

/* 50 connections blocked 0.2 s in BLPOP overlap, and the hub keeps running. */
static void test_cooperation(void)
{
    struct drv_ticker ticker;
    double elapsed = drv_parallel(DRV_CONCURRENCY, blpop_sleeper, NULL, &ticker);
    drv_check_cooperation("BLPOP", elapsed, &ticker);
}

/* The context after an interrupted command: failed hiredis' way, for good. */
static void assert_failed(redisContext *c, int err)
{
    ASSERT_EQ(c->err, REDIS_ERR_IO);
    ASSERT(strcmp(c->errstr, strerror(err)) == 0);
    ASSERT(guv_redisCommand(c, "PING") == NULL);
}

/* A deadline interrupts a 5 s BLPOP within a second: NULL, ETIMEDOUT, context failed. */
static void test_deadline(void)
{
    redisContext *c = connect_ok();
    char key[96];
    unique_key(key, sizeof key, "deadline", 0);
    double t0 = guv_now();
    ASSERT_OK(guv_timeout_begin(0.3));
    redisReply *r = guv_redisCommand(c, "BLPOP %s 5", key);
    int err = errno;
    ASSERT_OK(guv_timeout_end());
    double took = guv_now() - t0;
    printf("  deadline 0.3 s: returned after %.2f s (%s)\n", took, c->errstr);
    ASSERT(r == NULL);
    ASSERT_EQ(err, ETIMEDOUT);
    ASSERT(took < 1.0);
    assert_failed(c, ETIMEDOUT);
    redisFree(c);
}

struct killed {
    redisContext *c;
    void *reply;
    int err;
};

static void killed_blpop(void *arg)
{
    struct killed *k = (struct killed *)arg;
    k->reply = guv_redisCommand(k->c, "BLPOP guv:test:never:%d 5", (int)getpid());
    k->err = errno;
}

/* A kill mid-BLPOP returns within a second: NULL, ECANCELED, context failed. */
static void test_kill_mid_command(void)
{
    struct killed k = { connect_ok(), NULL, 0 };
    double took = drv_kill_after(killed_blpop, &k, 0.3);
    printf("  kill: the command returned %.2f s after the kill\n", took);
    ASSERT(took < 1.0);
    ASSERT(k.reply == NULL);
    ASSERT_EQ(k.err, ECANCELED);
    assert_failed(k.c, ECANCELED);
    redisFree(k.c);
}

/* A connect whose deadline has passed gives a failed context and ETIMEDOUT. */
static void test_connect_deadline(void)
{
    ASSERT_OK(guv_timeout_begin(0));
    redisContext *c = guv_redisConnect(host, port);
    int err = errno;
    ASSERT_OK(guv_timeout_end());
    ASSERT(c != NULL);
    ASSERT_EQ(err, ETIMEDOUT);
    ASSERT_EQ(c->err, REDIS_ERR_IO);
    redisFree(c);
}

/* A refused connect is a failed context saying so, as with redisConnect. */
static void test_connect_refused(void)
{
    redisContext *c = guv_redisConnect("127.0.0.1", 1);
    ASSERT(c != NULL);
    ASSERT_EQ(c->err, REDIS_ERR_IO);
    ASSERT(strcmp(c->errstr, "Connection refused") == 0);
    redisFree(c);
    /* The Unix-socket variant fails the same way on a path nobody listens at. */
    c = guv_redisConnectUnix("/nonexistent/guv-redis.sock");
    ASSERT(c != NULL);
    ASSERT_EQ(c->err, REDIS_ERR_IO);
    redisFree(c);
}

int main(void)
{
    drv_redis_target(host, &port);
    RUN(test_reply_types);
    RUN(test_large_value);
    RUN(test_pipeline);
    RUN(test_pubsub);
    RUN(test_cooperation);
    RUN(test_deadline);
    RUN(test_kill_mid_command);
    RUN(test_connect_deadline);
    RUN(test_connect_refused);
    return 0;
}
