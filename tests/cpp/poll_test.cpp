// guv::poll over a std::vector<pollfd> or a (pointer, count) pair.
#include <guv.hpp>

#include <poll.h>
#include <unistd.h>

#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

struct pipes {
    int fd[2][2];
    pipes() { CHECK(pipe(fd[0]) == 0 && pipe(fd[1]) == 0); }
    ~pipes() {
        for (auto& p : fd) {
            guv_close(p[0]);
            guv_close(p[1]);
        }
    }
};

/* A task polls two pipes: it is suspended (a ticker runs) until a byte
   arrives on the second; poll() returns 1 with revents set on that one only. */
static void test_wakes_on_the_ready_fd() {
    pipes p;
    int ticks = 0;
    bool done = false;
    auto ticker = guv::spawn([&] {
        for (; !done; ++ticks) guv::sleep(1ms);
    });
    int ticks_meanwhile = 0;
    auto poller = guv::spawn([&] {
        std::vector<pollfd> fds{{p.fd[0][0], POLLIN, 0}, {p.fd[1][0], POLLIN, 0}};
        int before = ticks;
        int n = guv::poll(fds);
        ticks_meanwhile = ticks - before;
        done = true;
        CHECK(fds[0].revents == 0 && (fds[1].revents & POLLIN));
        return n;
    });
    guv::sleep(10ms);
    CHECK(write(p.fd[1][1], "x", 1) == 1);
    CHECK(poller.join() == 1);
    ticker.join();
    CHECK(ticks_meanwhile >= 1);
}

/* With a timeout and nothing ready poll() returns 0 after it; a zero timeout
   polls once; an already-ready fd returns at once through the pointer form. */
static void test_timeouts() {
    pipes p;
    std::vector<pollfd> fds{{p.fd[0][0], POLLIN, 0}};
    double start = guv_now();
    CHECK(guv::poll(fds, 15ms) == 0);
    CHECK(guv_now() - start >= 0.014);
    CHECK(guv::poll(fds, 0ms) == 0);
    CHECK(guv::poll(fds, -1s) == 0);
    pollfd w{p.fd[0][1], POLLOUT, 0};
    CHECK(guv::poll(&w, 1, 1s) == 1 && (w.revents & POLLOUT));
    CHECK(guv::poll(&w, 1) == 1);
}

/* An enclosing guv::timeout ends an endless poll with ETIMEDOUT; a kill
   ends it with ECANCELED. */
static void test_deadline_and_kill() {
    pipes p;
    auto t = guv::spawn([&] {
        std::vector<pollfd> fds{{p.fd[0][0], POLLIN, 0}, {p.fd[1][0], POLLIN, 0}};
        guv::timeout limit(5ms);
        guv::poll(fds);
    });
    CHECK_THROWS_ERRNO(t.join(), ETIMEDOUT);
    auto k = guv::spawn([&] {
        pollfd one{p.fd[0][0], POLLIN, 0};
        guv::poll(&one, 1, 60s);
    });
    guv::yield();
    k.kill();
    CHECK_THROWS_ERRNO(k.join(), ECANCELED);
}

int main() {
    RUN(test_wakes_on_the_ready_fd);
    RUN(test_timeouts);
    RUN(test_deadline_and_kill);
    return 0;
}
