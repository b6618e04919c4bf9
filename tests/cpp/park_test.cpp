// guv::park, guv::unpark, guv::interrupt, guv::check, guv::stack_bounds,
// guv::version: the small calls for building on guv.
#include <guv.hpp>

#include <cstdint>
#include <optional>

#include "check.hpp"

using namespace std::chrono_literals;

/* A parked task sleeps until unparked by another task (by id or by handle). */
static void test_park_until_unparked() {
    int stage = 0;
    auto sleeper = guv::spawn([&] {
        stage = 1;
        guv::park();
        stage = 2;
        CHECK(guv::park(1s));
        stage = 3;
    });
    guv::yield();
    CHECK(stage == 1);
    guv::sleep(5ms);
    CHECK(stage == 1);  // nothing woke it
    guv::unpark(sleeper.id());
    guv::yield();
    CHECK(stage == 2);
    guv::unpark(sleeper);
    sleeper.join();
    CHECK(stage == 3);
    // A joined handle's id is 0, main's: unpark and interrupt refuse it.
    CHECK_THROWS_ERRNO(guv::unpark(sleeper), EINVAL);
    CHECK_THROWS_ERRNO(guv::interrupt(sleeper), EINVAL);
}

/* An unpark that comes first is kept, once: the next park returns at once,
   the one after waits (here until its timeout, returning false). */
static void test_permit_is_kept_once() {
    auto t = guv::spawn([] {
        guv::unpark(guv::current());
        guv::unpark(guv::current());  // not counted
        CHECK(guv::park(0ms));
        double start = guv_now();
        CHECK(!guv::park(10ms));
        CHECK(guv_now() - start >= 0.009);
        CHECK(guv::park(std::optional<std::chrono::duration<double>>(0s)) == false);
    });
    t.join();
}

/* Main can park too, woken by a task through id 0; a park with nothing that
   could ever unpark it fails with EDEADLK rather than hanging. */
static void test_main_parks() {
    auto waker = guv::spawn([] {
        guv::sleep(2ms);
        guv::unpark(0);
    });
    guv::park();
    waker.join();
    CHECK_THROWS_ERRNO(guv::park(), EDEADLK);
}

/* An enclosing guv::timeout ends a park with ETIMEDOUT, even one with a
   longer timeout of its own; a kill with ECANCELED. */
static void test_deadline_and_kill() {
    auto t = guv::spawn([] {
        guv::timeout limit(5ms);
        guv::park(10s);
    });
    CHECK_THROWS_ERRNO(t.join(), ETIMEDOUT);
    auto k = guv::spawn([] { guv::park(); });
    guv::yield();
    k.kill();
    CHECK_THROWS_ERRNO(k.join(), ECANCELED);
    CHECK_THROWS_ERRNO(guv::unpark(1 << 30), ESRCH);
}

/* interrupt() ends the current blocking call with EINTR, once: the task goes
   on and its next call blocks as usual. */
static void test_interrupt_is_one_shot() {
    int eintr = 0;
    auto t = guv::spawn([&] {
        try {
            guv::sleep(60s);
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::interrupted);
            ++eintr;
        }
        guv::sleep(1ms);
        return eintr;
    });
    guv::yield();
    guv::interrupt(t);
    CHECK(t.join() == 1);
    CHECK_THROWS_ERRNO(guv::interrupt(1 << 30), ESRCH);
}

/* check() says whether the caller may go on, without suspending: ECANCELED
   once killed, ETIMEDOUT once a guv::timeout passed. */
static void test_check() {
    guv::check();
    auto t = guv::spawn([] {
        guv::check();
        guv::timeout limit(1ms);
        while (!limit.expired()) {
        }
        CHECK_THROWS_ERRNO(guv::check(), ETIMEDOUT);
    });
    t.join();
    auto k = guv::spawn([] {
        try {
            guv::sleep(60s);
        } catch (const std::system_error&) {
        }
        CHECK_THROWS_ERRNO(guv::check(), ECANCELED);
    });
    guv::yield();
    k.kill();
    k.join();
}

/* stack_bounds() holds the task's frames and the size asked for; main has
   none (ESRCH). version() is the header's. */
static void test_stack_bounds_and_version() {
    auto t = guv::spawn_with_stack(128 * 1024, [] {
        guv::stack_region s = guv::stack_bounds();
        auto lo = reinterpret_cast<std::uintptr_t>(s.lo);
        // The frame, not a local: ASan may keep locals on a fake stack.
        auto at = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
        CHECK(at >= lo && at < lo + s.size);
        CHECK(s.size >= 128 * 1024);
    });
    t.join();
    CHECK_THROWS_ERRNO(guv::stack_bounds(), ESRCH);
    CHECK(guv::version() == GUV_VERSION);
}

int main() {
    RUN(test_park_until_unparked);
    RUN(test_permit_is_kept_once);
    RUN(test_main_parks);
    RUN(test_deadline_and_kill);
    RUN(test_interrupt_is_one_shot);
    RUN(test_check);
    RUN(test_stack_bounds_and_version);
    return 0;
}
