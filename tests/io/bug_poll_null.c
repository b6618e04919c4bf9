/* Known core bug (kept out of `make test`; run with make test-io-known-bugs).
 *
 * poll(NULL, 0, timeout) is a legitimate way to sleep; guv_poll(NULL, 0, 10)
 * should wait 10 ms and return 0. Instead src/io.rs builds a slice with
 * slice::from_raw_parts(NULL, 0), which is undefined behaviour: the debug
 * build aborts the process ("unsafe precondition(s) violated:
 * slice::from_raw_parts requires the pointer to be aligned and non-null").
 * With timeout 0 it returns before that line and works. */
#include "io.h"

static void test_poll_null_sleeps(void) {
    ASSERT_EQ(guv_poll(NULL, 0, 0), 0);
    double t0 = guv_now();
    ASSERT_EQ(guv_poll(NULL, 0, 10), 0);
    ASSERT(guv_now() - t0 >= 0.009);
}

int main(void) {
    RUN(test_poll_null_sleeps);
    return 0;
}
