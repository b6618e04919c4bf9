/* Each way of ending a wait (guv_kill, a guv_timeout_begin deadline,
 * guv_interrupt) reaches a green thread in each blocking call (guv_yield
 * in a loop, guv_sleep, guv_park, guv_join, guv_trampoline), with the
 * call's own errno, both on the fast path (no hooks) and on the slow one
 * that hooks take: the two book their waits by different code. */
#include <sys/socket.h>

#include "test.h"

enum call { YIELD, SLEEP, PARK, JOIN, TRAMPOLINE, CALLS };
enum end { KILL, DEADLINE, INTERRUPT, ENDS };

static const char *call_names[] = {"guv_yield", "guv_sleep", "guv_park", "guv_join", "guv_trampoline"};
static const char *end_names[] = {"kill", "deadline", "interrupt"};
static const int end_errno[] = {ECANCELED, ETIMEDOUT, EINTR};

struct blocker {
    enum call call;
    enum end end;
    int64_t forever; /* what JOIN waits for */
    int rc, err;
};

static int fds[2];

static void blocks(void *arg) {
    struct blocker *b = arg;
    if (b->end == DEADLINE)
        ASSERT_OK(guv_timeout_begin(0.02));
    int rc;
    switch (b->call) {
    case YIELD:
        while ((rc = guv_yield()) == 0) {}
        break;
    case SLEEP: rc = guv_sleep(1e9); break;
    case PARK: rc = guv_park(-1); break;
    case JOIN: rc = guv_join(b->forever); break;
    default: rc = guv_trampoline(fds[0], GUV_READ); break;
    }
    b->rc = rc;
    b->err = errno;
    if (b->end == DEADLINE)
        ASSERT_OK(guv_timeout_end());
}

static int switches;

static void count_switch(void *userdata, void *task_data) {
    (void)userdata;
    (void)task_data;
    switches++;
}

static void every_call_and_end(void) {
    for (int c = 0; c < CALLS; c++) {
        for (int e = 0; e < ENDS; e++) {
            if (c == YIELD && e == INTERRUPT)
                continue; /* guv_yield does not report an interrupt: the next wait does */
            int64_t forever = guv_spawn(test_sleep_forever, NULL);
            ASSERT_OK(forever);
            struct blocker b = {.call = c, .end = e, .forever = forever, .rc = 0};
            int64_t id = guv_spawn(blocks, &b);
            ASSERT_OK(id);
            ASSERT_OK(guv_sleep(0.01)); /* it is now in its call */
            if (e == KILL)
                ASSERT_OK(guv_kill(id));
            else if (e == INTERRUPT)
                ASSERT_OK(guv_interrupt(id));
            ASSERT_OK(guv_join(id));
            if (b.rc != -1 || b.err != end_errno[e])
                FAIL("%s ended by %s returned %d, errno %s (expected -1, %s)", call_names[c], end_names[e], b.rc,
                     test_errno_name(b.err), test_errno_name(end_errno[e]));
            ASSERT_OK(guv_kill(forever));
            ASSERT_OK(guv_join(forever));
        }
    }
}

static void test_fast_path(void) { every_call_and_end(); }

static void test_slow_path_with_hooks(void) {
    guv_hooks hooks = {.size = sizeof hooks, .switch_out = count_switch};
    int h = guv_add_hooks(&hooks);
    ASSERT_OK(h);
    switches = 0;
    every_call_and_end();
    ASSERT(switches > 0); /* the green threads ran with the hooks */
    ASSERT_OK(guv_remove_hooks(h));
}

int main(void) {
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
    RUN(test_fast_path);
    RUN(test_slow_path_with_hooks);
    return 0;
}
