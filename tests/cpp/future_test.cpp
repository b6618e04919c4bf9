// guv::promise / guv::future: get() suspends only the calling task, within
// one OS thread and across threads (hub::spawn returns one).
#include <guv.hpp>

#include <string>
#include <thread>

#include "check.hpp"

using namespace std::chrono_literals;

/* A task waiting on a future lets the others run, among them the one that
   sets the value. */
static void test_get_suspends_only_the_task() {
    guv::promise<std::string> p;
    guv::future<std::string> f = p.get_future();
    int ticks = 0;
    auto waiter = guv::spawn([&] { return f.get(); });
    auto ticker = guv::spawn([&] {
        for (int i = 0; i < 5; i++, ticks++) guv::sleep(1ms);
        p.set_value("done");
    });
    CHECK(waiter.join() == "done");
    CHECK(ticks == 5);
    CHECK(!f.valid());
    ticker.join();
}

// The std::future_error code that `f` throws.
template <class F>
static std::future_errc future_errc_of(F f) {
    try {
        f();
    } catch (const std::future_error& e) {
        return static_cast<std::future_errc>(e.code().value());
    }
    return std::future_errc{};
}

/* set_exception reaches get(); a promise destroyed unset gives broken_promise;
   a second get_future is refused. */
static void test_exceptions_and_broken_promise() {
    guv::promise<int> p;
    auto f = p.get_future();
    p.set_exception(std::make_exception_ptr(std::runtime_error("bad")));
    bool caught = false;
    try {
        f.get();
    } catch (const std::runtime_error& e) {
        caught = std::string(e.what()) == "bad";
    }
    CHECK(caught);

    guv::future<void> orphan;
    {
        guv::promise<void> q;
        orphan = q.get_future();
        CHECK(future_errc_of([&] { q.get_future(); }) == std::future_errc::future_already_retrieved);
    }
    std::future_errc code = future_errc_of([&] { orphan.get(); });
    CHECK(code == std::future_errc::broken_promise);
}

/* A task waiting on a future is woken by a kill and by a guv::timeout; the
   future stays valid and later gives its value. wait_for times out. */
static void test_wait_killed_timed_out() {
    guv::promise<int> p;
    auto f = p.get_future();
    auto killed = guv::spawn([&] { f.wait(); });
    auto late = guv::spawn([&] {
        guv::timeout limit(5ms);
        return f.get();
    });
    guv::yield();
    killed.kill();
    CHECK_THROWS_ERRNO(killed.join(), ECANCELED);
    CHECK_THROWS_ERRNO(late.join(), ETIMEDOUT);
    CHECK(f.valid());
    CHECK(f.wait_for(5ms) == std::future_status::timeout);
    p.set_value(9);
    CHECK(f.wait_for(0ms) == std::future_status::ready);
    CHECK(f.get() == 9);
}

/* hub::spawn's future, waited for by a task of the calling thread while the
   other hub works: the calling hub's other tasks keep running (a
   std::future::get here would block the thread). Also from main, and for a
   spawn on the caller's own hub. */
static void test_hub_spawn_future_in_a_task() {
    std::promise<guv::hub> made;
    std::thread worker([&made] {
        guv::hub h = guv::hub::self();
        guv::hub_hold keep(h);
        made.set_value(h);
        guv::sleep(200ms);
    });
    guv::hub other = made.get_future().get();
    int ticks = 0;
    auto waiter = guv::spawn([&] { return other.spawn([] { guv::sleep(20ms); return 5; }).get(); });
    auto ticker = guv::spawn([&] {
        for (int i = 0; i < 5; i++, ticks++) guv::sleep(1ms);
    });
    CHECK(waiter.join() == 5);
    CHECK(ticks == 5);
    ticker.join();
    CHECK(other.spawn([] { return 6; }).get() == 7 - 1);  // from main
    auto own = guv::spawn([] { return guv::hub::self().spawn([] { return 8; }).get(); });
    CHECK(own.join() == 8);
    worker.join();
}

int main() {
    RUN(test_get_suspends_only_the_task);
    RUN(test_exceptions_and_broken_promise);
    RUN(test_wait_killed_timed_out);
    RUN(test_hub_spawn_future_in_a_task);
    return 0;
}
