/* Known core bug, or a doc to change (kept out of `make test`; run with
 * make test-io-known-bugs).
 *
 * guv_kill's doc: "its current blocking guv call (if it is suspended in one)
 * and every later one return -1 with errno ECANCELED". guv_sleep(0) after a
 * kill does fail with ECANCELED, but a guv_read on an fd with data ready
 * returns the data: the I/O layer only asks the hub (and so learns of the
 * kill) once an attempt has seen EAGAIN. A killed green thread in a loop of
 * reads on a busy socket therefore never notices it was killed. */
#include "io.h"

static int sv[2];
static ssize_t after_kill;
static int after_kill_errno;

static void reader(void *arg) {
    (void)arg;
    char b[8];
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ECANCELED);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    errno = 0;
    after_kill = guv_read(sv[0], b, sizeof b);
    after_kill_errno = errno;
}

static void test_read_after_kill_is_cancelled(void) {
    io_socketpair(sv, 0);
    int64_t id = guv_spawn(reader, NULL);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(after_kill, -1);
    ASSERT_EQ(after_kill_errno, ECANCELED);
    io_close2(sv);
}

int main(void) {
    RUN(test_read_after_kill_is_cancelled);
    return 0;
}
