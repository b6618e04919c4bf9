/* MSG_WAITALL: guv_recv returns only once the whole length has come in
 * (or EOF / an error), however many pieces the peer sends it in. */
#include "io.h"

static char got[100];

static void send_in_pieces(void *arg) {
    int fd = *(int *)arg;
    for (int i = 0; i < 10; i++) {
        char piece[10];
        memset(piece, 'a' + i, sizeof piece);
        ASSERT_EQ(guv_sleep(0.01), 0);
        ASSERT_EQ(guv_send(fd, piece, sizeof piece, 0), 10);
    }
}

/* Ten 10-byte pieces, 10 ms apart: one recv of 100 bytes gets them all. */
static void test_waitall_collects_pieces(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(send_in_pieces, &sv[1]) >= 1);
    memset(got, 0, sizeof got);
    ASSERT_EQ(guv_recv(sv[0], got, sizeof got, MSG_WAITALL), 100);
    for (int i = 0; i < 100; i++) ASSERT_EQ(got[i], 'a' + i / 10);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

/* Without MSG_WAITALL the same recv returns the first piece alone. */
static void test_without_waitall(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(send_in_pieces, &sv[1]) >= 1);
    ASSERT_EQ(guv_recv(sv[0], got, sizeof got, 0), 10);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

static void send_then_shutdown(void *arg) {
    int fd = *(int *)arg;
    ASSERT_EQ(guv_send(fd, "thirty bytes of data, at most.", 30, 0), 30);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
}

/* EOF before the full length: the bytes received so far. */
static void test_waitall_eof(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(send_then_shutdown, &sv[1]) >= 1);
    ASSERT_EQ(guv_recv(sv[0], got, sizeof got, MSG_WAITALL), 30);
    ASSERT(memcmp(got, "thirty bytes of data, at most.", 30) == 0);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

/* With MSG_DONTWAIT too, nothing waits: what is there, or EAGAIN. */
static void test_waitall_dontwait(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT_ERRNO(guv_recv(sv[0], got, sizeof got, MSG_WAITALL | MSG_DONTWAIT), EAGAIN);
    ASSERT_EQ(write(sv[1], "12345", 5), 5);
    ASSERT_EQ(guv_recv(sv[0], got, sizeof got, MSG_WAITALL | MSG_DONTWAIT), 5);
    io_close2(sv);
}

int main(void) {
    RUN(test_waitall_collects_pieces);
    RUN(test_without_waitall);
    RUN(test_waitall_eof);
    RUN(test_waitall_dontwait);
    return 0;
}
