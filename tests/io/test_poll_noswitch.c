/* Regression test (was a known core bug, fixed in src/io.rs).
 *
 * src/ffi/io.rs says the I/O calls, inside a guv_call_on_hub() callback or
 * when the hooks' may_switch refuses, "block the OS thread as the plain call
 * would". guv_read/guv_recv/guv_accept/guv_connect do (io::wait falls back to
 * poll(2)), but guv_poll does not: it goes through hub::trampoline, which
 * fails with EPERM on the hub's stack (EDEADLK when may_switch refuses).
 * libpq's wait loop calls poll(), so a driver used from a hub callback or a
 * GIL-holding thread breaks where read() would have worked. */
#include "io.h"

static int sv[2];
static int polled, polled_errno;

static void *write_from_thread(void *arg) {
    (void)arg;
    usleep(50 * 1000);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    return NULL;
}

static void poll_one(void *arg) {
    (void)arg;
    struct pollfd p = {sv[0], POLLIN, 0};
    errno = 0;
    polled = guv_poll(&p, 1, 2000);
    polled_errno = errno;
}

static void check_poll_blocks(void (*how)(void)) {
    io_socketpair(sv, 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, write_from_thread, NULL), 0);
    polled = -2;
    how();
    ASSERT_EQ(pthread_join(t, NULL), 0);
    if (polled != 1) FAIL("guv_poll returned %d (%s), expected 1", polled, test_errno_name(polled_errno));
    io_close2(sv);
}

static void on_hub(void) { ASSERT_EQ(guv_call_on_hub(poll_one, NULL), 0); }

static void test_poll_in_call_on_hub(void) { check_poll_blocks(on_hub); }

static int refuse(void *userdata, void *task_data) {
    (void)userdata;
    (void)task_data;
    return 0;
}

static void refused(void) {
    guv_hooks h = {.size = sizeof(guv_hooks), .may_switch = refuse};
    int set = guv_add_hooks(&h);
    ASSERT(set > 0);
    ASSERT(guv_spawn(poll_one, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_remove_hooks(set), 0);
}

static void test_poll_when_may_switch_refuses(void) { check_poll_blocks(refused); }

int main(void) {
    RUN(test_poll_when_may_switch_refuses);
    RUN(test_poll_in_call_on_hub);
    return 0;
}
