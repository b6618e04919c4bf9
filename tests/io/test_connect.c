/* guv_connect: success on a listening port, ECONNREFUSED on a closed one,
 * the socket's flags unchanged either way. */
#include <stddef.h>
#include <sys/time.h>
#include <sys/un.h>

#include "io.h"

/* A blocking socket connects; the flag stays off and the connection works. */
static void test_connect_succeeds(void) {
    struct sockaddr_in a;
    int l = io_listener(&a);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(guv_connect(s, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT(!io_nonblocking(s));
    int c = guv_accept(l, NULL, NULL);
    ASSERT(c >= 0);
    ASSERT_EQ(guv_write(s, "x", 1), 1);
    char b;
    ASSERT_EQ(guv_read(c, &b, 1), 1);
    ASSERT_EQ(b, 'x');
    /* Connecting again is refused as connect(2) refuses it. */
    ASSERT_ERRNO(guv_connect(s, (struct sockaddr *)&a, sizeof a), EISCONN);
    ASSERT_EQ(guv_close(c), 0);
    ASSERT_EQ(guv_close(s), 0);
    ASSERT_EQ(guv_close(l), 0);
}

/* Nothing listens: ECONNREFUSED, flag unchanged. */
static void test_connect_refused(void) {
    struct sockaddr_in a = io_closed_port();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_ERRNO(guv_connect(s, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
    ASSERT(!io_nonblocking(s));
    ASSERT_EQ(guv_close(s), 0);
}

static int refused_count;

static void connect_refused(void *arg) {
    struct sockaddr_in *a = arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_ERRNO(guv_connect(s, (struct sockaddr *)a, sizeof *a), ECONNREFUSED);
    refused_count++;
    ASSERT_EQ(guv_close(s), 0);
}

/* From green threads: each gets its own result. */
static void test_connect_from_green_threads(void) {
    struct sockaddr_in a = io_closed_port();
    refused_count = 0;
    for (int i = 0; i < 10; i++) ASSERT(guv_spawn(connect_refused, &a) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(refused_count, 10);
}

/* A non-blocking socket passes straight through: success or EINPROGRESS,
 * never a wait, and the flag is still on. */
static void test_connect_nonblocking(void) {
    struct sockaddr_in a;
    int l = io_listener(&a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    errno = 0;
    int r = guv_connect(s, (struct sockaddr *)&a, sizeof a);
    ASSERT(r == 0 || errno == EINPROGRESS);
    ASSERT(io_nonblocking(s));
    ASSERT_EQ(guv_close(s), 0);
    ASSERT_EQ(guv_close(l), 0);
}

/* A UNIX-domain stream socket connects the same way (not only TCP). */
static void test_connect_unix(void) {
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    /* An abstract name: nothing on the file system to clean up. */
    snprintf(u.sun_path + 1, sizeof u.sun_path - 1, "guv-test-connect-%d", (int)getpid());
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(u.sun_path + 1));
    ASSERT_EQ(bind(l, (struct sockaddr *)&u, len), 0);
    ASSERT_EQ(listen(l, 4), 0);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ(guv_connect(s, (struct sockaddr *)&u, len), 0);
    ASSERT_EQ(guv_close(s), 0);
    ASSERT_EQ(guv_close(l), 0);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_ERRNO(guv_connect(s, (struct sockaddr *)&u, len), ECONNREFUSED);
    ASSERT_EQ(guv_close(s), 0);
}

/* A listener whose accept queue is full (backlog 0, one connection
 * queued): the kernel drops further SYNs, so a connect to it hangs. */
static int full_listener(struct sockaddr_in *a, int *queued) {
    int l = io_bound(SOCK_STREAM, a);
    ASSERT_EQ(listen(l, 0), 0);
    *queued = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    errno = 0;
    ASSERT(connect(*queued, (struct sockaddr *)a, sizeof *a) == 0 || errno == EINPROGRESS);
    struct pollfd p = {*queued, POLLOUT, 0};
    ASSERT_EQ(poll(&p, 1, 1000), 1);
    return l;
}

static struct sockaddr_in hang_addr;
static int hang_result, hang_errno, hang_ticks;

static void connect_hanging(void *arg) {
    int deadline = *(int *)arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (deadline) ASSERT_OK(guv_timeout_begin(0.15));
    errno = 0;
    int before = io_ticks;
    hang_result = guv_connect(s, (struct sockaddr *)&hang_addr, sizeof hang_addr);
    hang_errno = errno;
    hang_ticks = io_ticks - before;
    if (deadline) ASSERT_OK(guv_timeout_end());
    ASSERT(!io_nonblocking(s));
    ASSERT_EQ(guv_close(s), 0);
}

/* A connect that cannot complete waits cooperatively (the ticker runs) until
 * a guv_timeout_begin deadline ends it with ETIMEDOUT, or guv_kill with ECANCELED. */
static void test_connect_waits_cooperatively(void) {
    int queued;
    int l = full_listener(&hang_addr, &queued);
    int with_deadline = 1, without = 0;
    int64_t ticker = io_ticker_start();
    double t0 = guv_now();
    ASSERT(guv_spawn(connect_hanging, &with_deadline) >= 1);
    ASSERT_EQ(guv_sleep(0.3), 0);
    ASSERT_EQ(hang_result, -1);
    ASSERT_EQ(hang_errno, ETIMEDOUT);
    ASSERT(hang_ticks >= 1);
    int64_t id = guv_spawn(connect_hanging, &without);
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_join(id), 0);
    ASSERT_EQ(hang_result, -1);
    ASSERT_EQ(hang_errno, ECANCELED);
    ASSERT(guv_now() - t0 < 2.0);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_join(ticker), 0);
    ASSERT_EQ(guv_close(queued), 0);
    ASSERT_EQ(guv_close(l), 0);
}

/* SO_SNDTIMEO bounds a blocking connect: ETIMEDOUT, as guv_connect's doc says
 * (Linux's own connect(2) reports EINPROGRESS in that case). */
static void test_connect_sndtimeo(void) {
    int queued;
    int l = full_listener(&hang_addr, &queued);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {0, 150 * 1000};
    ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
    double t0 = guv_now();
    ASSERT_ERRNO(guv_connect(s, (struct sockaddr *)&hang_addr, sizeof hang_addr), ETIMEDOUT);
    double took = guv_now() - t0;
    ASSERT(took >= 0.14 && took < 2.0);
    ASSERT_EQ(guv_close(s), 0);
    ASSERT_EQ(guv_close(queued), 0);
    ASSERT_EQ(guv_close(l), 0);
}

int main(void) {
    RUN(test_connect_succeeds);
    RUN(test_connect_refused);
    RUN(test_connect_from_green_threads);
    RUN(test_connect_nonblocking);
    RUN(test_connect_unix);
    RUN(test_connect_waits_cooperatively);
    RUN(test_connect_sndtimeo);
    return 0;
}
