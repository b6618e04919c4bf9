// guv::spawn and guv::task: callables, arguments, results, handles.
#include <guv.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

/* A lambda's captures (by value and by reference) and its arguments reach the
   green thread, which runs with an id of its own; join() returns its result. */
static void test_lambda_captures_and_args() {
    std::string prefix = "task";
    int touched = 0;
    guv::task_id seen = -1;
    auto t = guv::spawn(
        [prefix, &touched, &seen](int n, std::string suffix) {
            seen = guv::current();
            guv::sleep(1ms);
            ++touched;
            return prefix + std::to_string(n) + suffix;
        },
        7, std::string("!"));
    CHECK(t.joinable());
    CHECK(t.id() >= 1);
    guv::task_id id = t.id();
    CHECK(t.join() == "task7!");
    CHECK(touched == 1);
    CHECK(seen == id);
    CHECK(!t.joinable() && t.id() == 0);
    CHECK(guv::current() == 0);
}

/* A move-only callable (a lambda owning a unique_ptr) and a move-only argument
   are moved into the task, and the task's unique_ptr result moves out. */
static void test_move_only_callable() {
    auto owned = std::make_unique<int>(41);
    auto t = guv::spawn(
        [p = std::move(owned)](std::unique_ptr<int> q) {
            guv::yield();
            return std::make_unique<int>(*p + *q);
        },
        std::make_unique<int>(1));
    CHECK(owned == nullptr);
    std::unique_ptr<int> r = t.join();
    CHECK(r && *r == 42);
}

/* A plain function with std::ref: arguments are copies unless wrapped, as in std::thread. */
static void add_into(int& out, int a, int b) {
    guv::sleep(1ms);
    out = a + b;
}
static void test_function_with_ref() {
    int out = 0;
    guv::spawn(add_into, std::ref(out), 2, 3).join();
    CHECK(out == 5);
}

/* The callable is destroyed once its task ended, even if the handle is never joined. */
static void test_detached_task_frees_its_state() {
    auto alive = std::make_shared<int>(0);
    std::weak_ptr<int> watch = alive;
    auto t = guv::spawn([keep = std::move(alive)] { guv::sleep(5ms); ++*keep; });
    t.detach();
    CHECK(!t.joinable());
    CHECK_THROWS_ERRNO(t.join(), EINVAL);
    CHECK(!watch.expired());
    guv::run();
    CHECK(watch.expired());
}

/* A detached task that never started (its OS thread exited without running
   its hub) is destroyed with what it captured, on that thread. */
static void test_never_started_task_is_destroyed() {
    auto alive = std::make_shared<int>(0);
    std::weak_ptr<int> watch = alive;
    std::thread([keep = std::move(alive)]() mutable {
        guv::spawn([keep = std::move(keep)] { ++*keep; }).detach();
    }).join();
    CHECK(watch.expired());
}

/* Joining a task that ended long ago still returns its result. */
static void test_join_after_end() {
    auto t = guv::spawn([] { return 5; });
    guv::run();
    CHECK(guv_count() == 0);
    CHECK(t.join() == 5);
}

/* The destructor waits for the task, so a task may use its owner's locals. */
static void test_destructor_joins() {
    std::vector<int> order;
    {
        auto t = guv::spawn([&order] {
            guv::sleep(10ms);
            order.push_back(1);
        });
    }
    order.push_back(2);
    CHECK((order == std::vector<int>{1, 2}));
}

/* Moving a handle moves the task; assigning over a joinable handle ends the old task first. */
static void test_move_handles() {
    int first = 0, second = 0;
    guv::task<> a = guv::spawn([&first] { guv::sleep(2ms); ++first; });
    guv::task_id id = a.id();
    guv::task<> b = std::move(a);
    CHECK(!a.joinable() && b.id() == id);
    b = guv::spawn([&second] { guv::sleep(100ms); ++second; });
    CHECK(first == 1 && second == 0);
    b.join();
    CHECK(second == 1);
}

/* Tasks started from a task run alongside it, and a task can join a sibling. */
static void test_nested_spawn_and_join() {
    auto outer = guv::spawn([] {
        auto inner = guv::spawn([](int x) { guv::sleep(2ms); return x * 2; }, 21);
        return inner.join() + 0;
    });
    CHECK(outer.join() == 42);
}

/* A task cannot join itself: EDEADLK, and its handle stays joinable. */
static void test_join_self_is_deadlock() {
    guv::task<> self;
    auto t = guv::spawn([&self] {
        guv::yield();
        CHECK_THROWS_ERRNO(self.join(), EDEADLK);
        CHECK(self.joinable());
        self.detach();
    });
    self = std::move(t);
    guv::run();
}

/* A task may ask for its stack size; below 16 KiB guv refuses with EINVAL. */
static void test_stack_size() {
    auto t = guv::spawn_with_stack(64 * 1024, [] {
        volatile char buf[32 * 1024];
        buf[0] = 1;
        buf[sizeof buf - 1] = 2;
        guv::yield();
        return buf[0] + buf[sizeof buf - 1];
    });
    CHECK(t.join() == 3);
    CHECK_THROWS_ERRNO(auto tiny = guv::spawn_with_stack(4096, [] {}), EINVAL);
}

/* Two green threads joining one handle: the first woken gets the result,
   the other EINVAL, as the handle is no longer joinable when it resumes. */
static void test_two_joiners() {
    auto target = guv::spawn([] {
        guv::sleep(5ms);
        return std::make_unique<int>(8);
    });
    int got = 0, refused = 0;
    auto joiner = [&] {
        try {
            got += *target.join();
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::invalid_argument);
            ++refused;
        }
    };
    auto a = guv::spawn(joiner);
    auto b = guv::spawn(joiner);
    a.join();
    b.join();
    CHECK(got == 8 && refused == 1);
}

/* A task that drops its own handle is detached, not killed: it runs on, and
   its state is freed when it ends. */
static void test_task_drops_own_handle() {
    auto witness = std::make_shared<int>(0);
    std::weak_ptr<int> watch = witness;
    int ran_on = 0;
    auto self = std::make_unique<guv::task<>>();
    *self = guv::spawn([&self, &ran_on, w = std::move(witness)] {
        guv::yield();
        self.reset();
        guv::sleep(1ms);
        ran_on = *w + 1;
    });
    guv::run();
    CHECK(self == nullptr);
    CHECK(ran_on == 1);
    CHECK(watch.expired());
}

int main() {
    RUN(test_lambda_captures_and_args);
    RUN(test_move_only_callable);
    RUN(test_function_with_ref);
    RUN(test_detached_task_frees_its_state);
    RUN(test_never_started_task_is_destroyed);
    RUN(test_join_after_end);
    RUN(test_destructor_joins);
    RUN(test_move_handles);
    RUN(test_nested_spawn_and_join);
    RUN(test_join_self_is_deadlock);
    RUN(test_stack_size);
    RUN(test_two_joiners);
    RUN(test_task_drops_own_handle);
    return 0;
}
