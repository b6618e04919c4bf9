/* The hook's process state: real functions, GUV_HOOK, and the per-fd cache. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hook.h"

void *hook_dlsym(void **slot, const char *name)
{
    void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (f)
        return f;
    /* Two threads racing here store the same pointer. */
    f = dlsym(RTLD_NEXT, name);
    if (!f) {
        static const char msg[] = "libguv_hook: a libc function is missing: ";
        syscall(SYS_write, 2, msg, sizeof msg - 1);
        syscall(SYS_write, 2, name, strlen(name));
        syscall(SYS_write, 2, "\n", 1);
        abort();
    }
    __atomic_store_n(slot, f, __ATOMIC_RELEASE);
    return f;
}

/* -1 until read, then 0 or 1. */
static int enabled = -1;

bool hook_enabled(void)
{
    int e = __atomic_load_n(&enabled, __ATOMIC_RELAXED);
    if (e < 0) {
        const char *v = getenv("GUV_HOOK");
        e = !(v && strcmp(v, "0") == 0);
        __atomic_store_n(&enabled, e, __ATOMIC_RELAXED);
    }
    return e;
}

/* This process's pid, kept by pthread_atfork. A vfork child (CPython's
 * subprocess runs dup2 and close in one) shares its parent's memory and
 * thread-local storage but not its fds, and runs no atfork handler: there
 * the pid differs, and the parent's hub must not hear of its closes. */
static pid_t hook_pid;

static void hook_after_fork(void)
{
    hook_pid = (pid_t)syscall(SYS_getpid);
}

bool hook_in_own_process(void)
{
    return (pid_t)syscall(SYS_getpid) == hook_pid;
}

/* Read GUV_HOOK before main and before any thread can race on it. */
__attribute__((constructor)) static void hook_init(void)
{
    hook_enabled();
    hook_after_fork();
    pthread_atfork(NULL, NULL, hook_after_fork);
}

static __thread bool thread_has_hub;

bool hook_in_green_thread(void)
{
    if (!hook_enabled() || guv_current() == 0)
        return false;
    thread_has_hub = true;
    return true;
}

bool hook_green(void)
{
    return hook_in_green_thread() && guv_can_switch() != 0;
}

bool hook_thread_has_hub(void)
{
    return thread_has_hub;
}

/* One byte per fd below CACHE_FDS; higher fds are probed on every call. */
enum {
    FD_KNOWN = 1,
    FD_PASS = 2,     /* a regular file, directory or block device */
    FD_NONBLOCK = 4, /* O_NONBLOCK as the owner set it */
};
#define CACHE_FDS 65536
static uint8_t fd_cache[CACHE_FDS];

/* fstat and F_GETFL as raw system calls, so no other preloaded wrapper
 * sees them; 0 when `fd` is not open (the real call then reports EBADF). */
static uint8_t fd_probe(int fd)
{
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) != 0)
        return 0;
    long fl = syscall(SYS_fcntl, fd, F_GETFL, 0);
    if (fl < 0)
        return 0;
    uint8_t e = FD_KNOWN;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        e |= FD_PASS;
    if (fl & O_NONBLOCK)
        e |= FD_NONBLOCK;
    return e;
}

bool hook_fd_waitable(int fd)
{
    if (fd < 0)
        return false;
    uint8_t e;
    if (fd < CACHE_FDS) {
        e = __atomic_load_n(&fd_cache[fd], __ATOMIC_RELAXED);
        if (!(e & FD_KNOWN)) {
            e = fd_probe(fd);
            __atomic_store_n(&fd_cache[fd], e, __ATOMIC_RELAXED);
        }
    } else {
        e = fd_probe(fd);
    }
    return (e & FD_KNOWN) && !(e & (FD_PASS | FD_NONBLOCK));
}

void hook_fd_forget(int fd)
{
    if (fd >= 0 && fd < CACHE_FDS)
        __atomic_store_n(&fd_cache[fd], 0, __ATOMIC_RELAXED);
}

int hook_fd_fresh(int fd)
{
    hook_fd_forget(fd);
    return fd;
}

void hook_fd_set_nonblock(int fd, bool nonblock)
{
    if (fd < 0 || fd >= CACHE_FDS)
        return;
    uint8_t e = __atomic_load_n(&fd_cache[fd], __ATOMIC_RELAXED), want;
    do {
        if (!(e & FD_KNOWN))
            return;
        want = nonblock ? (e | FD_NONBLOCK) : (e & ~FD_NONBLOCK);
    } while (!__atomic_compare_exchange_n(&fd_cache[fd], &e, want, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
}
