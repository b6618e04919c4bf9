// Exceptions thrown in green threads stop at the task's boundary and are
// rethrown from join(); none unwinds through guv.
#include <guv.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

struct custom_error {
    int code;
};

// The message of the std::runtime_error that `f` throws; "" if none.
template <class F>
static std::string runtime_error_of(F f) {
    try {
        f();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

/* An exception thrown after sleeps, with other tasks switching in between,
   keeps its type and message and comes out of join(). */
static void test_exception_across_sleeps() {
    int ticks = 0;
    auto ticker = guv::spawn([&ticks] {
        for (int i = 0; i < 5; i++) {
            guv::sleep(1ms);
            ++ticks;
        }
    });
    auto thrower = guv::spawn([] {
        std::string local = "raised after sleeping";
        guv::sleep(2ms);
        guv::sleep(2ms);
        throw std::runtime_error(local);
    });
    CHECK(runtime_error_of([&] { thrower.join(); }) == "raised after sleeping");
    CHECK(!thrower.joinable());
    ticker.join();
    CHECK(ticks == 5);
}

/* Exceptions of any type, and of value-returning tasks, are rethrown as they were thrown. */
static void test_non_std_exception() {
    auto t = guv::spawn([]() -> int {
        guv::yield();
        throw custom_error{17};
    });
    int code = 0;
    try {
        t.join();
    } catch (const custom_error& e) {
        code = e.code;
    }
    CHECK(code == 17);
}

/* Each of many tasks throwing at different times gets its own exception back,
   including one thrown from deep frames that unwinds through them. */
static int deep(int depth, int id) {
    char pad[256];
    pad[depth % sizeof pad] = static_cast<char>(id);
    if (depth == 0) {
        guv::sleep(std::chrono::microseconds(100 * (id % 7)));
        throw std::runtime_error(std::to_string(id));
    }
    return deep(depth - 1, id) + pad[depth % sizeof pad];
}
static void test_many_throwers() {
    std::vector<guv::task<int>> tasks;
    for (int i = 0; i < 100; i++) tasks.push_back(guv::spawn(deep, 20 + i % 5, i));
    for (int i = 0; i < 100; i++) {
        CHECK(runtime_error_of([&] { tasks[i].join(); }) == std::to_string(i));
    }
}

/* Tasks that throw and catch many times at varying depths, calling into guv
   between times, each count every exception. Under ASan this also proves the
   frames unwound on task stacks leave no stale poison behind: libguv, not
   instrumented, would trip over it (memcpy of its task table on the stack). */
static void test_repeated_throws_between_guv_calls() {
    std::vector<guv::task<int>> tasks;
    for (int k = 0; k < 20; k++) {
        tasks.push_back(guv::spawn([k] {
            int caught = 0;
            for (int i = 0; i < 100; i++) {
                try {
                    deep((i + k) % 30, i);
                } catch (const std::runtime_error&) {
                    ++caught;
                }
                if (i % 25 == 0) guv::spawn([] { guv::yield(); }).detach();
                guv::yield();
            }
            return caught;
        }));
    }
    for (auto& t : tasks) CHECK(t.join() == 100);
}

/* An exception caught inside the task never reaches join(). */
static void test_caught_inside_stays_inside() {
    auto t = guv::spawn([] {
        int caught = 0;
        try {
            guv::sleep(1ms);
            throw std::logic_error("inner");
        } catch (const std::logic_error&) {
            caught = 1;
        }
        guv::sleep(1ms);
        return caught;
    });
    CHECK(t.join() == 1);
}

/* Tasks may block inside their catch blocks, interleaved: each still sees
   its own exception (what(), std::current_exception(), `throw;`) after the
   others caught and released theirs, since the C++ runtime's per-OS-thread
   record of caught exceptions is set aside at every switch. `plain`: they
   block in guv's C calls with no wrapper of this header around them, as a C
   driver does (logging or a ROLLBACK inside a handler). */
static void block_inside_catch(bool plain) {
    auto handler = [plain](int id, int wait_ms) {
        try {
            throw std::runtime_error(std::to_string(id));
        } catch (const std::runtime_error& e) {
            if (plain)
                CHECK(guv_sleep(wait_ms / 1000.0) == 0);
            else
                guv::sleep(std::chrono::milliseconds(wait_ms));
            CHECK(e.what() == std::to_string(id));
            try {
                std::rethrow_exception(std::current_exception());
            } catch (const std::runtime_error& again) {
                CHECK(&again == &e);
            }
            if (plain)
                CHECK(guv_yield() == 0);
            else
                guv::yield();
            try {
                throw;
            } catch (const std::runtime_error& rethrown) {
                CHECK(&rethrown == &e);
            }
        }
        return id;
    };
    // Task 0 leaves its handler first, while 1 and 2 are still in theirs.
    auto a = guv::spawn(handler, 0, 2);
    auto b = guv::spawn(handler, 1, 10);
    auto c = guv::spawn(handler, 2, 6);
    CHECK(a.join() + b.join() + c.join() == 3);
}

static void test_block_inside_catch() { block_inside_catch(false); }
static void test_plain_c_call_inside_catch() { block_inside_catch(true); }

/* A destructor that blocks while an exception unwinds its task does not make
   the exception look in flight to the other tasks, and it still is after.
   `plain`: it blocks in a plain C call to guv. */
static void block_during_unwinding(bool plain) {
    struct blocks_on_unwind {
        bool plain;
        ~blocks_on_unwind() {
            CHECK(std::uncaught_exceptions() == 1);
            if (plain)
                CHECK(guv_sleep(0.005) == 0);
            else
                guv::sleep(5ms);
            CHECK(std::uncaught_exceptions() == 1);
        }
    };
    auto unwinding = guv::spawn([plain] {
        blocks_on_unwind b{plain};
        throw std::runtime_error("unwinding");
    });
    auto observer = guv::spawn([] {
        for (int i = 0; i < 5; i++) {
            CHECK(std::uncaught_exceptions() == 0);
            CHECK(guv_sleep(0.001) == 0);
        }
    });
    observer.join();
    CHECK(runtime_error_of([&] { unwinding.join(); }) == "unwinding");
}

static void test_block_during_unwinding() { block_during_unwinding(false); }
static void test_plain_c_call_during_unwinding() { block_during_unwinding(true); }

/* Main blocking inside its own catch block keeps its exception while tasks
   throw and catch theirs. */
static void test_main_blocks_inside_catch() {
    auto thrower = guv::spawn([] {
        for (int i = 0; i < 3; i++) {
            try {
                throw std::logic_error("task");
            } catch (const std::logic_error&) {
                CHECK(guv_sleep(0.001) == 0);
            }
        }
    });
    try {
        throw std::runtime_error("main");
    } catch (const std::runtime_error& e) {
        CHECK(guv_sleep(0.01) == 0);
        CHECK(std::string(e.what()) == "main");
        try {
            throw;
        } catch (const std::runtime_error& again) {
            CHECK(&again == &e);
        }
    }
    thrower.join();
}

/* Tasks throwing on their own stacks right after plain C switches: ASan is
   told about every switch, so it never warns that it ignores
   __asan_handle_no_return (ctest fails any test that prints it). */
static void test_throw_after_plain_switches() {
    auto worker = [](int n) {
        for (int i = 0; i < n; i++) {
            CHECK(guv_yield() == 0);
            try {
                throw std::runtime_error("after a switch");
            } catch (const std::runtime_error&) {
            }
        }
    };
    auto a = guv::spawn(worker, 20);
    auto b = guv::spawn(worker, 30);
    a.join();
    b.join();
}

int main() {
    RUN(test_exception_across_sleeps);
    RUN(test_non_std_exception);
    RUN(test_many_throwers);
    RUN(test_caught_inside_stays_inside);
    RUN(test_repeated_throws_between_guv_calls);
    RUN(test_block_inside_catch);
    RUN(test_block_during_unwinding);
    RUN(test_plain_c_call_inside_catch);
    RUN(test_plain_c_call_during_unwinding);
    RUN(test_main_blocks_inside_catch);
    RUN(test_throw_after_plain_switches);
    return 0;
}
