/* guv_recvfrom / guv_sendto on UDP: a receiver waits for a datagram and
 * learns the sender's address. */
#include "io.h"

static int rx, tx;
static struct sockaddr_in rx_addr, tx_addr;
static char got[32];
static ssize_t got_n;
static struct sockaddr_in from;
static socklen_t from_len;
static int ticks_during;

static void receive(void *arg) {
    (void)arg;
    from_len = sizeof from;
    int before = io_ticks;
    got_n = guv_recvfrom(rx, got, sizeof got, 0, (struct sockaddr *)&from, &from_len);
    ticks_during = io_ticks - before;
}

static void send_later(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(guv_sendto(tx, "datagram", 8, 0, (struct sockaddr *)&rx_addr, sizeof rx_addr), 8);
}

static void test_recvfrom_waits_for_datagram(void) {
    rx = io_bound(SOCK_DGRAM, &rx_addr);
    tx = io_bound(SOCK_DGRAM, &tx_addr);
    got_n = -2;
    io_ticker_start();
    ASSERT(guv_spawn(receive, NULL) >= 1);
    ASSERT(guv_spawn(send_later, NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.12), 0);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got_n, 8);
    ASSERT(memcmp(got, "datagram", 8) == 0);
    ASSERT_EQ(from_len, sizeof from);
    ASSERT_EQ(from.sin_port, tx_addr.sin_port);
    ASSERT_EQ(from.sin_addr.s_addr, tx_addr.sin_addr.s_addr);
    ASSERT(ticks_during >= 1);
    ASSERT(!io_nonblocking(rx));
    ASSERT_EQ(guv_close(rx), 0);
    ASSERT_EQ(guv_close(tx), 0);
}

/* Datagram boundaries are kept: two sends, two receives; a short buffer
 * truncates the datagram (MSG_TRUNC reports its real length). */
static void test_boundaries_and_trunc(void) {
    rx = io_bound(SOCK_DGRAM, &rx_addr);
    tx = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT(tx >= 0);
    ASSERT_EQ(guv_sendto(tx, "one", 3, 0, (struct sockaddr *)&rx_addr, sizeof rx_addr), 3);
    ASSERT_EQ(guv_sendto(tx, "second", 6, 0, (struct sockaddr *)&rx_addr, sizeof rx_addr), 6);
    char b[16];
    ASSERT_EQ(guv_recvfrom(rx, b, sizeof b, 0, NULL, NULL), 3);
    ASSERT_EQ(guv_recvfrom(rx, b, 2, MSG_TRUNC, NULL, NULL), 6);
    ASSERT(memcmp(b, "se", 2) == 0);
    ASSERT_EQ(guv_close(rx), 0);
    ASSERT_EQ(guv_close(tx), 0);
}

int main(void) {
    RUN(test_recvfrom_waits_for_datagram);
    RUN(test_boundaries_and_trunc);
    return 0;
}
