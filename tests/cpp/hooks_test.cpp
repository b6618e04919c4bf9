// guv.hpp's per-task hooks beside a second binding's set in the same
// process (as a C++ program embedding Python has): both keep their own
// per-task state across every switch.
#include <guv.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"

// A second binding, kept the way the Python binding keeps a PyThreadState:
// a record per task, and a thread-local naming the running task's, set on
// switch in and cleared on switch out.
struct other_state {
    std::int64_t id;
    int ins = 0;
};
static thread_local other_state* other_running = nullptr;
static int other_started = 0, other_ended = 0;

static void* other_start(void*) {
    // Added after guv.hpp's set, so its task_start ran first.
    CHECK(guv::detail::running_task != nullptr);
    other_started++;
    return other_running = new other_state{guv_current()};
}

static void other_end(void*, void* data) {
    CHECK(guv::detail::running_task != nullptr);  // guv.hpp's task_end runs after
    CHECK(other_running == data);
    other_running = nullptr;
    other_ended++;
    delete static_cast<other_state*>(data);
}

static void other_out(void*, void* data) {
    CHECK(guv::detail::running_task != nullptr);  // switch_out: the later set first
    CHECK(other_running == data);
    other_running = nullptr;
}

static void other_in(void*, void* data) {
    CHECK(guv::detail::running_task != nullptr);  // switch_in: guv.hpp's first
    CHECK(other_running == nullptr);
    auto* s = static_cast<other_state*>(data);
    CHECK(s->id == guv_current());
    s->ins++;
    other_running = s;
}

static guv::task_local<int> mine;

/* Tasks block inside their catch blocks, through guv.hpp and through plain C
   calls, interleaved with each other: after every switch each still has its
   own caught exception and task_local value (guv.hpp's hooks) and the second
   set's record of it (the second set's hooks). */
static void test_both_sets_keep_their_state() {
    CHECK(guv::detail::hooks_handle > 0);
    guv_hooks h{};
    h.size = sizeof h;
    h.task_start = other_start;
    h.task_end = other_end;
    h.switch_out = other_out;
    h.switch_in = other_in;
    int other = guv_add_hooks(&h);
    CHECK(other > 0 && other != guv::detail::hooks_handle);

    auto body = [](int n) {
        *mine = n;
        CHECK(other_running != nullptr && other_running->id == guv_current());
        try {
            throw std::runtime_error(std::to_string(n));
        } catch (const std::runtime_error& e) {
            for (int i = 0; i < 4; i++) {
                if (i % 2)
                    CHECK(guv_sleep(0.001 * (1 + n % 3)) == 0);
                else
                    guv::yield();
                CHECK(e.what() == std::to_string(n));
                try {
                    throw;
                } catch (const std::runtime_error& again) {
                    CHECK(&again == &e);
                }
                CHECK(*mine == n);
                CHECK(other_running != nullptr && other_running->id == guv_current());
                CHECK(other_running->ins == i + 1);
            }
        }
        CHECK(std::uncaught_exceptions() == 0);
        return n;
    };
    std::vector<guv::task<int>> tasks;
    for (int n = 0; n < 8; n++) tasks.push_back(guv::spawn(body, n));
    int sum = 0;
    for (auto& t : tasks) sum += t.join();
    CHECK(sum == 28);
    CHECK(other_started == 8 && other_ended == 8);
    CHECK(guv_remove_hooks(other) == 0);
    // Main runs no hooks, and its task_local value is its own.
    CHECK(other_running == nullptr);
    CHECK(*mine == 0);
}

int main() {
    RUN(test_both_sets_keep_their_state);
    return 0;
}
