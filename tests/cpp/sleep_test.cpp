// guv::sleep, guv::sleep_until, guv::yield and guv::run from C++.
#include <guv.hpp>

#include <string>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

/* Sleeps of any duration type order tasks by their wake-up time, not by
   when they were spawned: the shorter sleep's task finishes first. */
static void test_sleeps_interleave() {
    std::vector<std::string> order;
    auto t0 = std::chrono::steady_clock::now();
    auto slow = guv::spawn([&] {
        guv::sleep(100ms);
        order.push_back("slow");
    });
    auto fast = guv::spawn([&] {
        guv::sleep(std::chrono::duration<double>(0.005));
        order.push_back("fast");
    });
    auto at = guv::spawn([&] {
        guv::sleep_until(t0 + 50ms);
        order.push_back("until");
    });
    double start = guv_now();
    guv::run();
    double took = guv_now() - start;
    CHECK((order == std::vector<std::string>{"fast", "until", "slow"}));
    CHECK(took >= 0.099 && took < 10.0);
    slow.join();
    fast.join();
    at.join();
}

/* yield() lets every other ready task run once: two yielding tasks alternate. */
static void test_yield_alternates() {
    std::string trace;
    auto step = [&trace](char c) {
        for (int i = 0; i < 3; i++) {
            trace += c;
            guv::yield();
        }
    };
    auto a = guv::spawn(step, 'a');
    auto b = guv::spawn(step, 'b');
    a.join();
    b.join();
    CHECK(trace == "ababab");
}

/* A zero or negative duration yields instead of failing; a sleep from main runs the hub. */
static void test_zero_negative_and_main() {
    int ran = 0;
    auto t = guv::spawn([&ran] {
        guv::sleep(0s);
        guv::sleep(-5ms);
        ++ran;
    });
    guv::sleep(10ms);
    CHECK(ran == 1);
    t.join();
}

/* run() inside a green thread is refused with EPERM. */
static void test_run_inside_task() {
    auto t = guv::spawn([] { CHECK_THROWS_ERRNO(guv::run(), EPERM); });
    t.join();
}

int main() {
    RUN(test_sleeps_interleave);
    RUN(test_yield_alternates);
    RUN(test_zero_negative_and_main);
    RUN(test_run_inside_task);
    return 0;
}
