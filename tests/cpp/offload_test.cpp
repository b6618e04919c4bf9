// guv::offload: a callable on guv's pool of OS threads, its result or its
// exception back in the calling green thread.
#include <guv.hpp>

#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

/* The callable runs on another OS thread with its captures; its result
   (here move-only) comes back, from a task and from main alike. */
static void test_runs_elsewhere_and_returns() {
    auto caller = std::this_thread::get_id();
    auto t = guv::spawn([caller] {
        std::thread::id ran_on;
        auto p = guv::offload([&] {
            ran_on = std::this_thread::get_id();
            return std::make_unique<std::string>("from the pool");
        });
        CHECK(ran_on != caller);
        return *p;
    });
    CHECK(t.join() == "from the pool");
    int x = 6;
    CHECK(guv::offload([x] { return x * 7; }) == 42);
}

/* 10 tasks each offload a 30 ms blocking sleep at once, and a ticker runs
   while they sleep: the OS thread running the hub never blocks. (Whether the
   calls overlap on the pool is not checked: see
   tests/c/test_offload_burst.c.) */
static void test_hub_keeps_running() {
    int ticks = 0, done = 0, ticks_meanwhile = 0;
    auto ticker = guv::spawn([&] {
        while (done < 10) {
            ++ticks;
            guv::sleep(1ms);
        }
    });
    std::vector<guv::task<>> ts;
    for (int i = 0; i < 10; i++)
        ts.push_back(guv::spawn([&] {
            int before = ticks;
            guv::offload([] { usleep(30000); });
            ticks_meanwhile += ticks - before;
            ++done;
        }));
    for (auto& t : ts) t.join();
    ticker.join();
    CHECK(done == 10);
    CHECK(ticks_meanwhile >= 1);
}

/* What the callable throws is rethrown in the caller, the same object type
   and message; a reference result stays a reference. */
static void test_exception_and_reference() {
    auto t = guv::spawn([] {
        try {
            guv::offload([]() -> int { throw std::runtime_error("pool says no"); });
            CHECK(false);
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()) == "pool says no");
        }
        int value = 1;
        int& r = guv::offload([&value]() -> int& { return value; });
        CHECK(&r == &value);
    });
    t.join();
}

/* A kill during the call waits until the callable returned (it may still use
   the caller's data): offload() itself succeeds and the kill shows at the
   next blocking call, or at once through guv::check(). */
static void test_kill_waits_for_the_call() {
    bool finished = false;
    auto t = guv::spawn([&] {
        guv::offload([&] {
            usleep(30000);
            finished = true;
        });
        CHECK(finished);
        CHECK_THROWS_ERRNO(guv::check(), ECANCELED);
        guv::sleep(1ms);
    });
    guv::sleep(5ms);
    t.kill();
    CHECK_THROWS_ERRNO(t.join(), ECANCELED);
    CHECK(finished);
}

int main() {
    RUN(test_runs_elsewhere_and_returns);
    RUN(test_hub_keeps_running);
    RUN(test_exception_and_reference);
    RUN(test_kill_waits_for_the_call);
    return 0;
}
