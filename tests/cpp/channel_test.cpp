// A bounded channel between the green threads of one OS thread, built on
// guv::park and guv::unpark alone: the building-block use those calls are for.
#include <guv.hpp>

#include <deque>
#include <optional>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

// send() waits while the channel is full, recv() while it is empty; close()
// ends both (send then throws EPIPE, recv returns std::nullopt once drained).
// One OS thread's green threads (and its main) share it, so no lock is
// needed: nothing runs between two of its statements unless it parks.
template <class T>
class channel {
public:
    explicit channel(std::size_t capacity) : capacity_(capacity) {}

    void send(T value) {
        wait(senders_, [this] { return closed_ || items_.size() < capacity_; });
        if (closed_) throw std::system_error(EPIPE, std::generic_category(), "channel::send");
        items_.push_back(std::move(value));
        wake_one(receivers_);
    }

    std::optional<T> recv() {
        wait(receivers_, [this] { return closed_ || !items_.empty(); });
        if (items_.empty()) return std::nullopt;
        T value = std::move(items_.front());
        items_.pop_front();
        wake_one(senders_);
        return value;
    }

    void close() {
        closed_ = true;
        while (!senders_.empty()) wake_one(senders_);
        while (!receivers_.empty()) wake_one(receivers_);
    }

private:
    // Parks until `ready()`. A permit can be stale (kept from an earlier
    // unpark), so the condition is checked again after every wake-up.
    template <class Ready>
    void wait(std::deque<guv::task_id>& waiters, Ready ready) {
        guv::task_id self = guv::current();
        while (!ready()) {
            waiters.push_back(self);
            try {
                guv::park();
            } catch (...) {
                // Killed or timed out: leave the queue, and should the wake-up
                // meant for us have come meanwhile, pass it on.
                forget(waiters, self);
                if (ready()) wake_one(waiters);
                throw;
            }
            forget(waiters, self);
        }
    }

    static void wake_one(std::deque<guv::task_id>& waiters) {
        if (waiters.empty()) return;
        guv::unpark(waiters.front());
        waiters.pop_front();
    }

    static void forget(std::deque<guv::task_id>& waiters, guv::task_id id) {
        for (auto it = waiters.begin(); it != waiters.end(); ++it)
            if (*it == id) {
                waiters.erase(it);
                return;
            }
    }

    std::size_t capacity_;
    bool closed_ = false;
    std::deque<T> items_;
    std::deque<guv::task_id> senders_, receivers_;
};

/* Three producers and two consumers through a channel of 4: every value
   arrives exactly once, and close() ends the consumers. */
static void test_producers_and_consumers() {
    channel<int> ch(4);
    std::vector<guv::task<>> producers;
    for (int p = 0; p < 3; p++)
        producers.push_back(guv::spawn([&ch, p] {
            for (int i = 1; i <= 100; i++) ch.send(p * 1000 + i);
        }));
    auto consume = [&ch] {
        long sum = 0;
        while (auto v = ch.recv()) sum += *v;
        return sum;
    };
    auto c1 = guv::spawn(consume), c2 = guv::spawn(consume);
    for (auto& p : producers) p.join();
    ch.close();
    CHECK(c1.join() + c2.join() == 3 * 5050 + (0 + 1000 + 2000) * 100);
    CHECK_THROWS_ERRNO(ch.send(1), EPIPE);
}

/* A full channel holds its sender back until a receiver makes room. */
static void test_backpressure() {
    channel<int> ch(1);
    int sent = 0;
    auto sender = guv::spawn([&] {
        for (int i = 0; i < 3; i++, sent++) ch.send(i);
    });
    guv::sleep(5ms);
    CHECK(sent == 1);  // the second send waits
    CHECK(ch.recv() == 0);
    guv::sleep(5ms);
    CHECK(sent == 2);
    CHECK(ch.recv() == 1 && ch.recv() == 2);
    sender.join();
    CHECK(sent == 3);
}

/* A receiver under a guv::timeout gives up with ETIMEDOUT and leaves no
   trace: the channel works on afterwards. */
static void test_timeout_leaves_no_waiter() {
    channel<int> ch(1);
    auto t = guv::spawn([&] {
        guv::timeout limit(5ms);
        return ch.recv();
    });
    CHECK_THROWS_ERRNO(t.join(), ETIMEDOUT);
    ch.send(7);
    CHECK(ch.recv() == 7);
}

/* A receiver killed before the wake-up meant for it could run passes it on:
   the second receiver gets the value, nothing is lost. */
static void test_killed_receiver_passes_the_wakeup_on() {
    channel<int> ch(1);
    auto first = guv::spawn([&] { return ch.recv(); });
    auto second = guv::spawn([&] { return ch.recv(); });
    guv::yield();  // both wait, `first` at the front
    first.kill();
    ch.send(42);  // wakes `first`, which is on its way out
    CHECK_THROWS_ERRNO(first.join(), ECANCELED);
    CHECK(second.join() == 42);
}

int main() {
    RUN(test_producers_and_consumers);
    RUN(test_backpressure);
    RUN(test_timeout_leaves_no_waiter);
    RUN(test_killed_receiver_passes_the_wakeup_on);
    return 0;
}
