// guv::task_group (structured concurrency), guv::task_local, and detached
// tasks left when the program exits.
#include <guv.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

/* join() waits for every task of the group. */
static void test_group_joins_all() {
    std::vector<int> done;
    guv::task_group g;
    for (int i = 0; i < 5; i++)
        g.spawn([&done](int n) {
            guv::sleep(std::chrono::milliseconds(5 - n));
            done.push_back(n);
        }, i);
    CHECK(g.size() == 5);
    g.join();
    CHECK(done.size() == 5);
    CHECK(done.front() == 4);
}

/* The first failure cancels the rest, and join() rethrows it (not the
   ECANCELED of those it cancelled). */
static void test_first_failure_cancels_the_rest() {
    int cancelled = 0;
    double start = guv_now();
    guv::task_group g;
    for (int i = 0; i < 3; i++)
        g.spawn([&cancelled] {
            try {
                guv::sleep(60s);
            } catch (const std::system_error& e) {
                if (e.code() == std::errc::operation_canceled) cancelled++;
                throw;
            }
        });
    g.spawn([] {
        guv::sleep(2ms);
        throw std::runtime_error("first");
    });
    std::string what;
    try {
        g.join();
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
    CHECK(what == "first");
    CHECK(cancelled == 3);
    CHECK(guv_now() - start < 10.0);
    CHECK_THROWS_ERRNO(g.spawn([] {}), ECANCELED);
}

/* Leaving the group's scope by an exception cancels and waits for its tasks,
   which may use the scope's locals to the end. */
static void test_destructor_cancels_and_waits() {
    std::vector<std::string> events;
    try {
        std::string local = "local";
        guv::task_group g;
        g.spawn([&] {
            struct reader {
                std::string& s;
                std::vector<std::string>& events;
                ~reader() { events.push_back("task saw " + s); }
            } r{local, events};
            guv::sleep(60s);
        });
        guv::yield();
        throw std::runtime_error("leaving");
    } catch (const std::runtime_error&) {
        events.push_back("caught");
    }
    CHECK((events == std::vector<std::string>{"task saw local", "caught"}));
    CHECK(guv_count() == 0);
}

/* A group in a task that is killed: join() throws ECANCELED, and the group's
   tasks have ended before the owner's locals die. */
static void test_killed_owner_of_group() {
    std::vector<std::string> events;
    auto owner = guv::spawn([&events] {
        std::string local = "alive";
        guv::task_group g;
        for (int i = 0; i < 2; i++)
            g.spawn([&] {
                try {
                    guv::sleep(60s);
                } catch (...) {
                    events.push_back(local);
                    throw;
                }
            });
        g.join();
    });
    guv::sleep(5ms);
    owner.kill();
    CHECK_THROWS_ERRNO(owner.join(), ECANCELED);
    CHECK((events == std::vector<std::string>{"alive", "alive"}));
}

static guv::task_local<int> counter;
static guv::task_local<std::string> name;

/* Each task has its own value, default-constructed at first use; main has
   its own too. Values survive the task's switches. */
static void test_task_local() {
    *counter = 100;
    auto body = [](int id) {
        CHECK(*counter == 0);
        name->assign("task " + std::to_string(id));
        for (int i = 0; i < 3; i++) {
            ++*counter;
            guv::sleep(1ms);
        }
        CHECK(*name == "task " + std::to_string(id));
        return *counter;
    };
    auto a = guv::spawn(body, 1), b = guv::spawn(body, 2);
    CHECK(a.join() == 3 && b.join() == 3);
    CHECK(*counter == 100);
}

/* A task's values are destroyed when it ends. */
static void test_task_local_destroyed_at_end() {
    static int destroyed = 0;
    struct tracked {
        ~tracked() { destroyed++; }
    };
    static guv::task_local<tracked> t;
    auto a = guv::spawn([] { (void)*t; });
    a.join();
    CHECK(destroyed == 1);
}

/* A program whose main exits while a detached task still runs says so on
   stderr instead of abandoning it silently. */
static void test_detached_at_exit_is_reported() {
    int out[2];
    CHECK(pipe(out) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 2);
        guv::spawn([] { guv::sleep(60s); }).detach();
        guv::yield();
        std::exit(0);
    }
    close(out[1]);
    std::string err;
    char buf[256];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
    close(out[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(err.find("guv: 1 detached task(s) had not ended") != std::string::npos);
}

int main() {
    RUN(test_group_joins_all);
    RUN(test_first_failure_cancels_the_rest);
    RUN(test_destructor_cancels_and_waits);
    RUN(test_killed_owner_of_group);
    RUN(test_task_local);
    RUN(test_task_local_destroyed_at_end);
    RUN(test_detached_at_exit_is_reported);
    return 0;
}
