/* Known core bug (kept out of `make test`; run with make test-io-known-bugs).
 *
 * After a blocking-mode guv_connect() succeeds, connecting the same socket
 * again must fail with EISCONN, as connect(2) on a blocking socket does.
 * guv_connect() returns 0 instead: it connected with O_NONBLOCK and waited
 * for writability, which leaves Linux's socket in SS_CONNECTING, so the next
 * connect(2) "completes" it and returns 0. Calling connect(2) once more after
 * SO_ERROR reads 0 would finish the handshake in the kernel's books too. */
#include "io.h"

static void test_connect_twice_is_eisconn(void) {
    struct sockaddr_in a;
    int l = io_listener(&a);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(guv_connect(s, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_ERRNO(guv_connect(s, (struct sockaddr *)&a, sizeof a), EISCONN);
    ASSERT_EQ(guv_close(s), 0);
    ASSERT_EQ(guv_close(l), 0);
}

int main(void) {
    RUN(test_connect_twice_is_eisconn);
    return 0;
}
