// guv::mutex, guv::condition_variable and guv::semaphore between the tasks
// of one OS thread, and their waits ended by kill and deadline.
#include <guv.hpp>

#include <mutex>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

/* A mutex held across a blocking call keeps the others out: no two tasks are
   ever inside together, and std::lock_guard / std::unique_lock work. */
static void test_mutex_excludes() {
    guv::mutex m;
    int inside = 0, most = 0, done = 0;
    std::vector<guv::task<>> tasks;
    for (int i = 0; i < 5; i++)
        tasks.push_back(guv::spawn([&] {
            for (int j = 0; j < 3; j++) {
                std::lock_guard<guv::mutex> hold(m);
                most = std::max(most, ++inside);
                guv::sleep(1ms);
                --inside;
                ++done;
            }
        }));
    for (auto& t : tasks) t.join();
    CHECK(most == 1);
    CHECK(done == 15);
    CHECK(m.try_lock());
    CHECK(!m.try_lock());
    m.unlock();
}

/* A task waiting for a mutex is woken by a kill (ECANCELED) and by a
   guv::timeout (ETIMEDOUT), without the mutex; the holder's unlock then
   still reaches the next waiter. */
static void test_mutex_wait_killed_or_timed_out() {
    guv::mutex m;
    m.lock();
    auto killed = guv::spawn([&] { std::lock_guard<guv::mutex> g(m); });
    auto late = guv::spawn([&] {
        guv::timeout limit(5ms);
        std::lock_guard<guv::mutex> g(m);
    });
    bool got = false;
    auto patient = guv::spawn([&] {
        std::lock_guard<guv::mutex> g(m);
        got = true;
    });
    guv::yield();
    killed.kill();
    CHECK_THROWS_ERRNO(killed.join(), ECANCELED);
    CHECK_THROWS_ERRNO(late.join(), ETIMEDOUT);
    CHECK(!got);
    m.unlock();
    patient.join();
    CHECK(got);
}

/* wait(lock, pred) sleeps until notified with the predicate true, and holds
   the lock when it returns. */
static void test_condition_variable_predicate() {
    guv::mutex m;
    guv::condition_variable cv;
    int stage = 0;
    std::vector<int> seen;
    auto waiter = [&](int want) {
        return guv::spawn([&, want] {
            std::unique_lock<guv::mutex> lock(m);
            cv.wait(lock, [&] { return stage >= want; });
            CHECK(lock.owns_lock());
            seen.push_back(want);
        });
    };
    auto a = waiter(1), b = waiter(2);
    guv::yield();
    {
        std::lock_guard<guv::mutex> g(m);
        stage = 1;
    }
    cv.notify_all();
    a.join();
    CHECK(seen == std::vector<int>{1});  // b woke, saw stage 1, and waits again
    stage = 2;
    cv.notify_one();
    b.join();
    CHECK((seen == std::vector<int>{1, 2}));
}

/* wait_for times out with cv_status::timeout holding the lock; the
   predicate form returns the predicate's value. */
static void test_condition_variable_timeouts() {
    guv::mutex m;
    guv::condition_variable cv;
    std::unique_lock<guv::mutex> lock(m);
    double start = guv_now();
    CHECK(cv.wait_for(lock, 10ms) == guv::cv_status::timeout);
    CHECK(lock.owns_lock());
    CHECK(guv_now() - start >= 0.009);
    CHECK(!cv.wait_for(lock, 2ms, [] { return false; }));
    CHECK(cv.wait_until(lock, std::chrono::steady_clock::now() + 1s, [] { return true; }));
    bool flag = false;
    auto notifier = guv::spawn([&] {
        std::lock_guard<guv::mutex> g(m);
        flag = true;
        cv.notify_one();
    });
    CHECK(cv.wait_for(lock, 1s, [&] { return flag; }));
    lock.unlock();
    notifier.join();
}

/* A killed waiter throws ECANCELED with the lock not held (it could not wait
   for it again); the notification meant for it passes to the next waiter. */
static void test_condition_variable_killed_waiter() {
    guv::mutex m;
    guv::condition_variable cv;
    bool ready = false, owned_after_kill = true;
    auto first = guv::spawn([&] {
        std::unique_lock<guv::mutex> lock(m);
        try {
            cv.wait(lock, [&] { return ready; });
        } catch (const std::system_error&) {
            owned_after_kill = lock.owns_lock();
            throw;
        }
    });
    auto second = guv::spawn([&] {
        std::unique_lock<guv::mutex> lock(m);
        cv.wait(lock, [&] { return ready; });
        return 2;
    });
    guv::yield();
    first.kill();
    ready = true;
    cv.notify_one();  // chooses `first`, already on its way out
    CHECK_THROWS_ERRNO(first.join(), ECANCELED);
    CHECK(!owned_after_kill);
    CHECK(second.join() == 2);
    CHECK(m.try_lock());
    m.unlock();
}

/* A semaphore of 2 lets two tasks in at a time; try_acquire_for times out. */
static void test_semaphore() {
    guv::semaphore sem(2);
    int inside = 0, most = 0;
    std::vector<guv::task<>> tasks;
    for (int i = 0; i < 6; i++)
        tasks.push_back(guv::spawn([&] {
            sem.acquire();
            most = std::max(most, ++inside);
            guv::sleep(2ms);
            --inside;
            sem.release();
        }));
    for (auto& t : tasks) t.join();
    CHECK(most == 2);
    CHECK(sem.available() == 2);
    CHECK(sem.try_acquire() && sem.try_acquire() && !sem.try_acquire());
    CHECK(!sem.try_acquire_for(5ms));
    auto releaser = guv::spawn([&] {
        guv::sleep(2ms);
        sem.release(2);
    });
    CHECK(sem.try_acquire_for(1s));
    releaser.join();
    CHECK(sem.available() == 1);
}

/* A task killed while waiting on a semaphore throws ECANCELED; the unit
   released meanwhile is not lost. */
static void test_semaphore_killed_waiter() {
    guv::semaphore sem(0);
    auto first = guv::spawn([&] { sem.acquire(); });
    auto second = guv::spawn([&] {
        sem.acquire();
        return 2;
    });
    guv::yield();
    first.kill();
    sem.release();
    CHECK_THROWS_ERRNO(first.join(), ECANCELED);
    CHECK(second.join() == 2);
    CHECK(sem.available() == 0);
}

int main() {
    RUN(test_mutex_excludes);
    RUN(test_mutex_wait_killed_or_timed_out);
    RUN(test_condition_variable_predicate);
    RUN(test_condition_variable_timeouts);
    RUN(test_condition_variable_killed_waiter);
    RUN(test_semaphore);
    RUN(test_semaphore_killed_waiter);
    return 0;
}
