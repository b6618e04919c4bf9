/* guv_check, guv_trampoline_after_eagain and guv_version. */
#include <sys/socket.h>

#include "test.h"

/* A green thread learns it was killed, or that its deadline passed,
 * without suspending. */
static void checker(void *arg) {
    int *seen = arg;
    ASSERT_EQ(guv_check(), 0);
    ASSERT_OK(guv_kill(guv_current()));
    ASSERT_ERRNO(guv_check(), ECANCELED);
    *seen = 1;
}

static void test_check_sees_kill(void) {
    int seen = 0;
    ASSERT(guv_spawn(checker, &seen) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(seen, 1);
}

/* In main: a deadline of 0 s has passed at once; after it ends, all is well. */
static void test_check_sees_deadline(void) {
    ASSERT_EQ(guv_check(), 0);
    ASSERT_OK(guv_timeout_begin(0.0));
    ASSERT_ERRNO(guv_check(), ETIMEDOUT);
    ASSERT_OK(guv_timeout_end());
    ASSERT_EQ(guv_check(), 0);
}

static int sv[2];

static void eagain_reader(void *arg) {
    char c;
    (void)arg;
    ASSERT_EQ(read(sv[0], &c, 1), -1); /* nothing yet: EAGAIN on the non-blocking end */
    ASSERT_EQ(errno, EAGAIN);
    ASSERT_EQ(guv_trampoline_after_eagain(sv[0], GUV_READ, -1), GUV_READ);
    ASSERT_EQ(read(sv[0], &c, 1), 1);
    ASSERT_EQ(c, 'x');
    /* Known not ready again: the wait times out as asked. */
    ASSERT_ERRNO(guv_trampoline_after_eagain(sv[0], GUV_READ, 0.05), ETIMEDOUT);
}

static void late_writer(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.02));
    ASSERT_EQ(write(sv[1], "x", 1), 1);
}

/* A waiter that just saw EAGAIN is woken by the next write. */
static void test_after_eagain_wakes(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ASSERT(guv_spawn(eagain_reader, NULL) >= 1);
    ASSERT(guv_spawn(late_writer, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_OK(guv_close(sv[0]));
    ASSERT_OK(guv_close(sv[1]));
}

/* Its argument checks are those of guv_trampoline_timeout. */
static void test_after_eagain_errors(void) {
    ASSERT_ERRNO(guv_trampoline_after_eagain(-1, GUV_READ, 1), EBADF);
    ASSERT_ERRNO(guv_trampoline_after_eagain(0, 0, 1), EINVAL);
    ASSERT_ERRNO(guv_trampoline_after_eagain(0, GUV_READ, 0.0 / 0.0), EINVAL);
}

/* The loaded library's version is the one the header was generated with. */
static void test_version_matches_header(void) {
    ASSERT(strcmp(guv_version(), GUV_VERSION) == 0);
}

int main(void) {
    RUN(test_version_matches_header);
    RUN(test_check_sees_kill);
    RUN(test_check_sees_deadline);
    RUN(test_after_eagain_wakes);
    RUN(test_after_eagain_errors);
    return 0;
}
