/* guv_call_on_hub: short callbacks on the hub's own stack. */
#include <sys/socket.h>

#include "test.h"

static char *green_local, *hub_local;
static int cb_ran;
static int64_t cb_current;

static void on_hub(void *arg) {
    char here;
    hub_local = &here;
    cb_current = guv_current();
    cb_ran = *(int *)arg;
}

static void from_green(void *arg) {
    (void)arg;
    char here;
    green_local = &here;
    int token = 7;
    cb_ran = 0;
    ASSERT_EQ(guv_call_on_hub(on_hub, &token), 0);
    ASSERT_EQ(cb_ran, 7); /* it has run when the call returns */
    ASSERT_EQ(cb_current, guv_current());
}

/* The callback runs before the call returns, with its argument, on a stack
 * far from the green thread's (which is 256 KiB plus guard). */
static void test_runs_on_hub_stack(void) {
    ASSERT(guv_spawn(from_green, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    long dist = (long)(green_local - hub_local);
    if (dist < 0) dist = -dist;
    if (dist < 512 * 1024) FAIL("callback ran %ld bytes from the green thread's frame", dist);
}

/* From main it just runs the callback. */
static void test_from_main(void) {
    int token = 3;
    cb_ran = 0;
    ASSERT_EQ(guv_call_on_hub(on_hub, &token), 0);
    ASSERT_EQ(cb_ran, 3);
    ASSERT_EQ(cb_current, 0);
}

static int sv[2];
static int checks;

static void try_to_block(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_can_switch(), 0);
    ASSERT_ERRNO(guv_sleep(0.001), EPERM);
    ASSERT_ERRNO(guv_sleep(0), EPERM);
    ASSERT_ERRNO(guv_yield(), EPERM);
    ASSERT_ERRNO(guv_run(), EPERM);
    ASSERT_ERRNO(guv_join(guv_spawn(test_noop, NULL)), EPERM);
    ASSERT_ERRNO(guv_trampoline(sv[0], GUV_READ), EPERM);
    ASSERT_ERRNO(guv_trampoline_timeout(sv[0], GUV_READ, 1.0), EPERM);
    ASSERT_ERRNO(guv_offload(test_noop, NULL), EPERM);
    /* Calls that never block still work. */
    ASSERT_EQ(guv_trampoline_timeout(sv[0], GUV_WRITE, 0), GUV_WRITE);
    ASSERT(guv_now() > 0);
    ASSERT(guv_count() >= 1);
    checks++;
}

static void block_from_green(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_can_switch(), 1);
    ASSERT_EQ(guv_call_on_hub(try_to_block, NULL), 0);
    ASSERT_EQ(guv_can_switch(), 1);
    /* Back on its own stack, the green thread blocks normally again. */
    ASSERT_EQ(guv_sleep(0.001), 0);
    checks++;
}

/* Blocking guv calls inside the callback fail with EPERM, from a green
 * thread and from main; non-blocking ones work. */
static void test_blocking_inside_is_eperm(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    checks = 0;
    ASSERT(guv_spawn(block_from_green, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(checks, 2);
    ASSERT_EQ(guv_call_on_hub(try_to_block, NULL), 0);
    ASSERT_EQ(checks, 3);
    ASSERT_EQ(guv_run(), 0); /* the test_noop spawned from the callbacks */
    close(sv[0]);
    close(sv[1]);
}

static void nested_inner(void *arg) { ++*(int *)arg; }

static void nested_outer(void *arg) {
    ASSERT_EQ(guv_call_on_hub(nested_inner, arg), 0);
    ++*(int *)arg;
}

static void nest_from_green(void *arg) { ASSERT_EQ(guv_call_on_hub(nested_outer, arg), 0); }

/* A callback may itself call guv_call_on_hub. */
static void test_nested(void) {
    int n = 0;
    ASSERT(guv_spawn(nest_from_green, &n) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(n, 2);
}

static void many_calls(void *arg) {
    for (int i = 0; i < 1000; i++) {
        ASSERT_EQ(guv_call_on_hub(nested_inner, arg), 0);
        if (i % 100 == 0) ASSERT_EQ(guv_yield(), 0);
    }
}

/* Many callbacks from several interleaved green threads. */
static void test_many_interleaved(void) {
    int n = 0;
    for (int i = 0; i < 5; i++) ASSERT(guv_spawn(many_calls, &n) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(n, 5000);
}

/* A NULL function is refused. */
static void test_null_is_einval(void) { ASSERT_ERRNO(guv_call_on_hub(NULL, NULL), EINVAL); }

int main(void) {
    RUN(test_runs_on_hub_stack);
    RUN(test_from_main);
    RUN(test_blocking_inside_is_eperm);
    RUN(test_nested);
    RUN(test_many_interleaved);
    RUN(test_null_is_einval);
    return 0;
}
