/*
 * Helpers shared by the reliability programs: what the process holds right
 * now, read from /proc/self, and the knobs that scale a run.
 */
#ifndef GUV_REL_H
#define GUV_REL_H

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* Resident set size in KiB (VmRSS of /proc/self/status). */
static inline long rel_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    ASSERT(f != NULL);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    fclose(f);
    ASSERT(kib > 0);
    return kib;
}

/* Open file descriptors (entries of /proc/self/fd, less the one reading it). */
static inline int rel_fd_count(void) {
    DIR *d = opendir("/proc/self/fd");
    ASSERT(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1;
}

/* Mappings of the process (lines of /proc/self/maps). */
static inline long rel_map_count(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    ASSERT(f != NULL);
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* A run's size: the environment variable `name` if set, else `dflt`. */
static inline long rel_knob(const char *name, long dflt) {
    const char *s = getenv(name);
    return s && *s ? strtol(s, NULL, 10) : dflt;
}

/* A TCP listener on an ephemeral loopback port, whose address goes to *addr. */
static inline int rel_listen_loopback(struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
    socklen_t len = sizeof *addr;
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    ASSERT_EQ(listen(fd, 64), 0);
    return fd;
}

/* A connection to `addr` made with guv_connect. */
static inline int rel_connect(const struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    ASSERT_OK(guv_connect(fd, (const struct sockaddr *)addr, sizeof *addr));
    return fd;
}

/* Closes a TCP connection with a reset (SO_LINGER {1, 0}) instead of a FIN. */
static inline void rel_reset(int fd) {
    struct linger lg = {1, 0};
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    ASSERT_OK(guv_close(fd));
}

#endif /* GUV_REL_H */
