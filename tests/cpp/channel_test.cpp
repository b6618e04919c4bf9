// guv::channel: bounded and unbounded, close, and waiters killed or timed
// out right after their wake-up.
#include <guv.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

/* Three producers and two consumers through a channel of 4: every value
   arrives exactly once, and close() ends the consumers. */
static void test_producers_and_consumers() {
    guv::channel<int> ch(4);
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
    CHECK(!ch.send(1));  // closed
}

/* A full channel holds its sender back until a receiver makes room. */
static void test_backpressure() {
    guv::channel<int> ch(1);
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
    guv::channel<int> ch(1);
    auto t = guv::spawn([&] {
        guv::timeout limit(5ms);
        return ch.recv();
    });
    CHECK_THROWS_ERRNO(t.join(), ETIMEDOUT);
    CHECK(ch.send(7));
    CHECK(ch.recv() == 7);
}

/* A receiver killed before the wake-up meant for it could run passes it on:
   the second receiver gets the value, nothing is lost. */
static void test_killed_receiver_passes_the_wakeup_on() {
    guv::channel<int> ch(1);
    auto first = guv::spawn([&] { return ch.recv(); });
    auto second = guv::spawn([&] { return ch.recv(); });
    guv::yield();  // both wait, `first` at the front
    first.kill();
    CHECK(ch.send(42));  // wakes `first`, which is on its way out
    CHECK_THROWS_ERRNO(first.join(), ECANCELED);
    CHECK(second.join() == 42);
}

/* An unbounded channel never holds a sender back; move-only values pass. */
static void test_unbounded_move_only() {
    guv::channel<std::unique_ptr<std::string>> ch;
    for (int i = 0; i < 1000; i++) CHECK(ch.send(std::make_unique<std::string>(std::to_string(i))));
    CHECK(ch.size() == 1000);
    ch.close();
    int n = 0;
    while (auto v = ch.recv()) CHECK(**v == std::to_string(n++));
    CHECK(n == 1000);
    CHECK(!ch.recv());
}

/* close() wakes a sender waiting on a full channel (false) and receivers
   waiting on an empty one (nullopt); a capacity of 0 is refused. */
static void test_close_wakes_waiters() {
    guv::channel<int> full(1);
    CHECK(full.send(1));
    auto sender = guv::spawn([&] { return full.send(2); });
    guv::channel<int> empty(2);
    auto receiver = guv::spawn([&] { return empty.recv(); });
    guv::yield();
    full.close();
    empty.close();
    CHECK(!sender.join());
    CHECK(!receiver.join());
    CHECK(full.recv() == 1);  // what was queued before close is still delivered
    CHECK(!full.recv());
    CHECK_THROWS_ERRNO(guv::channel<int>(0), EINVAL);
}

/* recv_for gives up after its own timeout with nullopt, on an open channel. */
static void test_recv_for() {
    guv::channel<int> ch(1);
    double start = guv_now();
    CHECK(!ch.recv_for(10ms));
    CHECK(guv_now() - start >= 0.009);
    CHECK(!ch.closed());
    auto later = guv::spawn([&] {
        guv::sleep(5ms);
        ch.send(3);
    });
    CHECK(ch.recv_for(1s) == 3);
    later.join();
}

int main() {
    RUN(test_producers_and_consumers);
    RUN(test_backpressure);
    RUN(test_timeout_leaves_no_waiter);
    RUN(test_killed_receiver_passes_the_wakeup_on);
    RUN(test_unbounded_move_only);
    RUN(test_close_wakes_waiters);
    RUN(test_recv_for);
    return 0;
}
