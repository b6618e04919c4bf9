/* The fd wrappers inside green threads that never call guv: close and dup2
 * wake waiters with EBADF, O_NONBLOCK never shows in F_GETFL, SO_RCVTIMEO
 * holds, fds the owner made non-blocking and regular files pass through,
 * the per-fd cache follows fcntl, and a refused switch blocks the plain way. */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook_test.h"

static int pairs[DRV_CONCURRENCY][2];

static void open_pairs(void)
{
    for (int i = 0; i < DRV_CONCURRENCY; i++)
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]));
}

static void close_pairs(void)
{
    for (int i = 0; i < DRV_CONCURRENCY; i++) {
        close(pairs[i][0]);
        close(pairs[i][1]);
    }
}

/* Blocks in read() on its socket until another green thread ends the fd. */
static void read_until_gone(int i, void *ctx)
{
    (void)ctx;
    char b;
    errno = 0;
    ssize_t r = read(pairs[i][0], &b, 1);
    int e = errno;
    ASSERT_EQ(r, -1);
    ASSERT_EQ(e, EBADF);
}

static void close_later(void *arg)
{
    (void)arg;
    usleep((useconds_t)(HOOK_WAIT * 1e6));
    for (int i = 0; i < DRV_CONCURRENCY; i++)
        ASSERT_OK(close(pairs[i][0]));
}

/* 50 readers blocked in read(); a close of each fd wakes its reader with EBADF. */
static void test_close_wakes_reader(void)
{
    open_pairs();
    ASSERT_OK(guv_spawn(close_later, NULL));
    hook_check_parallel("read() ended by close()", read_until_gone, NULL);
    for (int i = 0; i < DRV_CONCURRENCY; i++)
        close(pairs[i][1]);
}

static int spare = -1;

static void dup2_later(void *arg)
{
    (void)arg;
    usleep((useconds_t)(HOOK_WAIT * 1e6));
    for (int i = 0; i < DRV_CONCURRENCY; i++)
        ASSERT_EQ(dup2(spare, pairs[i][0]), pairs[i][0]);
}

/* dup2 onto an fd a reader waits on replaces it: the reader gets EBADF. */
static void test_dup2_wakes_reader(void)
{
    open_pairs();
    spare = open("/dev/null", O_RDONLY);
    ASSERT_OK(spare);
    ASSERT_OK(guv_spawn(dup2_later, NULL));
    hook_check_parallel("read() ended by dup2()", read_until_gone, NULL);
    close_pairs();
    close(spare);
}

/* While a reader waits on a pipe (guv sets O_NONBLOCK for each attempt),
 * everyone else still sees the flags its owner set. */
static int pipes[DRV_CONCURRENCY][2];

static void read_pipe(int i, void *ctx)
{
    (void)ctx;
    char b;
    ASSERT_EQ(read(pipes[i][0], &b, 1), 1);
    ASSERT_EQ(b, 'p');
    ASSERT_EQ(fcntl(pipes[i][0], F_GETFL) & O_NONBLOCK, 0);
}

static void check_flags_then_write(void *arg)
{
    (void)arg;
    usleep((useconds_t)(HOOK_WAIT * 1e6));
    for (int i = 0; i < DRV_CONCURRENCY; i++) {
        ASSERT_EQ(fcntl(pipes[i][0], F_GETFL) & O_NONBLOCK, 0);
        ASSERT_EQ(write(pipes[i][1], "p", 1), 1);
    }
}

static void test_nonblock_never_leaks(void)
{
    for (int i = 0; i < DRV_CONCURRENCY; i++)
        ASSERT_OK(pipe(pipes[i]));
    ASSERT_OK(guv_spawn(check_flags_then_write, NULL));
    hook_check_parallel("pipe read() with F_GETFL checked meanwhile", read_pipe, NULL);
    for (int i = 0; i < DRV_CONCURRENCY; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
}

/* SO_RCVTIMEO of 0.2 s: recv fails with EAGAIN after it, and only the caller waits. */
static void recv_times_out(int i, void *ctx)
{
    (void)ctx;
    struct timeval tv = { 0, (long)(HOOK_WAIT * 1e6) };
    ASSERT_OK(setsockopt(pairs[i][0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    char b;
    errno = 0;
    ssize_t r = recv(pairs[i][0], &b, 1, 0);
    int e = errno;
    ASSERT_EQ(r, -1);
    ASSERT_EQ(e, EAGAIN);
}

static void test_so_rcvtimeo(void)
{
    open_pairs();
    hook_check_parallel("recv() with SO_RCVTIMEO", recv_times_out, NULL);
    close_pairs();
}

/* The owner's O_NONBLOCK is obeyed (EAGAIN at once), and clearing it with
 * fcntl makes the next read wait cooperatively: the cache follows fcntl. */
static void nonblocking_then_blocking(int i, void *ctx)
{
    (void)ctx;
    int fd = pairs[i][0];
    int fl = fcntl(fd, F_GETFL);
    ASSERT_OK(fcntl(fd, F_SETFL, fl | O_NONBLOCK));
    char b;
    errno = 0;
    ssize_t r = read(fd, &b, 1);
    int e = errno;
    ASSERT_EQ(r, -1);
    ASSERT_EQ(e, EAGAIN);
    ASSERT_OK(fcntl(fd, F_SETFL, fl));
    ASSERT_EQ(read(fd, &b, 1), 1);
    ASSERT_EQ(b, 'n');
}

static void write_pairs_later(void *arg)
{
    (void)arg;
    usleep((useconds_t)(HOOK_WAIT * 1e6));
    for (int i = 0; i < DRV_CONCURRENCY; i++)
        ASSERT_EQ(write(pairs[i][1], "n", 1), 1);
}

static void test_nonblocking_fd_passes_through(void)
{
    open_pairs();
    ASSERT_OK(guv_spawn(write_pairs_later, NULL));
    hook_check_parallel("O_NONBLOCK read, fcntl, then blocking read", nonblocking_then_blocking, NULL);
    close_pairs();
}

/* A regular file is read and written as plain libc does, inside a green thread. */
static void file_io(void *arg)
{
    char path[] = "/tmp/guv_hook_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_OK(fd);
    unlink(path);
    ASSERT_EQ(write(fd, "regular", 7), 7);
    ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
    char buf[16] = { 0 };
    ASSERT_EQ(read(fd, buf, sizeof buf), 7);
    ASSERT(strcmp(buf, "regular") == 0);
    ASSERT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    *(int *)arg = 1;
}

static void test_regular_file(void)
{
    int done = 0;
    ASSERT_OK(guv_spawn(file_io, &done));
    ASSERT_OK(guv_run());
    ASSERT_EQ(done, 1);
}

/* With may_switch saying no, a read blocks the OS thread as plain read()
 * does and returns the data another OS thread writes, instead of failing
 * with EDEADLK or switching. */
static int32_t never_switch(void *userdata, void *task_data)
{
    (void)userdata, (void)task_data;
    return 0;
}

static void *write_from_thread(void *arg)
{
    usleep((useconds_t)(HOOK_WAIT * 1e6));
    ASSERT_EQ(write(*(int *)arg, "t", 1), 1);
    return NULL;
}

static int reader_done;

static void read_without_switching(void *arg)
{
    int *sv = arg;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, write_from_thread, &sv[1]), 0);
    char b;
    ASSERT_EQ(read(sv[0], &b, 1), 1);
    ASSERT_EQ(b, 't');
    struct timespec ts = { 0, 10000000 };
    ASSERT_EQ(nanosleep(&ts, NULL), 0);
    pthread_join(t, NULL);
    reader_done = 1;
}

/* Spawned after the reader: it runs only once the reader is done, had the
 * reader switched while it waited, it would have seen reader_done == 0. */
static void see_reader(void *arg)
{
    *(int *)arg = reader_done;
}

static void test_refused_switch_blocks_plainly(void)
{
    guv_hooks hooks = { .size = sizeof(guv_hooks), .may_switch = never_switch };
    int set = guv_add_hooks(&hooks);
    ASSERT_OK(set);
    int sv[2], seen = -1;
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    double t0 = guv_now();
    ASSERT_OK(guv_spawn(read_without_switching, sv));
    ASSERT_OK(guv_spawn(see_reader, &seen));
    ASSERT_OK(guv_run());
    ASSERT_OK(guv_remove_hooks(set));
    ASSERT(guv_now() - t0 >= HOOK_WAIT * 0.95);
    ASSERT_EQ(seen, 1);
    close(sv[0]);
    close(sv[1]);
}

/* A vfork child shares the parent's memory, hub included, but not its fds:
 * its dup2 onto an fd the parent waits on (CPython's subprocess does this)
 * must leave the parent's reader waiting, not wake it with EBADF. */
static void read_a_byte(void *arg)
{
    int *sv = arg;
    char b;
    ASSERT_EQ(read(sv[0], &b, 1), 1);
    ASSERT_EQ(b, 'v');
    sv[2] = 1;
}

static void vfork_then_write(void *arg)
{
    int *sv = arg;
    int devnull = open("/dev/null", O_RDONLY);
    ASSERT_OK(devnull);
    pid_t pid = vfork();
    if (pid == 0) {
        dup2(devnull, sv[0]);
        close(sv[0]);
        _exit(0);
    }
    ASSERT_OK(pid);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    close(devnull);
    usleep(50000);
    ASSERT_EQ(sv[2], 0);
    ASSERT_EQ(write(sv[1], "v", 1), 1);
}

static void test_vfork_child_leaves_waiters(void)
{
    int sv[3] = { -1, -1, 0 };
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    ASSERT_OK(guv_spawn(read_a_byte, sv));
    ASSERT_OK(guv_spawn(vfork_then_write, sv));
    ASSERT_OK(guv_run());
    ASSERT_EQ(sv[2], 1);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    RUN(test_close_wakes_reader);
    RUN(test_dup2_wakes_reader);
    RUN(test_nonblock_never_leaks);
    RUN(test_so_rcvtimeo);
    RUN(test_nonblocking_fd_passes_through);
    RUN(test_regular_file);
    RUN(test_refused_switch_blocks_plainly);
    RUN(test_vfork_child_leaves_waiters);
    return 0;
}
