// guv::timeout: a deadline over a scope, as ETIMEDOUT from blocking calls.
#include <guv.hpp>

#include <unistd.h>

#include "check.hpp"

using namespace std::chrono_literals;

/* A sleep longer than the scope's deadline throws ETIMEDOUT at the deadline,
   not at the end of the sleep; expired() then says the scope's own deadline passed. */
static void test_timeout_scope_in_task() {
    auto t = guv::spawn([] {
        double start = guv_now();
        guv::timeout limit(20ms);
        CHECK(!limit.expired());
        CHECK_THROWS_ERRNO(guv::sleep(60s), ETIMEDOUT);
        CHECK(limit.expired());
        return guv_now() - start;
    });
    double took = t.join();
    CHECK(took >= 0.019 && took < 10.0);
}

/* Work that ends before the deadline is untouched, and after the scope the
   deadline no longer applies. */
static void test_scope_ends_with_block() {
    auto t = guv::spawn([] {
        {
            guv::timeout limit(1s);
            guv::sleep(1ms);
        }
        guv::sleep(5ms);
        {
            guv::timeout limit(1ms);
            CHECK_THROWS_ERRNO(guv::sleep(1s), ETIMEDOUT);
        }
        guv::sleep(2ms);
    });
    t.join();
}

/* Nested scopes: the earliest deadline wins; an inner scope cannot extend an outer one. */
static void test_nested_earliest_wins() {
    auto t = guv::spawn([] {
        guv::timeout outer(10ms);
        guv::timeout inner(60s);
        double start = guv_now();
        CHECK_THROWS_ERRNO(guv::sleep(60s), ETIMEDOUT);
        CHECK(outer.expired() && !inner.expired());
        CHECK(guv_now() - start < 10.0);
    });
    t.join();
}

/* A timeout in the joiner bounds join(), and the handle stays joinable. */
static void test_timeout_bounds_join() {
    auto slow = guv::spawn([] { guv::sleep(50ms); return 9; });
    {
        guv::timeout limit(5ms);
        CHECK_THROWS_ERRNO(slow.join(), ETIMEDOUT);
    }
    CHECK(slow.joinable());
    CHECK(slow.join() == 9);
}

/* Inside a scope that passed, a trampoline with its own longer timeout throws
   ETIMEDOUT rather than reporting "not ready", so a retry loop cannot spin. */
static void test_scope_beats_trampoline_timeout() {
    int fds[2];
    CHECK(pipe(fds) == 0);
    auto t = guv::spawn([fd = fds[0]] {
        guv::timeout limit(5ms);
        int rounds = 0;
        try {
            while (guv::trampoline(fd, guv::readable, 1s) == 0) ++rounds;
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::timed_out);
            return rounds;
        }
        return -1;
    });
    CHECK(t.join() == 0);
    CHECK(guv_close(fds[0]) == 0 && close(fds[1]) == 0);
}

int main() {
    RUN(test_timeout_scope_in_task);
    RUN(test_scope_ends_with_block);
    RUN(test_nested_earliest_wins);
    RUN(test_timeout_bounds_join);
    RUN(test_scope_beats_trampoline_timeout);
    return 0;
}
