/* A blocking-mode write cut short (deadline, kill) returns the bytes it
 * wrote, as an interrupted blocking write does; the next call reports the
 * error. Nothing is lost or duplicated: the peer reads exactly that count. */
#include "io.h"

#define BIG (4u << 20)
static int sv[2];
static ssize_t wrote;
static int wrote_errno;
static int64_t writer_id;
static long consumed;

static void writer(void *arg) {
    int deadline = *(int *)arg;
    unsigned char *buf = malloc(BIG);
    for (size_t i = 0; i < BIG; i++) buf[i] = (unsigned char)(i % 253);
    if (deadline) ASSERT_OK(guv_timeout_begin(0.15));
    errno = 0;
    wrote = guv_write(sv[1], buf, BIG);
    wrote_errno = errno;
    /* The error comes with the next call. */
    if (deadline) {
        ASSERT_ERRNO(guv_write(sv[1], buf, 1), ETIMEDOUT);
        ASSERT_OK(guv_timeout_end());
    } else {
        ASSERT_ERRNO(guv_write(sv[1], buf, 1), ECANCELED);
    }
    free(buf);
}

/* Reads 256 KiB then stops, so the writer is stuck with most of BIG. */
static void slow_reader(void *arg) {
    (void)arg;
    static unsigned char b[1 << 16];
    consumed = 0;
    while (consumed < (256 << 10)) {
        ssize_t r = guv_read(sv[0], b, sizeof b);
        ASSERT(r > 0);
        consumed += r;
    }
    ASSERT_EQ(guv_sleep(0.3), 0);
    if (writer_id) ASSERT_EQ(guv_kill(writer_id), 0);
}

/* Everything left for the peer to read, checking the byte pattern goes
 * on from where the reader stopped. */
static long read_rest_checked(void) {
    static unsigned char b[1 << 16];
    ASSERT_EQ(shutdown(sv[1], SHUT_WR), 0);
    long total = consumed;
    ssize_t r;
    while ((r = recv(sv[0], b, sizeof b, MSG_DONTWAIT)) > 0) {
        for (ssize_t i = 0; i < r; i++) ASSERT_EQ(b[i], (unsigned char)((total + i) % 253));
        total += r;
    }
    return total - consumed;
}

static void run(int deadline) {
    io_socketpair(sv, 0);
    wrote = -2;
    writer_id = 0;
    ASSERT(guv_spawn(slow_reader, NULL) >= 1);
    int64_t id = guv_spawn(writer, &deadline);
    if (!deadline) writer_id = id;
    ASSERT_EQ(guv_run(), 0);
    ASSERT(wrote > (256 << 10) && wrote < (ssize_t)BIG);
    /* What the reader took plus what is left is exactly what was reported. */
    long rest = read_rest_checked();
    ASSERT(rest > 0);
    ASSERT_EQ(consumed + rest, wrote);
    io_close2(sv);
}

/* Cut by a guv_timeout_begin deadline. */
static void test_write_cut_by_deadline(void) { run(1); }

/* Cut by guv_kill. */
static void test_write_cut_by_kill(void) { run(0); }

int main(void) {
    RUN(test_write_cut_by_deadline);
    RUN(test_write_cut_by_kill);
    return 0;
}
