// guv::hub: handing work to another OS thread's hub (spawn, kill, unpark,
// hold) from any thread.
#include <guv.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

// An OS thread running its own hub, held until the owner lets it go.
//
// The last hold ends on the hub's own thread (a task drops it): ended from
// another thread while the hub is between turns, guv_run() sometimes fails
// with EDEADLK though no green thread is left (a core race, shown by
// tests/c/test_unhold_race.c).
struct hub_thread {
    guv::hub hub;
    std::thread thread;
    std::optional<guv::hub_hold> keep;  // touched only on the hub's thread

    hub_thread() {
        std::promise<guv::hub> made;
        auto ready = made.get_future();
        thread = std::thread([this, &made] {
            guv::hub h = guv::hub::self();
            keep.emplace(h);  // run() waits for submissions until `keep` ends
            made.set_value(h);
            guv::run();
        });
        hub = ready.get();
    }
    // Ends the hold; run() returns once no task is left, then the thread.
    void finish() {
        hub.spawn([this] { keep.reset(); }).get();
        thread.join();
    }
};

/* A callable spawned from another thread runs as a green thread on the hub's
   thread (where it may sleep), and its result reaches the future; a
   move-only callable and argument are moved over. */
static void test_spawn_runs_on_the_hub_thread() {
    hub_thread w;
    auto main_thread = std::this_thread::get_id();
    auto on = w.hub.spawn([] {
        guv::sleep(1ms);
        return std::make_pair(std::this_thread::get_id(), guv::current());
    });
    auto [thread, id] = on.get();
    CHECK(thread == w.thread.get_id() && thread != main_thread);
    CHECK(id >= 1);
    auto owned = std::make_unique<std::string>("moved");
    auto moved = w.hub.spawn([p = std::move(owned)](std::unique_ptr<int> n) { return *p + std::to_string(*n); },
                             std::make_unique<int>(7));
    CHECK(moved.get() == "moved7");
    w.finish();
}

/* What the green thread throws comes out of the future's get(). */
static void test_exception_reaches_the_future() {
    hub_thread w;
    auto f = w.hub.spawn([] { throw std::runtime_error("remote failure"); });
    try {
        f.get();
        CHECK(false);
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "remote failure");
    }
    w.finish();
}

/* A remote task tells its id; hub::unpark wakes it from park(), hub::kill
   ends its sleep with ECANCELED. */
static void test_unpark_and_kill_from_another_thread() {
    hub_thread w;
    std::promise<guv::task_id> parked_id, sleeper_id;
    auto parked = w.hub.spawn([&parked_id] {
        parked_id.set_value(guv::current());
        guv::park();
        return 1;
    });
    auto sleeper = w.hub.spawn([&sleeper_id] {
        sleeper_id.set_value(guv::current());
        guv::sleep(60s);
    });
    w.hub.unpark(parked_id.get_future().get());
    CHECK(parked.get() == 1);
    w.hub.kill(sleeper_id.get_future().get());
    CHECK_THROWS_ERRNO(sleeper.get(), ECANCELED);
    w.finish();
}

/* hub::interrupt ends a remote task's sleep once with EINTR; its next sleep works. */
static void test_interrupt_from_another_thread() {
    hub_thread w;
    std::promise<guv::task_id> id;
    auto sleeper = w.hub.spawn([&id] {
        id.set_value(guv::current());
        try {
            guv::sleep(60s);
        } catch (const std::system_error& e) {
            if (e.code().value() != EINTR) throw;
            guv::sleep(1ms);
            return 1;
        }
        return 0;
    });
    w.hub.interrupt(id.get_future().get());
    CHECK(sleeper.get() == 1);
    w.finish();
}

/* Two threads spawn 200 tasks each on one hub at once; every one runs once.
   A hold taken from this thread keeps the hub's run() going after its own
   thread's hold ended. */
static void test_many_spawns_from_many_threads() {
    hub_thread w;
    int ran = 0;  // touched only on the hub's thread
    w.hub.hold();
    w.hub.spawn([&w] { w.keep.reset(); }).get();
    auto submit = [&] {
        std::vector<guv::future<void>> fs;
        for (int i = 0; i < 200; i++) fs.push_back(w.hub.spawn([&ran] { ++ran; }));
        for (auto& f : fs) f.get();
    };
    std::thread a(submit), b(submit);
    a.join();
    b.join();
    CHECK(ran == 400);
    w.hub.spawn([h = w.hub] { h.unhold(); });  // the last hold, on the hub's thread
    w.thread.join();                            // no hold, no task: run() returned
    // The hub's thread has exited: submissions are refused.
    CHECK_THROWS_ERRNO(w.hub.spawn([] {}), ESRCH);
    CHECK_THROWS_ERRNO(w.hub.kill(1), ESRCH);
}

/* An empty handle refuses everything with EINVAL, as do more unholds than holds;
   a handle to this thread's own hub works here too. */
static void test_misuse() {
    guv::hub none;
    CHECK(!none);
    CHECK_THROWS_ERRNO(none.spawn([] {}), EINVAL);
    CHECK_THROWS_ERRNO(none.unpark(0), EINVAL);
    CHECK_THROWS_ERRNO(none.hold(), EINVAL);
    guv::hub self = guv::hub::self();
    CHECK(self);
    CHECK_THROWS_ERRNO(self.unhold(), EINVAL);
    auto f = self.spawn([] { return guv::current(); });
    guv::run();
    CHECK(f.get() >= 1);
}

/* Without memory for the green thread's stack, spawn throws ENOMEM at once
   (its stack is taken there) instead of returning a future that never
   becomes ready. The stacks asked for are 1 GiB, so the address-space limit
   leaves the sanitizers a wide margin and no room for an arena of them. */
static void test_spawn_without_memory_throws() {
    hub_thread w;
    std::size_t size = guv_stack_size();
    CHECK(guv_set_stack_size(std::size_t{1} << 30) == 0);
    unsigned long pages = 0;
    std::FILE* statm = std::fopen("/proc/self/statm", "r");
    CHECK(statm && std::fscanf(statm, "%lu", &pages) == 1);
    std::fclose(statm);
    rlimit saved{};
    CHECK(getrlimit(RLIMIT_AS, &saved) == 0);
    rlimit tight{pages * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (rlim_t{1} << 30), saved.rlim_max};
    CHECK(setrlimit(RLIMIT_AS, &tight) == 0);
    int ran = 0;
    CHECK_THROWS_ERRNO(w.hub.spawn([&ran] { ran++; }), ENOMEM);
    CHECK(setrlimit(RLIMIT_AS, &saved) == 0);
    CHECK(guv_set_stack_size(size) == 0);
    w.hub.spawn([&ran] { ran++; }).get();
    CHECK(ran == 1);
    w.finish();
}

/* A spawn still queued when the hub's thread exits is destroyed there with
   what it captured, and its future reports a broken promise instead of
   never becoming ready. */
static void test_spawn_queued_at_exit_breaks_its_promise() {
    std::promise<guv::hub> made;
    std::promise<void> submitted;
    std::thread t([&] {
        made.set_value(guv::hub::self());
        submitted.get_future().wait();  // exits without running its hub
    });
    guv::hub h = made.get_future().get();
    auto alive = std::make_shared<int>(0);
    std::weak_ptr<int> watch = alive;
    guv::future<void> f = h.spawn([keep = std::move(alive)] { ++*keep; });
    submitted.set_value();
    t.join();
    CHECK(watch.expired());
    try {
        f.get();
        CHECK(!"get() returned");
    } catch (const std::future_error& e) {
        CHECK(e.code() == std::future_errc::broken_promise);
    }
}

int main() {
    RUN(test_spawn_runs_on_the_hub_thread);
    RUN(test_exception_reaches_the_future);
    RUN(test_unpark_and_kill_from_another_thread);
    RUN(test_interrupt_from_another_thread);
    RUN(test_many_spawns_from_many_threads);
    RUN(test_misuse);
    RUN(test_spawn_without_memory_throws);
    RUN(test_spawn_queued_at_exit_breaks_its_promise);
    return 0;
}
