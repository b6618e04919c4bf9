// guv::read, guv::write, guv::close, guv::forget: the cooperative I/O calls
// on pipes, with the buffers they take.
#include <guv.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

struct pipe_pair {
    int rd, wr;
    pipe_pair() {
        int fd[2];
        CHECK(pipe(fd) == 0);
        rd = fd[0];
        wr = fd[1];
    }
    ~pipe_pair() {
        if (rd >= 0) guv_close(rd);
        if (wr >= 0) guv_close(wr);
    }
};

/* A read on an empty blocking-mode pipe suspends only its task: a ticker
   keeps running until the writer, later, sends the bytes. */
static void test_read_suspends_only_the_caller() {
    pipe_pair p;
    int ticks = 0;
    bool got = false;
    auto ticker = guv::spawn([&] {
        while (!got) {
            ++ticks;
            guv::sleep(1ms);
        }
    });
    int ticks_meanwhile = 0;
    auto reader = guv::spawn([&] {
        std::string buf(16, '\0');
        int before = ticks;
        std::size_t n = guv::read(p.rd, buf);
        ticks_meanwhile = ticks - before;
        got = true;
        return buf.substr(0, n);
    });
    guv::spawn([&] {
        guv::sleep(20ms);
        CHECK(guv::write(p.wr, "hello") == 5);  // a literal goes without its NUL
    }).join();
    CHECK(reader.join() == "hello");
    ticker.join();
    CHECK(ticks_meanwhile >= 1);
}

/* write() on a blocking-mode pipe returns only once every byte is written,
   though they are many times what the pipe holds; the reader sees them all,
   in order. The (pointer, length) form and byte containers both work. */
static void test_write_all_of_a_large_buffer() {
    pipe_pair p;
    std::vector<unsigned char> out(1 << 20);
    for (std::size_t i = 0; i < out.size(); i++) out[i] = static_cast<unsigned char>(i * 7);
    auto writer = guv::spawn([&] {
        std::size_t n = guv::write(p.wr, out);
        guv::close(p.wr);
        p.wr = -1;
        return n;
    });
    std::vector<unsigned char> in;
    std::array<std::byte, 4096> chunk;
    for (;;) {
        std::size_t n = guv::read(p.rd, {chunk.data(), chunk.size()});
        if (n == 0) break;  // end of file once the writer closed
        auto* b = reinterpret_cast<const unsigned char*>(chunk.data());
        in.insert(in.end(), b, b + n);
    }
    CHECK(writer.join() == out.size());
    CHECK(in == out);
}

/* On an fd the caller made non-blocking, EAGAIN throws like any errno (the
   documented choice: only blocking-mode fds are waited for). */
static void test_eagain_on_nonblocking_fd_throws() {
    pipe_pair p;
    CHECK(fcntl(p.rd, F_SETFL, O_NONBLOCK) == 0);
    char c;
    auto t = guv::spawn([&] { CHECK_THROWS_ERRNO(guv::read(p.rd, {&c, 1}), EAGAIN); });
    t.join();
    CHECK_THROWS_ERRNO(guv::read(p.rd, {&c, 1}), EAGAIN);  // in main too
}

/* Errors arrive as std::system_error: EBADF for a bad fd, ECANCELED for a
   killed reader, EINTR once for an interrupted one. */
static void test_errors() {
    char c;
    CHECK_THROWS_ERRNO(guv::read(-1, {&c, 1}), EBADF);
    CHECK_THROWS_ERRNO(guv::write(-1, "x"), EBADF);
    pipe_pair p;
    auto reader = guv::spawn([&] { guv::read(p.rd, {&c, 1}); });
    auto interrupted = 0;
    guv::spawn([&] {
        guv::sleep(2ms);
        reader.kill();
    }).detach();
    CHECK_THROWS_ERRNO(reader.join(), ECANCELED);
    auto again = guv::spawn([&] {
        CHECK_THROWS_ERRNO(guv::read(p.rd, {&c, 1}), EINTR);
        ++interrupted;
        CHECK(guv::read(p.rd, {&c, 1}) == 1);  // interrupt() is one-shot
        return c;
    });
    guv::yield();
    guv::interrupt(again);
    guv::sleep(2ms);
    CHECK(guv::write(p.wr, "z") == 1);
    CHECK(again.join() == 'z');
    CHECK(interrupted == 1);
}

/* guv::close wakes a task waiting on the fd (EBADF) and closes it; closing
   again is EBADF. guv::forget wakes waiters the same way but leaves the fd open. */
static void test_close_and_forget() {
    pipe_pair p;
    char c;
    auto waiter = guv::spawn([&] { guv::read(p.rd, {&c, 1}); });
    guv::yield();
    guv::close(p.rd);
    CHECK_THROWS_ERRNO(waiter.join(), EBADF);
    CHECK_THROWS_ERRNO(guv::close(p.rd), EBADF);
    p.rd = -1;

    pipe_pair q;
    auto other = guv::spawn([&] { guv::trampoline(q.rd, guv::readable); });
    guv::yield();
    guv::forget(q.rd);
    CHECK_THROWS_ERRNO(other.join(), EBADF);
    CHECK(fcntl(q.rd, F_GETFD) >= 0);  // still open
    CHECK_THROWS_ERRNO(guv::forget(-1), EBADF);
}

int main() {
    RUN(test_read_suspends_only_the_caller);
    RUN(test_write_all_of_a_large_buffer);
    RUN(test_eagain_on_nonblocking_fd_throws);
    RUN(test_errors);
    RUN(test_close_and_forget);
    return 0;
}
