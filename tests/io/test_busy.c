/* One waiter per event per fd: a second green thread reading an fd that
 * another is already waiting to read gets EBUSY; one reader and one writer
 * on the same fd are fine. */
#include "io.h"

static int sv[2];
static ssize_t first_n, second_n;
static int second_errno;

static void first_reader(void *arg) {
    (void)arg;
    char b[8];
    first_n = guv_read(sv[0], b, sizeof b);
}

static void second_reader(void *arg) {
    (void)arg;
    char b[8];
    errno = 0;
    second_n = guv_read(sv[0], b, sizeof b);
    second_errno = errno;
}

/* The second reader is refused at once; the first still gets the data. */
static void test_second_reader_is_busy(void) {
    io_socketpair(sv, 0);
    first_n = second_n = -2;
    ASSERT(guv_spawn(first_reader, NULL) >= 1);
    ASSERT(guv_spawn(second_reader, NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(second_n, -1);
    ASSERT_EQ(second_errno, EBUSY);
    ASSERT_EQ(first_n, -2);
    ASSERT_EQ(write(sv[1], "data", 4), 4);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(first_n, 4);
    io_close2(sv);
}

/* Once the first reader is done, the fd is free for a new reader. */
static void test_reader_slot_is_released(void) {
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(first_reader, NULL) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(write(sv[1], "1", 1), 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(first_n, 1);
    ASSERT(guv_spawn(second_reader, NULL) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(write(sv[1], "22", 2), 2);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(second_n, 2);
    io_close2(sv);
}

#define BIG (4u << 20)
static long written, readback;

static void big_writer(void *arg) {
    (void)arg;
    char *buf = calloc(1, BIG);
    written = guv_write(sv[0], buf, BIG);
    free(buf);
}

static void peer_echo(void *arg) {
    (void)arg;
    /* Drains what sv[0] writes, and answers once with a few bytes. */
    static char sink[1 << 16];
    long total = 0;
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(guv_write(sv[1], "back", 4), 4);
    while (total < BIG) {
        ssize_t n = guv_read(sv[1], sink, sizeof sink);
        ASSERT(n > 0);
        total += n;
    }
}

static void reader_of_back(void *arg) {
    (void)arg;
    char b[4];
    readback = guv_read(sv[0], b, sizeof b);
}

/* A reader and a writer wait on the same fd at the same time: both finish. */
static void test_reader_and_writer_share_fd(void) {
    io_socketpair(sv, 0);
    written = readback = -2;
    ASSERT(guv_spawn(big_writer, NULL) >= 1);
    ASSERT(guv_spawn(reader_of_back, NULL) >= 1);
    ASSERT(guv_spawn(peer_echo, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(written, BIG);
    ASSERT_EQ(readback, 4);
    io_close2(sv);
}

int main(void) {
    RUN(test_second_reader_is_busy);
    RUN(test_reader_slot_is_released);
    RUN(test_reader_and_writer_share_fd);
    return 0;
}
