// task::kill and guv::kill: a killed task's blocking calls throw ECANCELED.
#include <guv.hpp>

#include <unistd.h>

#include <string>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

/* Killing a task during a long sleep wakes it at once with std::system_error
   ECANCELED inside the task; join() then rethrows it. */
static void test_kill_during_sleep() {
    int where = 0;
    auto sleeper = guv::spawn([&where] {
        where = 1;
        guv::sleep(60s);
        where = 2;
    });
    auto killer = guv::spawn([&sleeper] {
        guv::sleep(5ms);
        sleeper.kill();
    });
    double start = guv_now();
    CHECK_THROWS_ERRNO(sleeper.join(), ECANCELED);
    CHECK(guv_now() - start < 10.0);
    CHECK(where == 1);
    killer.join();
}

/* A killed task can catch ECANCELED and clean up without blocking, and every
   later blocking call keeps failing, so it cannot go on by accident. */
static void test_kill_is_sticky() {
    int after = 0;
    auto t = guv::spawn([&after] {
        try {
            guv::sleep(60s);
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::operation_canceled);
        }
        CHECK_THROWS_ERRNO(guv::sleep(1ms), ECANCELED);
        ++after;
        return 3;
    });
    guv::spawn([id = t.id()] { guv::kill(id); }).detach();
    CHECK(t.join() == 3);
    CHECK(after == 1);
}

/* Killing a task waiting on an fd that never becomes ready wakes it too. */
static void test_kill_during_trampoline() {
    int fds[2];
    CHECK(pipe(fds) == 0);
    auto reader = guv::spawn([fd = fds[0]] { guv::trampoline(fd, guv::readable); });
    guv::spawn([&reader] {
        guv::sleep(2ms);
        reader.kill();
    }).detach();
    CHECK_THROWS_ERRNO(reader.join(), ECANCELED);
    CHECK(guv_close(fds[0]) == 0 && close(fds[1]) == 0);
}

/* A killed owner cannot wait for its child: the handle's destructor kills the
   child as well, so cancellation reaches the whole tree, and nothing leaks. */
static void test_killed_owner_cancels_child() {
    int child_state = 0;
    auto owner = guv::spawn([&child_state] {
        auto child = guv::spawn([&child_state] {
            child_state = 1;
            try {
                guv::sleep(60s);
            } catch (const std::system_error& e) {
                child_state = e.code() == std::errc::operation_canceled ? 2 : 3;
                throw;
            }
        });
        guv::sleep(60s);
    });
    guv::spawn([&owner] {
        guv::sleep(5ms);
        owner.kill();
    }).detach();
    CHECK_THROWS_ERRNO(owner.join(), ECANCELED);
    guv::run();
    CHECK(child_state == 2);
}

/* The README's promise on the kill path: a child using its owner's locals
   has ended before they die, even when the owner was killed and so cannot
   join. The child's cleanup blocks too (it fails at once, being killed) and
   reads the owner's string in its destructor. */
static void test_killed_owner_outlives_child() {
    std::vector<std::string> events;
    auto owner = guv::spawn([&events] {
        struct noted {
            std::vector<std::string>& events;
            ~noted() { events.push_back("owner's locals gone"); }
        } note{events};
        std::string s(100, 'x');
        auto child = guv::spawn([&s, &events] {
            struct reader {
                const std::string& s;
                std::vector<std::string>& events;
                ~reader() {
                    try {
                        guv::sleep(1ms);
                    } catch (const std::system_error&) {
                    }
                    events.push_back("child read " + s.substr(0, 3));
                }
            } r{s, events};
            guv::sleep(60s);
        });
        guv::sleep(60s);
    });
    guv::sleep(10ms);
    owner.kill();
    CHECK_THROWS_ERRNO(owner.join(), ECANCELED);
    CHECK(guv_count() == 0);
    CHECK(events.size() == 2);
    CHECK(events[0] == "child read xxx");
    CHECK(events[1] == "owner's locals gone");
}

/* Killing a task that already ended is harmless; a foreign id is ESRCH. */
static void test_kill_ended_and_unknown() {
    auto t = guv::spawn([] { return 1; });
    guv::run();
    t.kill();
    CHECK(t.join() == 1);
    CHECK_THROWS_ERRNO(t.kill(), EINVAL);
    CHECK_THROWS_ERRNO(guv::kill(0), ESRCH);
}

int main() {
    RUN(test_kill_during_sleep);
    RUN(test_kill_is_sticky);
    RUN(test_kill_during_trampoline);
    RUN(test_killed_owner_cancels_child);
    RUN(test_killed_owner_outlives_child);
    RUN(test_kill_ended_and_unknown);
    return 0;
}
