// guv::trampoline on a socketpair: blocking-style code made cooperative.
#include <guv.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "check.hpp"

using namespace std::chrono_literals;

struct socket_pair {
    int fd[2];
    socket_pair() {
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0);
    }
    ~socket_pair() {
        guv_close(fd[0]);
        guv_close(fd[1]);
    }
};

// The pattern a C driver follows: try, and on EAGAIN wait where it would block.
static char read_byte(int fd) {
    char c;
    for (;;) {
        ssize_t n = ::read(fd, &c, 1);
        if (n == 1) return c;
        CHECK(n < 0 && errno == EAGAIN);
        CHECK(guv::trampoline(fd, guv::readable) & guv::readable);
    }
}

/* Two tasks play ping-pong over a socketpair, each waiting in trampoline for
   the other's byte; a third task keeps running meanwhile. */
static void test_ping_pong() {
    socket_pair sp;
    const int rounds = 200;
    int ticks = 0;
    bool done = false;
    auto ticker = guv::spawn([&] {
        while (!done) {
            ++ticks;
            guv::yield();
        }
    });
    auto ping = guv::spawn([&] {
        for (int i = 0; i < rounds; i++) {
            char c = static_cast<char>(i);
            CHECK(::write(sp.fd[0], &c, 1) == 1);
            CHECK(read_byte(sp.fd[0]) == static_cast<char>(i + 1));
        }
        done = true;
    });
    auto pong = guv::spawn([&] {
        for (int i = 0; i < rounds; i++) {
            char c = read_byte(sp.fd[1]);
            c = static_cast<char>(c + 1);
            CHECK(::write(sp.fd[1], &c, 1) == 1);
        }
    });
    ping.join();
    pong.join();
    ticker.join();
    CHECK(ticks >= rounds);
}

/* With a timeout and nothing to read, trampoline returns 0 after the timeout
   rather than throwing; the same wait returns readable once a byte arrives. */
static void test_timeout_returns_zero() {
    socket_pair sp;
    auto t = guv::spawn([&] {
        double start = guv_now();
        CHECK(guv::trampoline(sp.fd[1], guv::readable, 10ms) == 0);
        CHECK(guv_now() - start >= 0.009);
        CHECK(guv::trampoline(sp.fd[1], guv::readable, 0ms) == 0);
        CHECK(guv::trampoline(sp.fd[1], guv::readable, std::nullopt) == guv::readable);
        CHECK(guv::trampoline(sp.fd[1], guv::readable, std::optional<std::chrono::seconds>(5s)) == guv::readable);
    });
    guv::spawn([&] {
        guv::sleep(30ms);
        CHECK(::write(sp.fd[0], "x", 1) == 1);
    }).join();
    t.join();
}

/* A socket with room to write is writable at once; asking for both reports only what is ready. */
static void test_writable_and_both() {
    socket_pair sp;
    auto t = guv::spawn([&] {
        CHECK(guv::trampoline(sp.fd[0], guv::writable) == guv::writable);
        CHECK(guv::trampoline(sp.fd[0], guv::readable | guv::writable, 1s) == guv::writable);
    });
    t.join();
}

/* Errors of the C call arrive as std::system_error with its errno. */
static void test_errors() {
    socket_pair sp;
    auto t = guv::spawn([&] {
        CHECK_THROWS_ERRNO(guv::trampoline(-1, guv::readable), EBADF);
        CHECK_THROWS_ERRNO(guv::trampoline(sp.fd[0], 0), EINVAL);
        auto first = guv::spawn([&] { guv::trampoline(sp.fd[1], guv::readable); });
        guv::yield();
        CHECK_THROWS_ERRNO(guv::trampoline(sp.fd[1], guv::readable, 1s), EBUSY);
        first.kill();
        CHECK_THROWS_ERRNO(first.join(), ECANCELED);
    });
    t.join();
}

int main() {
    RUN(test_ping_pong);
    RUN(test_timeout_returns_zero);
    RUN(test_writable_and_both);
    RUN(test_errors);
    return 0;
}
