// guv::accept, guv::connect, guv::recv, guv::send over TCP on the loopback.
#include <guv.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1 at a port the kernel picks.
struct listener {
    int fd;
    sockaddr_in addr{};
    listener() {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        CHECK(bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
        CHECK(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        CHECK(listen(fd, 16) == 0);
    }
    ~listener() { guv_close(fd); }
};

static int tcp_socket() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    return fd;
}

/* An echo server accepts three clients, each in a task of its own; each
   client connects, sends a line and receives it back, all at once on one
   OS thread. accept() reports the peer's address when asked. */
static void test_echo_server() {
    listener l;
    const int clients = 3;
    auto server = guv::spawn([&] {
        std::vector<guv::task<>> conns;
        for (int i = 0; i < clients; i++) {
            sockaddr_in peer{};
            socklen_t len = sizeof peer;
            int c = guv::accept(l.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
            CHECK(len == sizeof peer && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
            conns.push_back(guv::spawn([c] {
                char buf[64];
                std::size_t n = guv::recv(c, buf);
                CHECK(guv::send(c, {buf, n}) == n);
                CHECK(guv::recv(c, buf) == 0);  // the client shut down
                guv::close(c);
            }));
        }
    });
    std::vector<guv::task<std::string>> cs;
    for (int i = 0; i < clients; i++) {
        cs.push_back(guv::spawn([&l, i] {
            int fd = tcp_socket();
            guv::connect(fd, l.addr);
            std::string line = "client " + std::to_string(i);
            CHECK(guv::send(fd, line) == line.size());
            std::string back(line.size(), '\0');
            CHECK(guv::recv(fd, back, MSG_WAITALL) == line.size());
            CHECK(shutdown(fd, SHUT_WR) == 0);
            guv::close(fd);
            return back;
        }));
    }
    for (int i = 0; i < clients; i++) CHECK(cs[i].join() == "client " + std::to_string(i));
    server.join();
}

/* accept() waits for a client without blocking the OS thread; the plain
   accept(fd) form returns the new fd. */
static void test_accept_waits() {
    listener l;
    int ticks = 0;
    auto server = guv::spawn([&] {
        int c = guv::accept(l.fd);
        CHECK(c >= 0);
        guv::close(c);
        return ticks;
    });
    for (; ticks < 5; ticks++) guv::sleep(1ms);
    int fd = tcp_socket();
    guv::connect(fd, l.addr);
    CHECK(server.join() >= 5);
    guv::close(fd);
}

/* Connecting to a port nobody listens on throws ECONNREFUSED; MSG_DONTWAIT
   on an empty socket throws EAGAIN (it is not waited for). */
static void test_errors() {
    sockaddr_in closed;
    {
        listener l;
        closed = l.addr;
    }
    int fd = tcp_socket();
    CHECK_THROWS_ERRNO(guv::connect(fd, closed), ECONNREFUSED);
    guv::close(fd);

    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    char c;
    CHECK_THROWS_ERRNO(guv::recv(sv[0], {&c, 1}, MSG_DONTWAIT), EAGAIN);
    CHECK_THROWS_ERRNO(guv::accept(sv[0]), EINVAL);  // not listening
    CHECK_THROWS_ERRNO(guv::send(-1, "x"), EBADF);
    guv::close(sv[0]);
    guv::close(sv[1]);
}

int main() {
    RUN(test_echo_server);
    RUN(test_accept_waits);
    RUN(test_errors);
    return 0;
}
