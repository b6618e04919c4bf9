/* Regression test (was a known core bug, fixed in src/io.rs: toggled_op reads the flags afresh).
 *
 * Since 2f56ce8 the I/O layer remembers an fd's F_GETFL flags from its first
 * wait, and guv_forget's doc asks callers to call it after changing the mode.
 * Code that does not know about guv (a library that calls fcntl itself, as
 * libpq's PQsetnonblocking does) breaks that silently, and on the
 * non-socket path (pipes, ttys, files) guv then *writes* the stale flags
 * back: toggled_op restores the remembered flags after each attempt, so a
 * caller's later O_NONBLOCK or O_APPEND is undone. Expected: guv never
 * changes an fd's flags (it restores what the fd had just before its own
 * F_SETFL). Got: the flag the caller set is gone after one guv_read. */
#include "io.h"

/* Blocking pipe used once, then made O_NONBLOCK without guv_forget. */
static void test_pipe_flags_not_overwritten(void) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(write(p[1], "ab", 2), 2);
    char b[1];
    ASSERT_EQ(guv_read(p[0], b, 1), 1);
    ASSERT_EQ(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK), 0);
    ASSERT_EQ(guv_read(p[0], b, 1), 1);
    ASSERT(io_nonblocking(p[0]));
    io_close2(p);
}

/* A file used once, then given O_APPEND: a guv_write must keep O_APPEND. */
static void test_file_append_not_dropped(void) {
    FILE *f = tmpfile();
    int fd = fileno(f);
    ASSERT_EQ(guv_write(fd, "12345", 5), 5);
    ASSERT_EQ(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND), 0);
    ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
    ASSERT_EQ(guv_write(fd, "6", 1), 1);
    ASSERT(fcntl(fd, F_GETFL) & O_APPEND);
    ASSERT_EQ(lseek(fd, 0, SEEK_END), 6);
    ASSERT_OK(guv_forget(fd));
    fclose(f);
}

int main(void) {
    RUN(test_pipe_flags_not_overwritten);
    RUN(test_file_append_not_dropped);
    return 0;
}
