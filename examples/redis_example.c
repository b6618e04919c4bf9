/*
 * Ten green threads, each with its own Redis connection, block 0.1 s in
 * BLPOP at once while an eleventh pushes to one of them: the whole takes
 * about 0.1 s, not 1 s.
 *
 *   cc redis_example.c $(pkg-config --cflags --libs hiredis guv) -o redis_example
 *   ./redis_example        # Redis at 127.0.0.1:6379
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <guv/hiredis.h>

static int failures;

static void waiter(void *arg)
{
    int id = (int)(intptr_t)arg;
    redisContext *c = guv_redisConnect("127.0.0.1", 6379);
    redisReply *r = c->err ? NULL : guv_redisCommand(c, "BLPOP guv:example:%d:%d 0.1", getpid(), id);
    if (!r) {
        fprintf(stderr, "waiter %d: %s\n", id, c->errstr);
        failures++;
    } else if (r->type == REDIS_REPLY_ARRAY) {
        printf("waiter %d got %s\n", id, r->element[1]->str);
    } else {
        printf("waiter %d timed out\n", id);
    }
    freeReplyObject(r);
    redisFree(c);
}

static void pusher(void *arg)
{
    (void)arg;
    redisContext *c = guv_redisConnect("127.0.0.1", 6379);
    freeReplyObject(guv_redisCommand(c, "RPUSH guv:example:%d:7 hello", getpid()));
    redisFree(c);
}

int main(void)
{
    double t0 = guv_now();
    for (intptr_t i = 1; i <= 10; i++)
        guv_spawn(waiter, (void *)i);
    guv_spawn(pusher, NULL);
    guv_run();
    printf("10 BLPOPs of 0.1 s took %.2f s\n", guv_now() - t0);
    return failures != 0;
}
