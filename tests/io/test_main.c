/* Calls made from main (outside any green thread): they block main as the
 * plain call would, but the hub runs the green threads meanwhile. */
#include "io.h"

/* main's guv_read waits while a green thread sleeps and then writes; a
 * ticker green thread ticks meanwhile. */
static void test_read_in_main(void) {
    int sv[2];
    io_socketpair(sv, 0);
    struct io_later w = {sv[1], 0.1, "from green", 10};
    int64_t ticker = io_ticker_start();
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    char b[16];
    ASSERT_EQ(guv_current(), 0);
    int before = io_ticks;
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 10);
    ASSERT(memcmp(b, "from green", 10) == 0);
    ASSERT(io_ticks > before);
    ASSERT(!io_nonblocking(sv[0]));
    io_ticker_stop = 1;
    ASSERT_EQ(guv_join(ticker), 0);
    io_close2(sv);
}

/* main writes 4 MiB into a blocking socket a green thread drains. */
static void test_write_in_main(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(io_drain, &sv[0]) >= 1);
    size_t len = 4u << 20;
    char *buf = calloc(1, len);
    ASSERT_EQ(guv_write(sv[1], buf, len), len);
    free(buf);
    ASSERT_EQ(shutdown(sv[1], SHUT_WR), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(io_drained, (long)len);
    io_close2(sv);
}

static struct sockaddr_in listen_addr;

static void client(void *arg) {
    (void)arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(guv_connect(s, (struct sockaddr *)&listen_addr, sizeof listen_addr), 0);
    ASSERT_EQ(guv_write(s, "hi", 2), 2);
    char b[2];
    ASSERT_EQ(guv_read(s, b, 2), 0); /* main closes without answering */
    ASSERT_EQ(guv_close(s), 0);
}

/* main accepts connections from green threads, and polls. */
static void test_accept_and_poll_in_main(void) {
    int l = io_listener(&listen_addr);
    ASSERT(guv_spawn(client, NULL) >= 1);
    int c = guv_accept(l, NULL, NULL);
    ASSERT(c >= 0);
    struct pollfd p = {c, POLLIN, 0};
    ASSERT_EQ(guv_poll(&p, 1, 5000), 1);
    char b[2];
    ASSERT_EQ(guv_recv(c, b, 2, MSG_WAITALL), 2);
    ASSERT_EQ(guv_close(c), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_close(l), 0);
}

/* Deadlines work in main too. */
static void test_deadline_in_main(void) {
    int sv[2];
    io_socketpair(sv, 0);
    char b[1];
    ASSERT_OK(guv_timeout_begin(0.05));
    ASSERT_ERRNO(guv_read(sv[0], b, 1), ETIMEDOUT);
    ASSERT_OK(guv_timeout_end());
    io_close2(sv);
}

/* A second OS thread has a hub of its own: its main-side read works the
 * same way, independently of this thread's hub. */
static void *other_thread(void *arg) {
    (void)arg;
    test_read_in_main();
    return NULL;
}

static void test_read_in_other_threads_main(void) {
    test_on_thread(other_thread, NULL);
}

int main(void) {
    RUN(test_read_in_main);
    RUN(test_write_in_main);
    RUN(test_accept_and_poll_in_main);
    RUN(test_deadline_in_main);
    RUN(test_read_in_other_threads_main);
    return 0;
}
