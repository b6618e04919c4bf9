/*
 * guv._core: CPython on guv green threads.
 *
 * Each Python green thread gets its own PyThreadState, attached on its own
 * stack when it starts and cleared there when it ends (then kept for the
 * next one), with its first Python frames on that stack. The GIL is released
 * across every switch by the core's per-task hooks (switch_out/switch_in),
 * and the PyGILState slot is kept pointing at the running task's state, so
 * exceptions, frames, generators, contextvars, threading.local and
 * PyGILState_Ensure callbacks stay per green thread.
 *
 * libguv is not linked: guv/_lib.py finds it (GUV_LIBRARY, the packaged
 * copy, the linker path, pkg-config) and load() takes its functions with
 * dlsym, so there is one libguv, and one hub per OS thread, in the process.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guv.h"

/* A Python green thread's stack, unless a size was chosen for guv
 * (GUV_STACK_SIZE, guv_set_stack_size). On 3.11 only the recursion limit
 * bounds C recursion: at its default of 1000 a recursion through __repr__,
 * map or __getattr__ took up to 720 KiB (measured), and a deeper one ends
 * on the guard page with guv's overflow report. The 8 MiB of a main thread
 * would cost a page table page per parked green thread (4 KiB, zeroed at
 * its first fault: each touched stack top lies in a 2 MiB region of its
 * own); 1 MiB stacks share one between two. */
#define PY_STACK_SIZE ((size_t)1 << 20)

/* The stack CPython's C recursion limits are made for: a main thread's. */
#define MAIN_STACK_SIZE ((size_t)8 << 20)

#if PY_VERSION_HEX >= 0x030D0000
#define current_tstate() PyThreadState_GetUnchecked()
#else
#define current_tstate() _PyThreadState_UncheckedGet()
#endif

/* ---- libguv, resolved at load() ---- */

static struct {
    int64_t (*spawn_ex)(guv_fn, void *, size_t);
    int (*sleep)(double);
    int (*yield)(void);
    int (*join)(int64_t);
    int (*kill)(int64_t);
    int64_t (*current)(void);
    int (*trampoline_timeout)(int, int, double);
    int (*timeout_begin)(double);
    int (*timeout_end)(void);
    int (*add_hooks)(const guv_hooks *);
    int (*can_switch)(void);
    int64_t (*count)(void);
    double (*now)(void);
    int (*run)(void);
    int (*close)(int);
    int (*park)(double);
    int (*unpark)(int64_t);
    int (*interrupt)(int64_t);
    int (*check)(void);
    int (*stack_bounds)(void **, size_t *);
    int (*stack_size_chosen)(void);
    guv_hub *(*hub_self)(void);
    void (*hub_release)(guv_hub *);
    int (*hub_unpark)(guv_hub *, int64_t);
    int (*hub_interrupt)(guv_hub *, int64_t);
    int (*hub_hold)(guv_hub *);
    int (*hub_unhold)(guv_hub *);
    int (*offload)(guv_fn, void *);
    int (*poll)(struct pollfd *, nfds_t, int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
} g;

static int loaded;

/* ---- per-task state, kept by the hooks ---- */

struct task {
    /* NULL until a Python green thread starts on this task, and for tasks
     * spawned from C that never run Python. */
    PyThreadState *tstate;
    /* The task held the GIL when it switched out: take it back on switch in. */
    int held;
    /* Its waiter() token, made on its first park (Python green threads only). */
    PyObject *token;
};

/* The running task's hook data: set by task_start and switch_in. */
static __thread struct task *running;

/* The pthread key behind CPython's PyGILState slot (found at load()). */
static pthread_key_t gilstate_key;

static void set_gilstate(PyThreadState *ts)
{
    pthread_setspecific(gilstate_key, ts);
}

/* Whether `ts` is attached on this OS thread. On 3.11 the current state
 * is process-wide, so check that it belongs to this thread (by its kernel
 * id: a green thread's state carries its green ident, see py_task). */
static int attached_here(PyThreadState *ts)
{
    return ts != NULL && ts->native_thread_id == PyThread_get_thread_native_id();
}

static void *hook_task_start(void *userdata)
{
    (void)userdata;
    struct task *t = calloc(1, sizeof *t);
    if (t == NULL) {
        fputs("guv: out of memory for a green thread's Python state\n", stderr);
        abort();
    }
    running = t;
    /* Until it runs Python, the slot names no state: a PyGILState_Ensure
     * here must make a fresh one, never borrow the last runner's. */
    set_gilstate(NULL);
    return t;
}

static void hook_task_end(void *userdata, void *data)
{
    (void)userdata;
    running = NULL;
    free(data);
}

static void hook_switch_out(void *userdata, void *data)
{
    (void)userdata;
    struct task *t = data;
    t->held = t->tstate != NULL && current_tstate() == t->tstate;
    if (t->held)
        PyEval_SaveThread();
}

/* Taking the GIL while another state on this OS thread holds it (main
 * blocked in guv from C without releasing it) would hang forever. */
static void take_gil(PyThreadState *ts)
{
    if (attached_here(current_tstate()))
        Py_FatalError("guv: a green thread cannot take the GIL: another state on "
                      "this OS thread switched while holding it (call guv from main "
                      "with the GIL released)");
    PyEval_RestoreThread(ts);
}

static void hook_switch_in(void *userdata, void *data)
{
    (void)userdata;
    struct task *t = data;
    running = t;
    set_gilstate(t->tstate);
    if (t->held)
        take_gil(t->tstate);
}

/* Refuse a switch while a state other than the task's own holds the GIL
 * (say PyGILState_Ensure from a C task): nothing would release it. */
static int32_t hook_may_switch(void *userdata, void *data)
{
    (void)userdata;
    struct task *t = data;
    PyThreadState *cur = current_tstate();
    return !(attached_here(cur) && cur != t->tstate);
}

/* ---- errors ---- */

static PyObject *Killed;       /* ECANCELED: returns what to raise in the killed caller */
static PyObject *Expired;      /* ETIMEDOUT: guv.timeout maps it to the right Timeout */

static PyObject *raise_errno(int err)
{
    if (err == ECANCELED && Killed != NULL) {
        PyObject *exc = PyObject_CallNoArgs(Killed);
        if (exc == NULL)
            return NULL;
        if (PyExceptionClass_Check(exc))
            PyErr_SetNone(exc);
        else
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    } else if (err == ETIMEDOUT && Expired != NULL) {
        PyErr_SetNone(Expired);
    } else {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
    }
    return NULL;
}

static int as_int(PyObject *o, int *out)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < INT_MIN || v > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "guv: value does not fit a C int");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int require_loaded(void)
{
    if (!loaded)
        PyErr_SetString(PyExc_RuntimeError, "guv._core: libguv is not loaded");
    return loaded;
}

/* ---- blocking calls ---- */

/* Raises, in main, an exception a green thread handed over (guv._runtime.raise_pending). */
static PyObject *raise_pending;

/* guv._runtime._watch_signals: takes the signal wakeup fd and hands it to
 * watch_signals(). Called at the first blocking call of each OS thread's
 * main, not at import: `import guv` changes nothing process-wide. */
static PyObject *arm_signals;
static _Thread_local int signals_asked;

/* The signal watcher of this process, started by main's first blocking call. */
static int watch_fd = -1;
static pthread_t watch_owner;
static int watching;
static void start_signal_watch(void);

/* Before main first waits in the hub, have guv._runtime take the wakeup fd.
 * A signal that came before the fd was ours wrote no byte the watcher will
 * see: its handler runs here, not after the wait. */
static int ask_for_signals(void)
{
    signals_asked = 1;
    PyObject *none = PyObject_CallNoArgs(arm_signals);
    if (none == NULL) {
        signals_asked = 0; /* a handler's exception (Ctrl-C already): ask again next time */
        return -1;
    }
    Py_DECREF(none);
    return PyErr_CheckSignals();
}

typedef int (*timed_call)(void *ctx, double timeout);

/* A blocking guv call, `timeout` seconds at most (negative: no limit).
 * Inside a green thread the hooks release the GIL around the switch. Main
 * runs no hooks (the hub loop runs on its own stack), so it releases the GIL
 * here. A green thread handing main an exception interrupts main's call
 * (guv_interrupt(0)): the call then fails with that exception set. An
 * EINTR with nothing handed over is left from an interrupt that came while
 * main only yielded (the exception was raised after the yield): main calls
 * again, for what is left of the timeout.
 * Returns the call's result; -1 with errno set, or with a Python exception set. */
static int blocking(timed_call call, void *ctx, double timeout)
{
    if (g.current() != 0)
        return call(ctx, timeout);
    if (!signals_asked && ask_for_signals() < 0)
        return -1;
    if (!watching && watch_fd >= 0 && pthread_equal(pthread_self(), watch_owner))
        start_signal_watch();
    double until = timeout > 0 ? g.now() + timeout : timeout;
    for (;;) {
        PyThreadState *ts = PyEval_SaveThread();
        int rc = call(ctx, timeout);
        int err = errno;
        set_gilstate(ts);
        take_gil(ts);
        if (rc >= 0 || err != EINTR) {
            errno = err;
            return rc;
        }
        /* The signal watcher's interrupt: the handlers run here, in main, as in CPython. */
        if (PyErr_CheckSignals() < 0)
            return -1;
        PyObject *none = PyObject_CallNoArgs(raise_pending);
        if (none == NULL)
            return -1;
        Py_DECREF(none);
        if (until > 0)
            timeout = fmax(until - g.now(), 0.0);
    }
}

/* -1 from blocking(): the exception it set, or the errno's. */
static PyObject *blocking_failed(void)
{
    return PyErr_Occurred() ? NULL : raise_errno(errno);
}

static int call_sleep(void *ctx, double timeout)
{
    (void)ctx;
    return g.sleep(timeout);
}

static int call_yield(void *ctx, double timeout)
{
    (void)ctx, (void)timeout;
    return g.yield();
}

static int call_join(void *ctx, double timeout)
{
    (void)timeout;
    return g.join(*(int64_t *)ctx);
}

static int call_park(void *ctx, double timeout)
{
    (void)ctx;
    return g.park(timeout);
}

static int call_run(void *ctx, double timeout)
{
    (void)ctx, (void)timeout;
    return g.run();
}

struct fd_wait {
    int fd, events;
};

static int call_trampoline(void *ctx, double timeout)
{
    struct fd_wait *w = ctx;
    return g.trampoline_timeout(w->fd, w->events, timeout);
}

struct poll_call {
    struct pollfd *fds;
    nfds_t n;
};

static int call_poll(void *ctx, double timeout)
{
    struct poll_call *p = ctx;
    /* blocking() counts in seconds; a few ulps must not add a millisecond. */
    int ms = timeout < 0 ? -1 : (int)fmin(ceil(timeout * 1000.0 - 1e-6), (double)INT_MAX);
    return g.poll(p->fds, p->n, ms);
}

struct io_call {
    int fd;
    void *buf;
    size_t len;
    ssize_t done;
};

static int call_read(void *ctx, double timeout)
{
    (void)timeout;
    struct io_call *io = ctx;
    io->done = g.read(io->fd, io->buf, io->len);
    return io->done < 0 ? -1 : 0;
}

static int call_write(void *ctx, double timeout)
{
    (void)timeout;
    struct io_call *io = ctx;
    io->done = g.write(io->fd, io->buf, io->len);
    return io->done < 0 ? -1 : 0;
}

/* ---- Python calls on the offload threads ---- */

/* One Python call handed to guv_offload: the caller waits, so what it
 * borrows stays alive; the outcome is a new reference or an exception. */
struct offloaded {
    PyObject *fn, *args;
    PyInterpreterState *interp;
    PyObject *result;
    PyObject *exc_type, *exc_value, *exc_tb;
};

/* Runs on an offload thread, which has no GIL: takes it with a thread state
 * made for this call and deletes that state after, as PyGILState_Release
 * would: offload threads end when idle (offload.rs) and new ones start on
 * demand, so a state kept per thread would outlive it, never deleted. */
static void offload_trampoline(void *arg)
{
    struct offloaded *o = arg;
    PyThreadState *ts = PyThreadState_New(o->interp);
    if (ts == NULL) {
        fputs("guv: no memory for an offload thread's PyThreadState\n", stderr);
        abort();
    }
    set_gilstate(ts);
    PyEval_RestoreThread(ts);
    o->result = PyObject_Call(o->fn, o->args, NULL);
    if (o->result == NULL) {
        PyErr_Fetch(&o->exc_type, &o->exc_value, &o->exc_tb);
        PyErr_NormalizeException(&o->exc_type, &o->exc_value, &o->exc_tb);
    }
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
}

static int call_offload(void *ctx, double timeout)
{
    (void)timeout;
    return g.offload(offload_trampoline, ctx);
}

/* ---- waiters other OS threads can wake ---- */

/* This OS thread's hub (a capsule), taken on its first waiter and kept for
 * the thread's life: guv_hub_unpark needs it to wake that waiter from
 * another OS thread. */
static __thread PyObject *this_hub;

/* Forks this process has been through; a hub capsule carries the count of
 * its making as its context. A forked child takes new hubs, and of the
 * green threads of before only the one that forked goes on there: a token
 * of an older hub names a waiter that is gone. */
static uintptr_t forks;

static void release_hub(PyObject *capsule)
{
    g.hub_release(PyCapsule_GetPointer(capsule, "guv_hub"));
}

/* Borrowed; NULL with an exception set. */
static PyObject *hub_here(void)
{
    if (this_hub == NULL) {
        guv_hub *hub = g.hub_self();
        if (hub == NULL)
            return raise_errno(errno);
        this_hub = PyCapsule_New(hub, "guv_hub", release_hub);
        if (this_hub == NULL)
            g.hub_release(hub);
        else if (PyCapsule_SetContext(this_hub, (void *)forks) < 0)
            Py_CLEAR(this_hub);
    }
    return this_hub;
}

/* Whether Python runs on an OS thread other than this one (a state there
 * has a frame): a thread that could still wake a waiter here. Idle states
 * (green threads' kept for reuse) do not count: they outlive their tasks. */
static int other_python_threads(void)
{
    unsigned long me = PyThread_get_thread_native_id();
    PyInterpreterState *interp = PyInterpreterState_Get();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts != NULL; ts = PyThreadState_Next(ts)) {
        if (ts->native_thread_id == me)
            continue;
        PyFrameObject *frame = PyThreadState_GetFrame(ts);
        if (frame != NULL) {
            Py_DECREF(frame);
            return 1;
        }
    }
    return 0;
}

/* ---- CPython 3.14+: the C stack limits of a green thread ---- */

#if PY_VERSION_HEX >= 0x030E0000
/* CPython 3.14 checks C recursion against the limits of the OS thread's
 * stack, which are not a green thread's: tell it the green thread's own,
 * when this CPython has PyUnstable_ThreadState_SetStackProtection (3.14.1
 * on; looked up so that 3.14.0 still loads). */
static void set_stack_protection(PyThreadState *ts)
{
    static int (*set)(PyThreadState *, void *, size_t);
    static int looked_up;
    if (!looked_up) {
        *(void **)&set = dlsym(RTLD_DEFAULT, "PyUnstable_ThreadState_SetStackProtection");
        looked_up = 1;
    }
    void *lo;
    size_t size;
    if (set != NULL && g.stack_bounds(&lo, &size) == 0 && set(ts, lo, size) < 0)
        PyErr_WriteUnraisable(NULL);
}
#elif PY_VERSION_HEX >= 0x030C0000
/* 3.12 and 3.13 count C recursion (a Python function called from C, a
 * nested repr, json or pickle) up to a number of levels made for the 8 MiB
 * of a main thread (10,000 on 3.13): on a green thread's smaller stack
 * the count is cut to what the stack holds, so that a deep recursion
 * raises RecursionError instead of crashing on the guard page. A level
 * took up to 1.6 KiB (a recursion through sorted's key function: three
 * levels in 4.9 KiB, measured on 3.12); 1.75 KiB each, and 96 KiB kept for
 * the frames below the green thread's code and the 50 levels CPython
 * allows while it handles the error. */
#ifndef Py_C_RECURSION_LIMIT
#define Py_C_RECURSION_LIMIT C_RECURSION_LIMIT
#endif
#define C_LEVEL_BYTES 1792
#define C_LEVELS_RESERVE ((size_t)96 << 10)

static void set_stack_protection(PyThreadState *ts)
{
    void *lo;
    size_t size;
    int levels = Py_C_RECURSION_LIMIT;
    if (g.stack_bounds(&lo, &size) == 0 && size < MAIN_STACK_SIZE) {
        size_t fit = size > C_LEVELS_RESERVE ? (size - C_LEVELS_RESERVE) / C_LEVEL_BYTES : 0;
        if (fit < (size_t)levels)
            levels = fit > 8 ? (int)fit : 8;
    }
    /* Nothing of the state's is on the C stack yet: this is its whole budget. */
    ts->c_recursion_remaining = levels;
}
#else
/* 3.11 counts C and Python recursion together (sys.getrecursionlimit()),
 * with no C stack measure of its own to fit. */
#define set_stack_protection(ts) ((void)(ts))
#endif

/* ---- introspection: guv.debug ----
 *
 * Python's view of guv's dump and blocking detector. Each running Python
 * green thread is on a list (changed only under the GIL), so that a frame can
 * be found for a green thread id: for format_run_info() on this OS thread,
 * and for the detector's reports, which come from guv's monitor thread. The
 * monitor never waits for the GIL: its callback queues the episode, and a
 * reporter thread of ours takes the GIL (a busy Python green thread hands it
 * over within the switch interval) and calls guv.debug's report function
 * with the offending green thread's frame. */

struct green_node {
    struct task *task;
    PyThreadState *tstate;
    int64_t id;
    struct green_node *prev, *next;
};

static struct green_node *green_nodes; /* under the GIL */

static void green_register(struct green_node *n, struct task *t, PyThreadState *ts)
{
    n->task = t;
    n->tstate = ts;
    n->id = g.current();
    n->prev = NULL;
    n->next = green_nodes;
    if (green_nodes != NULL)
        green_nodes->prev = n;
    green_nodes = n;
}

static void green_unregister(struct green_node *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        green_nodes = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
}

static int green_is(PyThreadState *ts)
{
    for (struct green_node *n = green_nodes; n != NULL; n = n->next)
        if (n->tstate == ts)
            return 1;
    return 0;
}

/* The state of main on the OS thread whose kernel id is `tid`: the one of
 * that thread that is neither a green thread's nor idle (without a frame).
 * Under the GIL. */
static PyThreadState *main_tstate(unsigned long tid)
{
    PyInterpreterState *interp = PyThreadState_GetInterpreter(PyThreadState_Get());
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts != NULL; ts = PyThreadState_Next(ts)) {
        if (ts->native_thread_id != tid || green_is(ts))
            continue;
        PyFrameObject *f = PyThreadState_GetFrame(ts);
        if (f != NULL) {
            Py_DECREF(f);
            return ts;
        }
    }
    return NULL;
}

/* A new reference to the frame of `ts` (None when it runs no Python). */
static PyObject *frame_of(PyThreadState *ts)
{
    PyFrameObject *f = ts != NULL ? PyThreadState_GetFrame(ts) : NULL;
    if (f == NULL)
        Py_RETURN_NONE;
    return (PyObject *)f;
}

/* green_frames() -> {id: frame}: this OS thread's Python green threads and main (0). */
static PyObject *core_green_frames(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    unsigned long here = PyThread_get_thread_native_id();
    for (struct green_node *n = green_nodes; n != NULL; n = n->next) {
        if (n->tstate->native_thread_id != here)
            continue;
        PyObject *id = PyLong_FromLongLong(n->id), *f = frame_of(n->tstate);
        if (id == NULL || f == NULL || PyDict_SetItem(d, id, f) < 0) {
            Py_XDECREF(id), Py_XDECREF(f), Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(id), Py_DECREF(f);
    }
    PyObject *f = frame_of(main_tstate(here)), *zero = PyLong_FromLong(0);
    if (f == NULL || zero == NULL || PyDict_SetItem(d, zero, f) < 0) {
        Py_XDECREF(f), Py_XDECREF(zero), Py_DECREF(d);
        return NULL;
    }
    Py_DECREF(f), Py_DECREF(zero);
    return d;
}

/* libguv's introspection calls, looked up on first use (libguv is loaded RTLD_GLOBAL). */
static void *debug_sym(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    if (p == NULL)
        PyErr_Format(PyExc_RuntimeError, "guv: the loaded libguv lacks %s", name);
    return p;
}

/* dump() -> str: guv_dump() of this OS thread's hub. */
static PyObject *core_dump(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    int (*dump)(int) = (int (*)(int))debug_sym("guv_dump");
    if (dump == NULL)
        return NULL;
    FILE *f = tmpfile();
    if (f == NULL)
        return PyErr_SetFromErrno(PyExc_OSError);
    if (dump(fileno(f)) != 0) {
        fclose(f);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    off_t len = lseek(fileno(f), 0, SEEK_END);
    PyObject *text = NULL;
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf != NULL && pread(fileno(f), buf, (size_t)len, 0) == len)
        text = PyUnicode_DecodeUTF8(buf, len, "replace");
    else
        PyErr_NoMemory();
    free(buf);
    fclose(f);
    return text;
}

/* set_name(id, name): guv_set_name(). */
static PyObject *core_set_name(PyObject *self, PyObject *args)
{
    (void)self;
    long long id;
    const char *name;
    if (!PyArg_ParseTuple(args, "Ls", &id, &name))
        return NULL;
    int (*set_name)(int64_t, const char *) = (int (*)(int64_t, const char *))debug_sym("guv_set_name");
    if (set_name == NULL)
        return NULL;
    if (set_name(id, name) != 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

/* Episodes queued by the monitor's callback for the reporter thread. */
struct episode {
    int64_t id;
    int tid;
    double seconds;
};
#define EPISODES 16
static struct episode episodes[EPISODES];
static int n_episodes;
static pthread_mutex_t episodes_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t episodes_cond = PTHREAD_COND_INITIALIZER;
static PyObject *block_reporter; /* guv.debug's report function */

/* On guv's monitor thread: queue it, never wait (a full queue drops it). */
static void on_block(void *userdata, int64_t id, void *task_data, int tid, double seconds)
{
    (void)userdata;
    (void)task_data;
    pthread_mutex_lock(&episodes_lock);
    if (n_episodes < EPISODES) {
        episodes[n_episodes++] = (struct episode){id, tid, seconds};
        pthread_cond_signal(&episodes_cond);
    }
    pthread_mutex_unlock(&episodes_lock);
}

/* The frame of the green thread an episode names, if it still runs Python:
 * found by its id (never reused), since its task data is another binding's
 * when that binding added its hooks first, and may be freed by now. */
static PyObject *episode_frame(const struct episode *e)
{
    if (e->id == 0)
        return frame_of(main_tstate((unsigned long)e->tid));
    for (struct green_node *n = green_nodes; n != NULL; n = n->next)
        if (n->id == e->id)
            return frame_of(n->tstate);
    Py_RETURN_NONE;
}

static void *reporter_thread(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&episodes_lock);
        while (n_episodes == 0)
            pthread_cond_wait(&episodes_cond, &episodes_lock);
        struct episode e = episodes[0];
        memmove(episodes, episodes + 1, sizeof episodes[0] * (size_t)--n_episodes);
        pthread_mutex_unlock(&episodes_lock);
        PyGILState_STATE st = PyGILState_Ensure();
        PyObject *f = episode_frame(&e);
        PyObject *r = f == NULL ? NULL
            : PyObject_CallFunction(block_reporter, "LidO", (long long)e.id, e.tid, e.seconds, f);
        if (r == NULL)
            PyErr_WriteUnraisable(block_reporter);
        Py_XDECREF(r);
        Py_XDECREF(f);
        PyGILState_Release(st);
    }
    return NULL;
}

/* set_block_report(seconds, report): guv_set_block_report(), and report(id,
 * os_thread, seconds, frame) called with the GIL after each native report. */
static PyObject *core_set_block_report(PyObject *self, PyObject *args)
{
    (void)self;
    double seconds;
    PyObject *report;
    if (!PyArg_ParseTuple(args, "dO", &seconds, &report))
        return NULL;
    int (*set)(double) = (int (*)(double))debug_sym("guv_set_block_report");
    int (*set_cb)(guv_block_fn, void *) = (int (*)(guv_block_fn, void *))debug_sym("guv_set_block_callback");
    if (set == NULL || set_cb == NULL)
        return NULL;
    static int started;
    if (!started) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, reporter_thread, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            return raise_errno(rc);
        started = 1;
    }
    Py_INCREF(report);
    Py_XSETREF(block_reporter, report);
    set_cb(on_block, NULL);
    if (set(seconds) != 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

/* ---- green thread bodies ---- */

/* The stack size a Python green thread is spawned with (0: guv's default,
 * when one was chosen for it). */
static size_t py_stack(void)
{
    return g.stack_size_chosen() ? 0 : PY_STACK_SIZE;
}

struct start {
    PyObject *fn, *arg; /* fn(arg), or fn() when arg is NULL */
    PyInterpreterState *interp;
};

/* Thread states of ended green threads, cleared, kept for the next ones
 * of this OS thread: a new one is an allocation linked into the
 * interpreter's list under its lock, and deleting it unlinks and frees it
 * again (before 3.14 their frame chunks are not theirs: see root_chunk). */
#define IDLE_TSTATES_MAX 256
static __thread PyThreadState *idle_tstates[IDLE_TSTATES_MAX];
static __thread int n_idle_tstates;

static PyThreadState *take_tstate(PyInterpreterState *interp)
{
    if (n_idle_tstates > 0) {
        PyThreadState *ts = idle_tstates[n_idle_tstates - 1];
        if (PyThreadState_GetInterpreter(ts) == interp) {
            n_idle_tstates--;
            return ts;
        }
    }
    PyThreadState *ts = PyThreadState_New(interp);
    if (ts == NULL) {
        fputs("guv: no memory for a green thread's PyThreadState\n", stderr);
        abort();
    }
    return ts;
}

/* In a forked child CPython deletes every thread state but the forking
 * thread's (PyOS_AfterFork_Child): the idle ones are freed and unlinked from
 * the interpreter, so a green thread must never be given one. */
static void forget_idle_tstates_after_fork(void)
{
    n_idle_tstates = 0;
}

/* Ends the attached state `ts` of a finished green thread: cleared (its
 * frames, exception, dict, context are gone, as for a deleted one), then
 * kept idle or deleted. Either way the GIL is released. */
static void drop_tstate(PyThreadState *ts)
{
    PyThreadState_Clear(ts);
    /* An idle state names no thread: an async exception aimed at the ended
     * green thread's ident must not reach the next one. */
    ts->thread_id = 0;
    if (n_idle_tstates < IDLE_TSTATES_MAX) {
        idle_tstates[n_idle_tstates++] = ts;
        PyEval_SaveThread();
    } else {
        PyThreadState_DeleteCurrent();
    }
    set_gilstate(NULL);
}

/* ---- a green thread's first frames live on its own C stack ---- */

/* CPython keeps a thread's Python frames in "data stack" chunks, the first
 * one a 16 KiB mmap made on the thread's first call: a page of it resident
 * for every parked green thread, beside the page of its C stack, and an
 * mmap per new state. Instead the first chunk (the root) is a local array
 * of py_task, on the C stack page that is resident anyway: 1 KiB holds the
 * frames of a green thread parked a few calls deep, and keeps the array,
 * py_task's callers and the C frames down to a switch within one page.
 * Deeper calls push CPython's own 16 KiB chunks above it (see the chunk
 * cache below). The chunk's layout and the state's datastack fields are
 * public (cpython/pystate.h) and the same in 3.11-3.13. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
#define ROOT_CHUNK_WORDS 128

static void root_chunk_attach(PyThreadState *ts, PyObject **mem)
{
    _PyStackChunk *c = (_PyStackChunk *)mem;
    c->previous = NULL;
    c->size = ROOT_CHUNK_WORDS * sizeof(PyObject *);
    c->top = 0;
    ts->datastack_chunk = c;
    /* Slot 0 stays unused, as in CPython's own root chunk: a frame at
     * data[0] would be taken for a chunk's first and the chunk freed. */
    ts->datastack_top = &c->data[1];
    ts->datastack_limit = mem + ROOT_CHUNK_WORDS;
}

/* With every frame popped only the root is left: forget it before the
 * stack it lives on goes, so that CPython never frees it. */
static void root_chunk_detach(PyThreadState *ts, PyObject **mem)
{
    if ((PyObject **)ts->datastack_chunk != mem) {
        fputs("guv: a green thread ended with Python frames still pushed\n", stderr);
        abort();
    }
    ts->datastack_chunk = NULL;
    ts->datastack_top = NULL;
    ts->datastack_limit = NULL;
}

/* CPython frees a pushed chunk as soon as its first frame returns: a loop
 * calling across the root's 1 KiB edge would mmap and munmap 16 KiB per
 * call (7.5 us each, measured). The arena allocator those chunks come from
 * is wrapped to keep a few freed 16 KiB blocks (CPython's
 * DATA_STACK_CHUNK_SIZE; pymalloc's arenas are 256 KiB or more, never
 * that size) for the next push. PyThreadState_Delete may run without the
 * GIL, hence the lock. */
#define FRAME_CHUNK_SIZE ((size_t)16 << 10)
#define FRAME_CHUNKS_KEPT 16
static PyObjectArenaAllocator arena_base;
static void *frame_chunks[FRAME_CHUNKS_KEPT];
static int n_frame_chunks;
static pthread_mutex_t frame_chunks_lock = PTHREAD_MUTEX_INITIALIZER;

static void *arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size == FRAME_CHUNK_SIZE) {
        void *p = NULL;
        pthread_mutex_lock(&frame_chunks_lock);
        if (n_frame_chunks > 0)
            p = frame_chunks[--n_frame_chunks];
        pthread_mutex_unlock(&frame_chunks_lock);
        if (p != NULL)
            return p;
    }
    return arena_base.alloc(arena_base.ctx, size);
}

static void arena_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (size == FRAME_CHUNK_SIZE && p != NULL) {
        pthread_mutex_lock(&frame_chunks_lock);
        int kept = n_frame_chunks < FRAME_CHUNKS_KEPT;
        if (kept)
            frame_chunks[n_frame_chunks++] = p;
        pthread_mutex_unlock(&frame_chunks_lock);
        if (kept)
            return;
    }
    arena_base.free(arena_base.ctx, p, size);
}

static void keep_frame_chunks(void)
{
    PyObject_GetArenaAllocator(&arena_base);
    PyObjectArenaAllocator wrapped = {.ctx = NULL, .alloc = arena_alloc, .free = arena_free};
    PyObject_SetArenaAllocator(&wrapped);
}
#else
/* 3.14 changed the frame stack; its own chunks are used there. */
#define ROOT_CHUNK_WORDS 1
#define root_chunk_attach(ts, mem) ((void)(ts), (void)(mem))
#define root_chunk_detach(ts, mem) ((void)(ts), (void)(mem))
#define keep_frame_chunks() ((void)0)
#endif

/* The body of every Python green thread, on its own stack. */
static void py_task(void *arg)
{
    /* Taken out of the start record, which is freed now rather than held
     * for the green thread's life. */
    struct start start = *(struct start *)arg;
    PyMem_RawFree(arg);
    struct start *s = &start;
    struct task *t = running;
    PyObject *root_chunk[ROOT_CHUNK_WORDS];
    PyThreadState *ts = take_tstate(s->interp);
    root_chunk_attach(ts, root_chunk);
    set_gilstate(ts);
    take_gil(ts);
    set_stack_protection(ts);
    t->tstate = ts;
    struct green_node node;
    green_register(&node, t, ts);
    /* The state's ident is the green thread's (threading.get_ident() under
     * monkey_patch), so what CPython finds by ident finds this green thread:
     * PyThreadState_SetAsyncExc, sys._current_frames(), faulthandler. */
    ts->thread_id = (unsigned long)node.id;

    PyObject *r = s->arg != NULL ? PyObject_CallOneArg(s->fn, s->arg) : PyObject_CallNoArgs(s->fn);
    if (r == NULL)
        PyErr_WriteUnraisable(s->fn);
    Py_XDECREF(r);
    Py_DECREF(s->fn);
    Py_XDECREF(s->arg);

    Py_CLEAR(t->token);
    green_unregister(&node);
    t->tstate = NULL;
    root_chunk_detach(ts, root_chunk);
    drop_tstate(ts);
}

/* set_never_started's fn(func, arg), told first (guv.greenthread drops such
 * a GreenThread from its registry). */
static PyObject *never_started_cb;

/* A Python green thread that never started: its OS thread exited without
 * running its hub (guv_hooks.never_started, on that thread as it exits).
 * Releases what py_task would have, unless the interpreter is finalizing or
 * gone (the main thread's hub goes at exit(), after Py_Finalize): then taking
 * the GIL could hang, and the references are left. */
static void hook_never_started(void *userdata, guv_fn func, void *arg)
{
    (void)userdata;
    if (func != py_task)
        return;
    struct start *s = arg;
#if PY_VERSION_HEX >= 0x030D0000
    int finalizing = Py_IsFinalizing();
#else
    int finalizing = _Py_IsFinalizing();
#endif
    if (Py_IsInitialized() && !finalizing && s->interp == PyInterpreterState_Main()) {
        PyGILState_STATE st = PyGILState_Ensure();
        if (never_started_cb != NULL) {
            PyObject *r = PyObject_CallFunctionObjArgs(never_started_cb, s->fn, s->arg ? s->arg : Py_None, NULL);
            if (r == NULL)
                PyErr_WriteUnraisable(never_started_cb);
            Py_XDECREF(r);
        }
        Py_DECREF(s->fn);
        Py_XDECREF(s->arg);
        PyGILState_Release(st);
    }
    PyMem_RawFree(s);
}

/* ---- signals while main waits in the hub ---- */

static guv_hub *watched_hub;

/* While main waits in the hub no Python runs, so CPython's C signal handler
 * only notes a signal (Ctrl-C) and writes to its wakeup fd. This OS thread
 * (all signals blocked, no GIL) waits on that fd and interrupts main's
 * blocking call, which runs the handlers (blocking()). An interrupt rather
 * than a green thread submitted to the hub: when a green thread's Python
 * ran the handlers first and main then ended, a submission left queued
 * would be reported at exit as a green thread that never started. An OS thread
 * rather than a green thread waiting on the fd, which would keep guv_run
 * from ever ending or seeing a deadlock. */
static void *signal_watch_thread(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p = {.fd = watch_fd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
            break;
        char drain[64];
        while (read(watch_fd, drain, sizeof drain) > 0) {
        }
        if (g.hub_interrupt(watched_hub, 0) < 0)
            break; /* main's hub is gone: the process is ending */
    }
    return NULL;
}

static void start_signal_watch(void)
{
    watching = 1;
    if (watched_hub == NULL)
        watched_hub = g.hub_self();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, (size_t)256 << 10);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the new thread starts with all blocked */
    pthread_t tid;
    int rc = watched_hub != NULL ? pthread_create(&tid, &attr, signal_watch_thread, NULL) : EAGAIN;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        fprintf(stderr, "guv: no signal watcher (%s): Ctrl-C waits for the hub to wake\n", strerror(rc));
}

/* A forked child has no watcher thread: its main's next blocking call starts
 * one, and asks for the wakeup fd if the parent had not taken it (the child's
 * one thread may be another than the one that asked in the parent). */
static void signal_watch_after_fork(void)
{
    watching = 0;
    watched_hub = NULL;
    signals_asked = 0;
}

/* ---- module functions ---- */

static PyObject *core_watch_signals(PyObject *self, PyObject *arg)
{
    (void)self;
    int fd;
    if (as_int(arg, &fd) < 0)
        return NULL;
    watch_owner = pthread_self();
    watch_fd = fd;
    Py_RETURN_NONE;
}

static PyObject *core_set_never_started(PyObject *self, PyObject *fn)
{
    (void)self;
    Py_INCREF(fn);
    Py_XSETREF(never_started_cb, fn);
    Py_RETURN_NONE;
}

/* spawn(fn[, arg]): fn(arg) rather than a bound method spares each green
 * thread a method object for its life (GreenThread._run, self). */
static PyObject *core_spawn(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!require_loaded())
        return NULL;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "spawn(fn[, arg])");
        return NULL;
    }
    struct start *s = PyMem_RawMalloc(sizeof *s);
    if (s == NULL)
        return PyErr_NoMemory();
    s->fn = Py_NewRef(args[0]);
    s->arg = nargs == 2 ? Py_NewRef(args[1]) : NULL;
    s->interp = PyInterpreterState_Get();
    int64_t id = g.spawn_ex(py_task, s, py_stack());
    if (id < 0) {
        int err = errno;
        Py_DECREF(s->fn);
        Py_XDECREF(s->arg);
        PyMem_RawFree(s);
        return raise_errno(err);
    }
    return PyLong_FromLongLong(id);
}

static PyObject *core_sleep(PyObject *self, PyObject *arg)
{
    (void)self;
    double secs = PyFloat_AsDouble(arg);
    if (secs == -1.0 && PyErr_Occurred())
        return NULL;
    if (blocking(call_sleep, NULL, secs) < 0)
        return blocking_failed();
    Py_RETURN_NONE;
}

static PyObject *core_yield(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    if (blocking(call_yield, NULL, -1.0) < 0)
        return blocking_failed();
    Py_RETURN_NONE;
}

static PyObject *core_join(PyObject *self, PyObject *arg)
{
    (void)self;
    int64_t id = PyLong_AsLongLong(arg);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    if (blocking(call_join, &id, -1.0) < 0)
        return blocking_failed();
    Py_RETURN_NONE;
}

static PyObject *core_kill(PyObject *self, PyObject *arg)
{
    (void)self;
    int64_t id = PyLong_AsLongLong(arg);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    if (g.kill(id) < 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

static PyObject *core_current(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return PyLong_FromLongLong(g.current());
}

static PyObject *core_trampoline(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "trampoline(fd, events, timeout)");
        return NULL;
    }
    int fd, events;
    if (as_int(args[0], &fd) < 0 || as_int(args[1], &events) < 0)
        return NULL;
    double timeout = PyFloat_AsDouble(args[2]);
    if (timeout == -1.0 && PyErr_Occurred())
        return NULL;
    struct fd_wait w = {fd, events};
    int rc = blocking(call_trampoline, &w, timeout);
    if (rc < 0)
        return blocking_failed();
    return PyLong_FromLong(rc);
}

static PyObject *core_timeout_begin(PyObject *self, PyObject *arg)
{
    (void)self;
    double secs = PyFloat_AsDouble(arg);
    if (secs == -1.0 && PyErr_Occurred())
        return NULL;
    if (g.timeout_begin(secs) < 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

static PyObject *core_timeout_end(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    if (g.timeout_end() < 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

/* Park the caller until guv_unpark names it, at most `timeout` seconds
 * (negative: no limit). True when unparked, False when that timeout passed.
 * A caller killed (or past its deadline) after its wake-up came raises
 * rather than returning: it must not take what it was woken for. */
static PyObject *core_park(PyObject *self, PyObject *arg)
{
    (void)self;
    double timeout = PyFloat_AsDouble(arg);
    if (timeout == -1.0 && PyErr_Occurred())
        return NULL;
    double until = timeout >= 0 ? g.now() + timeout : INFINITY;
    int rc = blocking(call_park, NULL, timeout);
    if (rc < 0 && !PyErr_Occurred() && errno == EDEADLK && other_python_threads()) {
        /* Nothing on this hub can wake the caller, but another OS thread
         * may (guv_hub_unpark): wait for it with the hub held, as guv_park
         * asks. An unpark that came meanwhile is kept, so none is lost. */
        PyObject *hub = hub_here();
        if (hub == NULL)
            return NULL;
        guv_hub *h = PyCapsule_GetPointer(hub, "guv_hub");
        g.hub_hold(h);
        rc = blocking(call_park, NULL, timeout >= 0 ? fmax(until - g.now(), 0.0) : timeout);
        int err = errno;
        g.hub_unhold(h);
        errno = err;
    }
    if (rc == 0) {
        if (g.check() < 0)
            return raise_errno(errno);
        Py_RETURN_TRUE;
    }
    /* Its own timeout, not an open Timeout's deadline (also ETIMEDOUT). */
    if (!PyErr_Occurred() && errno == ETIMEDOUT && g.now() >= until)
        Py_RETURN_FALSE;
    return blocking_failed();
}

static PyObject *core_unpark(PyObject *self, PyObject *arg)
{
    (void)self;
    int64_t id = PyLong_AsLongLong(arg);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    if (g.unpark(id) < 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

static PyObject *core_interrupt(PyObject *self, PyObject *arg)
{
    (void)self;
    int64_t id = PyLong_AsLongLong(arg);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    if (g.interrupt(id) < 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

/* Main's waiter() token on this OS thread. */
static __thread PyObject *main_token;

/* A token naming the caller for wake(): its id and its OS thread's hub,
 * made once per green thread (or main) since every park asks for it. */
static PyObject *core_waiter(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    int64_t me = g.current();
    PyObject **slot = me == 0 ? &main_token : running != NULL && running->tstate != NULL ? &running->token : NULL;
    if (slot != NULL && *slot != NULL)
        return Py_NewRef(*slot);
    PyObject *hub = hub_here();
    if (hub == NULL)
        return NULL;
    PyObject *id = PyLong_FromLongLong(me);
    if (id == NULL)
        return NULL;
    PyObject *token = PyTuple_Pack(2, id, hub);
    Py_DECREF(id);
    if (slot != NULL && token != NULL)
        *slot = Py_NewRef(token);
    return token;
}

/* Unpark the waiter `token` names, on this OS thread's hub or, thread-safe,
 * on another's: a hub whose thread has ended has no waiter left to wake. */
static PyObject *core_wake(PyObject *self, PyObject *token)
{
    (void)self;
    if (!PyTuple_Check(token) || PyTuple_GET_SIZE(token) != 2) {
        PyErr_SetString(PyExc_TypeError, "wake(token): a token from waiter()");
        return NULL;
    }
    int64_t id = PyLong_AsLongLong(PyTuple_GET_ITEM(token, 0));
    if (id == -1 && PyErr_Occurred())
        return NULL;
    PyObject *hub = PyTuple_GET_ITEM(token, 1);
    if ((uintptr_t)PyCapsule_GetContext(hub) != forks)
        Py_RETURN_NONE; /* a waiter the fork left behind */
    if (hub == this_hub) {
        if (g.unpark(id) < 0)
            return raise_errno(errno);
        Py_RETURN_NONE;
    }
    guv_hub *h = PyCapsule_GetPointer(hub, "guv_hub");
    if (h == NULL)
        return NULL;
    if (g.hub_unpark(h, id) < 0 && errno != ESRCH)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

/* In a forked child (a pthread_atfork handler, before CPython's own
 * PyOS_AfterFork_Child): libguv keeps only the green thread that forked,
 * CPython only its thread state. Forget what named the others, their states
 * and the hubs of before, leaking rather than freeing (CPython's state is
 * not yet fit for it): the listed green threads (their nodes lie on stacks
 * that are never resumed), the idle states, and this thread's hub capsule
 * and waiter tokens (the child's hub has a new handle). */
static void after_fork_in_child(void)
{
    int64_t me = g.current();
    forget_idle_tstates_after_fork();
    struct green_node *kept = NULL;
    for (struct green_node *n = green_nodes; n != NULL; n = n->next)
        if (n->id == me)
            kept = n;
    if (kept != NULL)
        kept->prev = kept->next = NULL;
    green_nodes = kept;
    forks++;
    this_hub = NULL;
    main_token = NULL;
    if (me != 0 && running != NULL)
        running->token = NULL;
}

/* offload(fn, *args): fn(*args) on guv's offload threads; only the caller waits. */
static PyObject *core_offload(PyObject *self, PyObject *args)
{
    (void)self;
    if (!require_loaded())
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n < 1) {
        PyErr_SetString(PyExc_TypeError, "offload(fn, *args)");
        return NULL;
    }
    struct offloaded o = {.fn = PyTuple_GET_ITEM(args, 0), .interp = PyInterpreterState_Get()};
    o.args = PyTuple_GetSlice(args, 1, n);
    if (o.args == NULL)
        return NULL;
    int rc = blocking(call_offload, &o, -1.0);
    Py_DECREF(o.args);
    if (rc < 0)
        return blocking_failed();
    if (o.result == NULL && o.exc_type == NULL)
        /* CPython ended the offload thread (pthread_exit) as it waited for the
         * GIL: the interpreter is finalizing. guv woke the caller all the same. */
        PyErr_SetString(PyExc_RuntimeError, "guv: offload: the interpreter ended the thread of the call");
    else if (o.result == NULL)
        PyErr_Restore(o.exc_type, o.exc_value, o.exc_tb);
    return o.result;
}

/* poll(fds, timeout_ms): guv_poll over [(fd, events)]; [(fd, revents)] of the ready ones. */
static PyObject *core_poll(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "poll(fds, timeout_ms)");
        return NULL;
    }
    int ms;
    if (as_int(args[1], &ms) < 0)
        return NULL;
    PyObject *seq = PySequence_Fast(args[0], "poll: fds must be a sequence of (fd, events)");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    struct pollfd *fds = PyMem_Calloc(n > 0 ? n : 1, sizeof *fds);
    if (fds == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    PyObject *out = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        int fd, events;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "ii;poll: fds must be (fd, events) pairs", &fd,
                              &events))
            goto done;
        fds[i].fd = fd;
        fds[i].events = (short)events;
    }
    struct poll_call p = {fds, (nfds_t)n};
    if (blocking(call_poll, &p, ms < 0 ? -1.0 : ms / 1000.0) < 0) {
        blocking_failed();
        goto done;
    }
    out = PyList_New(0);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        if (fds[i].revents == 0)
            continue;
        PyObject *pair = Py_BuildValue("(ih)", fds[i].fd, fds[i].revents);
        if (pair == NULL || PyList_Append(out, pair) < 0)
            Py_CLEAR(out);
        Py_XDECREF(pair);
    }
done:
    PyMem_Free(fds);
    Py_DECREF(seq);
    return out;
}

/* read(fd, n) -> bytes: guv_read, so only the caller waits for a pipe or socket. */
static PyObject *core_read(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "read(fd, n)");
        return NULL;
    }
    int fd;
    if (as_int(args[0], &fd) < 0)
        return NULL;
    Py_ssize_t n = PyLong_AsSsize_t(args[1]);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "negative length");
        return NULL;
    }
    PyObject *buf = PyBytes_FromStringAndSize(NULL, n);
    if (buf == NULL)
        return NULL;
    /* No other code sees `buf` yet: filling it without the GIL is safe. */
    struct io_call io = {fd, PyBytes_AS_STRING(buf), (size_t)n, 0};
    if (blocking(call_read, &io, -1.0) < 0) {
        Py_DECREF(buf);
        return blocking_failed();
    }
    if (io.done != n && _PyBytes_Resize(&buf, io.done) < 0)
        return NULL;
    return buf;
}

/* write(fd, data) -> bytes written: guv_write. */
static PyObject *core_write(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "write(fd, data)");
        return NULL;
    }
    int fd;
    if (as_int(args[0], &fd) < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    struct io_call io = {fd, view.buf, (size_t)view.len, 0};
    int rc = blocking(call_write, &io, -1.0);
    PyBuffer_Release(&view);
    if (rc < 0)
        return blocking_failed();
    return PyLong_FromSsize_t(io.done);
}

static PyObject *core_check(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    if (g.check() < 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

static PyObject *core_run(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    if (blocking(call_run, NULL, -1.0) < 0)
        return blocking_failed();
    Py_RETURN_NONE;
}

static PyObject *core_count(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return PyLong_FromLongLong(g.count());
}

/* The address of the caller's PyThreadState: lets the tests see that an
 * ended green thread's state was reused by the next. */
static PyObject *core_state_id(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return PyLong_FromVoidPtr(PyThreadState_Get());
}

/* The size of the caller's green thread stack (guv_stack_bounds). */
static PyObject *core_stack_size(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    void *lo;
    size_t size;
    if (g.stack_bounds(&lo, &size) < 0)
        return raise_errno(errno);
    return PyLong_FromSize_t(size);
}

static PyObject *core_now(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return PyFloat_FromDouble(g.now());
}

static PyObject *core_can_switch(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return PyBool_FromLong(g.can_switch());
}

static PyObject *core_close(PyObject *self, PyObject *arg)
{
    (void)self;
    int fd;
    if (as_int(arg, &fd) < 0)
        return NULL;
    if (g.close(fd) < 0)
        return raise_errno(errno);
    Py_RETURN_NONE;
}

/* Find the pthread key of CPython's PyGILState slot: the allocated key
 * whose value on this thread is the attached state, and which
 * PyGILState_GetThisThreadState() reads back when it is changed. */
static int find_gilstate_key(void)
{
    PyThreadState *me = PyThreadState_Get();
    if (PyGILState_GetThisThreadState() != me) {
        PyErr_SetString(PyExc_RuntimeError, "guv: load() must run on a thread whose "
                                            "PyGILState slot holds its state");
        return -1;
    }
    static char probe;
    for (pthread_key_t k = 0; k < PTHREAD_KEYS_MAX; k++) {
        if (pthread_getspecific(k) != me)
            continue;
        pthread_setspecific(k, &probe);
        int found = PyGILState_GetThisThreadState() == (PyThreadState *)&probe;
        pthread_setspecific(k, me);
        if (found) {
            gilstate_key = k;
            return 0;
        }
    }
    PyErr_SetString(PyExc_RuntimeError, "guv: this CPython keeps its PyGILState slot "
                                        "elsewhere than a pthread key (unsupported)");
    return -1;
}

#define SYM(field, name)                                                           \
    do {                                                                           \
        *(void **)&g.field = dlsym(lib, name);                                     \
        if (g.field == NULL) {                                                     \
            PyErr_Format(PyExc_ImportError, "guv: %s lacks %s", path, name);       \
            return NULL;                                                           \
        }                                                                          \
    } while (0)

static PyObject *core_load(PyObject *self, PyObject *args)
{
    (void)self;
    const char *path;
    PyObject *killed, *expired, *pending, *arm;
    if (!PyArg_ParseTuple(args, "sOOOO", &path, &killed, &expired, &pending, &arm))
        return NULL;
    if (loaded)
        Py_RETURN_NONE;
    /* RTLD_GLOBAL: C drivers linked against libguv then bind to this copy. */
    void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (lib == NULL)
        return PyErr_Format(PyExc_ImportError, "guv: cannot load %s: %s", path, dlerror());
    SYM(spawn_ex, "guv_spawn_ex");
    SYM(sleep, "guv_sleep");
    SYM(yield, "guv_yield");
    SYM(join, "guv_join");
    SYM(kill, "guv_kill");
    SYM(current, "guv_current");
    SYM(trampoline_timeout, "guv_trampoline_timeout");
    SYM(timeout_begin, "guv_timeout_begin");
    SYM(timeout_end, "guv_timeout_end");
    SYM(add_hooks, "guv_add_hooks");
    SYM(can_switch, "guv_can_switch");
    SYM(count, "guv_count");
    SYM(now, "guv_now");
    SYM(run, "guv_run");
    SYM(close, "guv_close");
    SYM(park, "guv_park");
    SYM(unpark, "guv_unpark");
    SYM(interrupt, "guv_interrupt");
    SYM(check, "guv_check");
    SYM(stack_bounds, "guv_stack_bounds");
    SYM(stack_size_chosen, "guv_stack_size_chosen");
    SYM(hub_self, "guv_hub_self");
    SYM(hub_release, "guv_hub_release");
    SYM(hub_unpark, "guv_hub_unpark");
    SYM(hub_interrupt, "guv_hub_interrupt");
    SYM(hub_hold, "guv_hub_hold");
    SYM(hub_unhold, "guv_hub_unhold");
    SYM(offload, "guv_offload");
    SYM(poll, "guv_poll");
    SYM(read, "guv_read");
    SYM(write, "guv_write");
    if (find_gilstate_key() < 0)
        return NULL;
    static const guv_hooks hooks = {
        .size = sizeof(guv_hooks),
        .task_start = hook_task_start,
        .task_end = hook_task_end,
        .switch_out = hook_switch_out,
        .switch_in = hook_switch_in,
        .may_switch = hook_may_switch,
        .userdata = NULL,
        .never_started = hook_never_started,
    };
    /* Beside any other binding's set (guv.hpp's, in a C++ program embedding Python). */
    if (g.add_hooks(&hooks) < 0)
        return PyErr_SetFromErrno(PyExc_ImportError);
    Py_INCREF(killed);
    Py_INCREF(expired);
    Py_INCREF(pending);
    Py_INCREF(arm);
    Killed = killed;
    raise_pending = pending;
    Expired = expired;
    arm_signals = arm;
    keep_frame_chunks();
    if (pthread_atfork(NULL, NULL, after_fork_in_child) != 0 ||
        pthread_atfork(NULL, NULL, signal_watch_after_fork) != 0)
        return raise_errno(ENOMEM);
    loaded = 1;
    Py_RETURN_NONE;
}

static PyMethodDef core_methods[] = {
    /* guv.debug */
    {"dump", core_dump, METH_NOARGS, "dump() -> str: guv_dump() of this OS thread's hub."},
    {"green_frames", core_green_frames, METH_NOARGS,
     "green_frames() -> {id: frame}: this OS thread's Python green threads, and main as 0."},
    {"set_name", core_set_name, METH_VARARGS, "set_name(id, name): guv_set_name()."},
    {"set_block_report", core_set_block_report, METH_VARARGS,
     "set_block_report(seconds, report): the blocking detector, and report(id, os_thread, seconds, frame)."},
    {"load", core_load, METH_VARARGS,
     "load(path, killed, Expired, raise_pending, watch_signals): bind libguv at path."},
    {"set_never_started", core_set_never_started, METH_O,
     "set_never_started(fn): fn(func, arg) for each spawn(func, arg) whose OS thread exited before it started."},
    {"spawn", (PyCFunction)(void (*)(void))core_spawn, METH_FASTCALL,
     "spawn(fn[, arg]) -> id: run fn(arg), or fn(), as a green thread with its own thread state."},
    {"sleep", core_sleep, METH_O, "sleep(seconds)"},
    {"gyield", core_yield, METH_NOARGS, "Let every other ready green thread run once."},
    {"join", core_join, METH_O, "join(id): wait until green thread id has ended."},
    {"kill", core_kill, METH_O, "kill(id): make id's blocking calls raise killed()."},
    {"current", core_current, METH_NOARGS, "Id of the running green thread; 0 in main."},
    {"trampoline", (PyCFunction)(void (*)(void))core_trampoline, METH_FASTCALL,
     "trampoline(fd, events, timeout) -> ready mask; timeout < 0 waits forever."},
    {"timeout_begin", core_timeout_begin, METH_O, "Open a nested deadline on the caller."},
    {"timeout_end", core_timeout_end, METH_NOARGS, "Close the innermost deadline."},
    {"park", core_park, METH_O,
     "park(timeout) -> bool: wait until unpark(current()); False when timed out (timeout < 0: never)."},
    {"unpark", core_unpark, METH_O, "unpark(id): wake id (0: main) from park, or make its next park return."},
    {"interrupt", core_interrupt, METH_O, "interrupt(id): end id's current or next blocking call with EINTR."},
    {"check", core_check, METH_NOARGS, "Raise what a kill or a passed deadline means, without switching."},
    {"watch_signals", core_watch_signals, METH_O,
     "watch_signals(wakeup_fd): from main's next blocking call, run signal handlers while it waits."},
    {"run", core_run, METH_NOARGS, "Run the hub until no green thread is left."},
    {"count", core_count, METH_NOARGS, "Green threads alive on this OS thread's hub."},
    {"state_id", core_state_id, METH_NOARGS, "The address of the caller's PyThreadState."},
    {"stack_size", core_stack_size, METH_NOARGS, "The size of the caller's green thread stack, in bytes."},
    {"now", core_now, METH_NOARGS, "The monotonic clock, in seconds."},
    {"can_switch", core_can_switch, METH_NOARGS, "Whether the caller may switch now."},
    {"close", core_close, METH_O, "close(fd): wake its waiters, forget it, close it."},
    {"waiter", core_waiter, METH_NOARGS, "A token naming the caller, for wake() from any OS thread."},
    {"wake", core_wake, METH_O, "wake(token): unpark the waiter it names, on any OS thread's hub."},
    {"offload", core_offload, METH_VARARGS, "offload(fn, *args): fn(*args) on guv's offload threads."},
    {"poll", (PyCFunction)(void (*)(void))core_poll, METH_FASTCALL,
     "poll([(fd, events)], timeout_ms) -> [(fd, revents)] of the ready fds; timeout_ms < 0 waits forever."},
    {"read", (PyCFunction)(void (*)(void))core_read, METH_FASTCALL, "read(fd, n) -> bytes, cooperatively."},
    {"write", (PyCFunction)(void (*)(void))core_write, METH_FASTCALL,
     "write(fd, data) -> bytes written, cooperatively."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "guv._core", "CPython on guv green threads.", -1, core_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *m = PyModule_Create(&core_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "READ", GUV_READ) < 0 ||
        PyModule_AddIntConstant(m, "WRITE", GUV_WRITE) < 0 ||
        PyModule_AddIntConstant(m, "PY_STACK_SIZE", (long)PY_STACK_SIZE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
