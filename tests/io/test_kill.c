/* guv_kill of a green thread blocked in an I/O call: the call fails with
 * ECANCELED at once, and so does every later blocking call. */
#include "io.h"

static int sv[2];
static int step;

static void blocked_reader(void *arg) {
    (void)arg;
    char b[8];
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ECANCELED);
    step = 1;
    /* Later calls fail too, even when data is there and they would not wait. */
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ECANCELED);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ECANCELED);
    ASSERT_ERRNO(guv_write(sv[0], "y", 1), ECANCELED);
    step = 2;
}

/* A read waiting for data is cancelled; the fd is free for another reader. */
static void test_kill_during_read(void) {
    io_socketpair(sv, 0);
    step = 0;
    int64_t id = guv_spawn(blocked_reader, NULL);
    ASSERT(id >= 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(step, 0);
    double t0 = guv_now();
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_join(id), 0);
    ASSERT(guv_now() - t0 < 0.5);
    ASSERT_EQ(step, 2);
    char b[8];
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 1);
    io_close2(sv);
}

static int cancelled;

static void blocked_call(void *arg) {
    long which = (long)(intptr_t)arg;
    struct sockaddr_in a;
    int l = io_listener(&a);
    int p[2];
    io_socketpair(p, 0);
    struct pollfd pf = {p[0], POLLIN, 0};
    static char big[1 << 20];
    long r = 0;
    errno = 0;
    switch (which) {
    case 0: r = guv_accept(l, NULL, NULL); break;
    case 1: r = guv_poll(&pf, 1, -1); break;
    case 2: io_fill(p[0]); r = guv_write(p[0], big, sizeof big); break;
    case 3: r = guv_recv(p[0], big, 10, MSG_WAITALL); break;
    }
    if (r != -1 || errno != ECANCELED) FAIL("call %ld returned %ld, errno %s", which, r, test_errno_name(errno));
    cancelled++;
    ASSERT_EQ(guv_close(l), 0);
    io_close2(p);
}

/* accept, poll, a write waiting for room and a MSG_WAITALL recv: each is
 * cancelled by guv_kill. */
static void test_kill_other_calls(void) {
    int64_t ids[4];
    cancelled = 0;
    for (long i = 0; i < 4; i++) ASSERT((ids[i] = guv_spawn(blocked_call, (void *)(intptr_t)i)) >= 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(cancelled, 0);
    for (int i = 0; i < 4; i++) ASSERT_EQ(guv_kill(ids[i]), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(cancelled, 4);
}

int main(void) {
    RUN(test_kill_during_read);
    RUN(test_kill_other_calls);
    return 0;
}
