// guv.hpp: C++17 binding of guv, header-only, over the C ABI in guv.h.
//
// Green threads as tasks with move-only handles, durations from <chrono>,
// failures as std::system_error(errno, std::generic_category()). Every
// function acts on the calling OS thread's hub, as its C counterpart does,
// except through a guv::hub, the one handle other OS threads may use.
// Also: the cooperative I/O calls (guv::read, …), guv::offload, park /
// unpark, and what tasks share: mutex, condition_variable, semaphore,
// channel, promise / future, task_group, task_local.
//
// The boundary rule: no exception ever unwinds through guv. A task's body
// runs inside a noexcept entry function that catches everything it throws
// and hands it to join() as a std::exception_ptr.

#ifndef GUV_HPP
#define GUV_HPP

#if !defined(__cpp_exceptions) && !defined(__EXCEPTIONS)
// Every failure is a std::system_error, and tasks hand what they throw to
// join(): there is no error-code flavour. Code built with -fno-exceptions
// uses guv.h's C API directly.
#error "guv.hpp needs C++ exceptions; with -fno-exceptions use the C API in guv.h"
#endif

#include <guv.h>

#include <cxxabi.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define GUV_HPP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GUV_HPP_ASAN 1
#endif
#endif
#ifdef GUV_HPP_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

#endif

namespace guv {

// Green-thread id: >= 1, never reused in the process; 0 names main.
using task_id = std::int64_t;

// Event masks for trampoline().
inline constexpr int readable = GUV_READ;
inline constexpr int writable = GUV_WRITE;

namespace detail {

[[noreturn]] inline void throw_errno(int err, const char* what) {
    throw std::system_error(err, std::generic_category(), what);
}

// Contiguous ranges of byte-sized, trivially copyable elements, for the
// I/O buffers: std::data and std::size apply to them.
template <class T>
struct one_byte : std::bool_constant<sizeof(T) == 1 && std::is_trivially_copyable_v<T>> {};
template <class R, class = void>
struct byte_range {
    static constexpr bool value = false;
    static constexpr bool writable = false;
};
template <class R>
struct byte_range<R, std::void_t<decltype(std::data(std::declval<R&>())), decltype(std::size(std::declval<R&>()))>> {
    using pointer = decltype(std::data(std::declval<R&>()));
    using element = std::remove_pointer_t<pointer>;
    static constexpr bool value =
        std::conjunction_v<std::is_pointer<pointer>, std::is_object<element>, one_byte<element>>;
    static constexpr bool writable = value && !std::is_const_v<element>;
};
// A const char array is taken for a C string (a literal), not for its whole size.
template <class R>
inline constexpr bool is_const_char_array_v =
    std::is_array_v<R> && std::is_same_v<std::remove_extent_t<R>, const char>;

// Maps the C convention (negative result, errno set) to an exception.
template <class T>
T check(T rc, const char* what) {
    if (rc < 0) throw_errno(errno, what);
    return rc;
}

// ---- What the C++ runtime and ASan keep per OS thread ----------------------
//
// guv switches green threads inside its C calls, which a C driver makes too,
// so what must stay a task's own across a switch is saved and restored by
// per-task hooks (guv_add_hooks) that guv runs at every switch, not by this
// header's wrappers. Two things are kept:
//
// - The C++ runtime keeps the exceptions being handled, and the count of
//   those being thrown, per OS thread (the Itanium C++ ABI's
//   __cxa_eh_globals), but green threads share the OS thread. Each task has
//   its own record while it runs; the hub's is put back while it is away. So
//   a task may block inside a catch block, or in a destructor run by
//   unwinding, even in a C call, without another task ending its exception.
// - ASan knows one stack per OS thread. When an exception is thrown it
//   unpoisons the frames being unwound, from the stack pointer to the top of
//   the stack it knows; on any other stack it ignores the request (with a
//   warning) and leaves stale poison behind. So each switch tells ASan which
//   stack now runs: the task's when it starts or resumes, the OS thread's
//   (where the hub runs) when it suspends or ends.

// The ABI's layout: the caught exceptions' stack, then the uncaught count.
struct eh_globals {
    void* caught_exceptions;
    unsigned int uncaught_exceptions;
};

// Cached: __cxa_get_globals is a call into libstdc++ at every switch otherwise.
inline thread_local eh_globals* thread_eh_ = nullptr;

inline eh_globals& thread_eh() noexcept {
    if (!thread_eh_) thread_eh_ = reinterpret_cast<eh_globals*>(abi::__cxa_get_globals());
    return *thread_eh_;
}

#ifdef GUV_HPP_ASAN
struct stack_region_ {
    const void* bottom = nullptr;
    std::size_t size = 0;
};
// The OS thread's own stack, which ASan reports at the first declaration.
inline thread_local stack_region_ thread_stack;

// Tells ASan that `b` (null: the thread's own stack) is the stack running now.
inline void declare_stack(stack_region_ b) noexcept {
    // With detect_stack_use_after_return, frames live on one fake stack per
    // thread, whose collector frees those of any stack below the declared
    // one: it would free other tasks' live frames. Leave ASan's view alone.
    if (__asan_get_current_fake_stack()) return;
    if (!b.bottom) b = thread_stack;
    if (!b.bottom) return;  // nothing declared yet: ASan still has the thread's own
    stack_region_ before;
    __sanitizer_start_switch_fiber(nullptr, b.bottom, b.size);
    __sanitizer_finish_switch_fiber(nullptr, &before.bottom, &before.size);
    if (!thread_stack.bottom) thread_stack = before;
}
#endif

// The values of guv::task_local objects for one task (or one thread's main),
// keyed by the task_local's address, destroyed with the task.
class local_values {
public:
    local_values() = default;
    local_values(const local_values&) = delete;
    local_values& operator=(const local_values&) = delete;
    ~local_values() { clear(); }
    // Destroys the values, the latest first.
    void clear() noexcept {
        while (!entries_.empty()) {
            entry e = entries_.back();
            entries_.pop_back();
            e.destroy(e.value);
        }
    }
    void* find(const void* key) const noexcept {
        for (const entry& e : entries_)
            if (e.key == key) return e.value;
        return nullptr;
    }
    // Takes ownership of `value`, freed by `destroy` (even if this throws).
    void add(const void* key, void* value, void (*destroy)(void*)) {
        try {
            entries_.push_back({key, value, destroy});
        } catch (...) {
            destroy(value);
            throw;
        }
    }

private:
    struct entry {
        const void* key;
        void* value;
        void (*destroy)(void*);
    };
    std::vector<entry> entries_;
};

// One task's side of the hooks: its record while away, the hub's while it
// runs, and its task_local values.
struct task_hook_data {
    eh_globals own{};
    eh_globals hub{};
    local_values locals;
#ifdef GUV_HPP_ASAN
    stack_region_ stack;
#endif
};

// The task running on this OS thread, as the hooks last saw it (null in main).
inline thread_local task_hook_data* running_task = nullptr;

// The hooks run on the task's own stack and must not throw (guv's frames
// are below them).
inline void* hook_task_start(void*) noexcept {
    auto* d = new (std::nothrow) task_hook_data;
    if (!d) std::terminate();  // without it, the task would share the hub's exceptions
    d->hub = std::exchange(thread_eh(), eh_globals{});
    running_task = d;
#ifdef GUV_HPP_ASAN
    void* lo = nullptr;
    if (guv_stack_bounds(&lo, &d->stack.size) == 0) d->stack.bottom = lo;
    declare_stack(d->stack);
#endif
    return d;
}

inline void hook_task_end(void*, void* data) noexcept {
    auto* d = static_cast<task_hook_data*>(data);
    // Its task_local values are destroyed here, after its function returned,
    // with its own exception record still in place: their destructors must
    // not block.
    d->locals.clear();
    running_task = nullptr;
    thread_eh() = d->hub;
#ifdef GUV_HPP_ASAN
    // Clear any poison an abandoned frame left before the next task gets
    // this pooled stack, then hand the hub back the thread's own stack.
    if (d->stack.bottom) ASAN_UNPOISON_MEMORY_REGION(d->stack.bottom, d->stack.size);
    declare_stack({});
#endif
    delete d;
}

inline void hook_switch_out(void*, void* data) noexcept {
    auto* d = static_cast<task_hook_data*>(data);
    d->own = std::exchange(thread_eh(), d->hub);
    running_task = nullptr;
#ifdef GUV_HPP_ASAN
    declare_stack({});
#endif
}

inline void hook_switch_in(void*, void* data) noexcept {
    auto* d = static_cast<task_hook_data*>(data);
    d->hub = std::exchange(thread_eh(), d->own);
    running_task = d;
#ifdef GUV_HPP_ASAN
    declare_stack(d->stack);
#endif
}

// Tasks nobody will join that have not ended yet, in every OS thread.
inline std::atomic<long> detached_alive{0};

// A program whose main returns while detached tasks still live ends them
// where they stand, as std::thread::detach does; say so rather than lose
// them silently.
inline void warn_abandoned() noexcept {
    long n = detached_alive.load(std::memory_order_relaxed);
    if (n > 0)
        std::fprintf(stderr,
                     "guv: %ld detached task(s) had not ended when the program exited and were abandoned "
                     "(call guv::run() before main returns)\n",
                     n);
}

// What every green thread guv.hpp starts runs through (one function for
// all, so that hook_never_started knows guv.hpp's own): the callable, its
// result, and two references, the green thread's and its handle's.
class task_base {
public:
    virtual ~task_base() = default;

    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    // The function handed to guv_spawn and guv_hub_spawn.
    static void entry(void* arg) noexcept { static_cast<task_base*>(arg)->run(); }

private:
    // Runs the callable, then drops the green thread's reference.
    virtual void run() noexcept = 0;

    std::atomic<int> refs_{2};
};

// A green thread that never started, on the OS thread whose hub is torn
// down: its callable and arguments are destroyed as after a run (a
// hub::spawn's future then reports a broken promise). A detached one still
// counts in detached_alive: it was abandoned all the same.
inline void hook_never_started(void*, guv_fn func, void* arg) noexcept {
    if (func == &task_base::entry) static_cast<task_base*>(arg)->release();
}

// Adds the hooks once per process and returns their handle (-1 if guv
// refused them). Other bindings' sets (the Python binding's, say) run beside
// these, each keeping its own per-task state.
inline int install_hooks() noexcept {
    static const int handle = [] {
        guv_hooks h{};
        h.size = sizeof h;
        h.task_start = hook_task_start;
        h.task_end = hook_task_end;
        h.switch_out = hook_switch_out;
        h.switch_in = hook_switch_in;
        h.never_started = hook_never_started;
        std::atexit(warn_abandoned);
        return guv_add_hooks(&h);
    }();
    return handle;
}

// At static initialisation, so tasks that C code spawns get them too; and
// again (a no-op) at each spawn, should a static initialiser elsewhere spawn
// first.
inline const int hooks_handle = install_hooks();

template <class Rep, class Period>
double seconds(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration<double>(d).count();
}

// Runs `call(limit)`, a guv call that may switch and gives up with ETIMEDOUT
// after `limit` seconds (a negative limit counts as 0), and returns its result,
// or std::nullopt when its own limit passed. An enclosing guv::timeout that
// passed first still throws ETIMEDOUT, so a loop around the call cannot spin
// past it.
template <class Call>
std::optional<int> timed(double limit, const char* what, Call call) {
    if (limit < 0) limit = 0;
    double start = guv_now();
    int rc = call(limit);
    if (rc >= 0) return rc;
    int err = errno;
    // The hub's deadline is whole nanoseconds from a clock read after `start`.
    if (err == ETIMEDOUT && guv_now() - start + 1e-6 >= limit) return std::nullopt;
    throw_errno(err, what);
}

// What a task's handle and its green thread share. Both hold a reference:
// the green thread may outlive a detached handle, and a handle may be
// joined long after its task ended.
template <class R>
class state : public task_base {
public:
    // Only after guv_join() said the task ended.
    R take() {
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
        if constexpr (!std::is_void_v<R>) return std::move(*value_);
    }


    // Nobody will join the task (detach() or hub::spawn): counted in
    // detached_alive until it ends. On the task's OS thread.
    void mark_detached() noexcept {
        if (ended_ || detached_) return;
        detached_ = true;
        detached_alive.fetch_add(1, std::memory_order_relaxed);
    }

private:
    virtual R invoke() = 0;

    // noexcept: should anything still escape the catch below,
    // std::terminate runs here, on this stack, instead of the exception
    // unwinding into the hub.
    void run() noexcept final {
        try {
            if constexpr (std::is_void_v<R>)
                invoke();
            else
                value_.emplace(invoke());
        } catch (...) {
            error_ = std::current_exception();
        }
        ended_ = true;
        if (detached_) detached_alive.fetch_sub(1, std::memory_order_relaxed);
        release();
    }

    bool ended_ = false;
    bool detached_ = false;

    std::exception_ptr error_;
    std::conditional_t<std::is_void_v<R>, char, std::optional<R>> value_{};
};

// The callable and its arguments, decay-copied as std::thread does, and
// invoked once as rvalues on the green thread.
template <class R, class F, class... Args>
class bound final : public state<R> {
public:
    template <class G, class... A>
    explicit bound(G&& f, A&&... args) : f_(std::forward<G>(f)), args_(std::forward<A>(args)...) {}

private:
    R invoke() override {
        return std::apply([this](auto&&... a) -> R { return std::invoke(std::move(f_), std::move(a)...); },
                          std::move(args_));
    }

    F f_;
    std::tuple<Args...> args_;
};

}  // namespace detail

// A handle to one green thread, move-only, like std::thread.
//
// The destructor joins a task still joinable (structured concurrency, as
// std::jthread does; it cannot throw, so a result or exception that nobody
// joined is dropped, as with the future of std::async). Should that wait
// fail (the owner was killed, or a guv::timeout passed), the task is killed
// and still waited for (guv_reap): it never outlives the owner's locals.
// detach() opts out of waiting.
template <class R = void>
class task {
public:
    task() noexcept = default;
    task(task&& other) noexcept
        : id_(std::exchange(other.id_, 0)), state_(std::exchange(other.state_, nullptr)) {}
    // Ends the task held now as the destructor does, then takes `other`'s.
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, 0);
            state_ = std::exchange(other.state_, nullptr);
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { reset(); }

    // Not yet joined nor detached (it may have ended already).
    bool joinable() const noexcept { return state_ != nullptr; }
    // The green thread's id; 0 once joined or detached.
    task_id id() const noexcept { return id_; }

    // Waits until the task ended, then returns what it returned or rethrows
    // what it threw. Throws std::system_error: EINVAL (not joinable, or
    // another green thread joined or detached the handle first),
    // ECANCELED (the caller was killed), ETIMEDOUT (a guv::timeout passed),
    // EDEADLK (a task joining itself, or a wait that can never end), EPERM
    // (inside a guv_call_on_hub() callback). After a std::system_error of
    // its own, the handle is still joinable.
    R join() {
        if (!state_) detail::throw_errno(EINVAL, "guv::task::join");
        detail::check(guv_join(id_), "guv_join");
        // Another green thread may have joined or detached this handle meanwhile.
        if (!state_) detail::throw_errno(EINVAL, "guv::task::join");
        detail::state<R>* s = std::exchange(state_, nullptr);
        id_ = 0;
        struct releaser {
            detail::state<R>* s;
            ~releaser() { s->release(); }
        } hold{s};
        return s->take();
    }

    // Cancels the task: its current blocking guv call and all later ones
    // fail with ECANCELED (a std::system_error in C++). It still has to be
    // joined. Throws std::system_error EINVAL when not joinable.
    void kill() {
        if (!state_) detail::throw_errno(EINVAL, "guv::task::kill");
        detail::check(guv_kill(id_), "guv_kill");
    }

    // Lets the task run on without a handle; what it returns or throws is dropped.
    void detach() {
        if (!state_) detail::throw_errno(EINVAL, "guv::task::detach");
        state_->mark_detached();
        std::exchange(state_, nullptr)->release();
        id_ = 0;
    }

private:
    template <class F, class... Args>
    friend auto spawn_with_stack(std::size_t, F&&, Args&&...);

    task(task_id id, detail::state<R>* s) noexcept : id_(id), state_(s) {}

    void reset() noexcept {
        if (!state_) return;
        // A task dropping its own handle cannot wait for itself: it detaches.
        // When the owner's wait fails (it was killed, or its deadline
        // passed), the task is killed and still waited for, since it may use
        // the owner's locals, which die after this destructor.
        if (id_ != guv_current() && guv_join(id_) != 0 && guv_reap(id_) != 0) guv_kill(id_);
        // Another green thread may have joined or detached the handle meanwhile.
        if (state_) std::exchange(state_, nullptr)->release();
        id_ = 0;
    }

    task_id id_ = 0;
    detail::state<R>* state_ = nullptr;
};

// Starts `f(args...)` as a green thread on a stack of `stack_size` bytes
// (0: the default, guv_stack_size()). Like std::thread, the callable and
// the arguments are decay-copied (moved when given as rvalues), so
// move-only ones work; use std::ref to pass a reference. The task starts at
// the hub's next turn; one that never starts (its OS thread exits without
// running the hub) has its callable and arguments destroyed on that thread
// as it exits. Throws std::system_error: ENOMEM, EAGAIN, EINVAL (stack below
// 16 KiB).
template <class F, class... Args>
[[nodiscard]] auto spawn_with_stack(std::size_t stack_size, F&& f, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    static_assert(!std::is_reference_v<R>, "a task returns a value: return a pointer or std::reference_wrapper");
    auto* s = new detail::bound<R, std::decay_t<F>, std::decay_t<Args>...>(std::forward<F>(f),
                                                                             std::forward<Args>(args)...);
    detail::install_hooks();
    task_id id = guv_spawn_ex(&detail::task_base::entry, static_cast<detail::task_base*>(s), stack_size);
    if (id < 0) {
        int err = errno;
        delete s;
        detail::throw_errno(err, "guv_spawn");
    }
    return task<R>(id, s);
}

// As spawn_with_stack() with the default stack size.
template <class F, class... Args>
[[nodiscard]] auto spawn(F&& f, Args&&... args) {
    return spawn_with_stack(0, std::forward<F>(f), std::forward<Args>(args)...);
}

// Runs `f()`. Once needed around C code that blocks through guv inside a
// catch block; guv's hooks now keep each task's exceptions at every switch,
// so plain calls are safe and this is kept only for code that uses it.
template <class F>
decltype(auto) blocking(F&& f) {
    return std::forward<F>(f)();
}

// Runs this OS thread's hub until no green thread is left. Throws
// std::system_error: EPERM (inside a green thread), EDEADLK (every green
// thread left waits for something that can never happen).
inline void run() { detail::check(guv_run(), "guv_run"); }

// Lets every other ready green thread run once.
inline void yield() { detail::check(guv_yield(), "guv_yield"); }

// The running green thread's id; 0 in main.
inline task_id current() noexcept { return guv_current(); }

// Cancels green thread `id` (see task::kill); a no-op for ended ids.
// Throws std::system_error ESRCH for ids this hub never issued.
inline void kill(task_id id) { detail::check(guv_kill(id), "guv_kill"); }

// Suspends the caller for at least `d` while the others run; from main it
// runs the hub. Throws std::system_error: ECANCELED (killed), ETIMEDOUT (a
// guv::timeout passed first), EPERM, EDEADLK.
template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> d) {
    double s = detail::seconds(d);
    detail::check(guv_sleep(s), "guv_sleep");
}

// As sleep(), until `t` on `t`'s clock.
template <class Clock, class Duration>
void sleep_until(std::chrono::time_point<Clock, Duration> t) {
    sleep(t - Clock::now());
}

// Suspends the caller until `fd` is ready for any of `events` (readable,
// writable or both) and returns the ready mask; hang-ups and errors count as
// ready, as in poll(2). Throws std::system_error: EBADF, EINVAL, EBUSY
// (another green thread waits for that event on `fd`), ECANCELED,
// ETIMEDOUT (a guv::timeout passed), EPERM, EDEADLK.
inline int trampoline(int fd, int events) {
    return detail::check(guv_trampoline(fd, events), "guv_trampoline");
}

// As trampoline(fd, events), returning 0 when `timeout` passes first (a zero
// timeout polls once). An enclosing guv::timeout that passes first still
// throws ETIMEDOUT, so a loop around this call cannot spin past it.
template <class Rep, class Period>
int trampoline(int fd, int events, std::chrono::duration<Rep, Period> timeout) {
    auto rc = detail::timed(detail::seconds(timeout), "guv_trampoline_timeout",
                            [=](double s) { return guv_trampoline_timeout(fd, events, s); });
    return rc ? *rc : 0;
}

// As trampoline(fd, events, *timeout), or without a limit for std::nullopt.
inline int trampoline(int fd, int events, std::optional<std::chrono::duration<double>> timeout) {
    return timeout ? trampoline(fd, events, *timeout) : trampoline(fd, events);
}

// A deadline over a scope of the calling green thread (or main): every
// blocking guv call inside it throws std::system_error ETIMEDOUT once the
// earliest enclosing deadline has passed. Scopes nest; a timeout object
// must end on the green thread that made it, which its being neither
// copyable nor movable enforces for objects on the stack.
class timeout {
public:
    template <class Rep, class Period>
    explicit timeout(std::chrono::duration<Rep, Period> d) {
        double s = detail::seconds(d);
        // The hub reads its clock between these two reads: its deadline lies
        // between `earliest_` and `latest_`.
        earliest_ = guv_now() + s;
        detail::check(guv_timeout_begin(s), "guv_timeout_begin");
        latest_ = guv_now() + s;
    }
    ~timeout() { guv_timeout_end(); }
    timeout(const timeout&) = delete;
    timeout& operator=(const timeout&) = delete;

    // This scope's own deadline has passed (an outer one may pass earlier).
    // Agrees with the hub: once true, blocking calls and guv::check() throw.
    bool expired() const noexcept {
        double now = guv_now();
        if (now >= latest_) return true;
        if (now < earliest_) return false;
        // Within the microseconds the hub's deadline may be: ask the hub.
        int saved = errno;
        bool passed = guv_check() != 0 && errno == ETIMEDOUT;
        errno = saved;
        return passed;
    }

private:
    double earliest_, latest_;
};


// ---- Cooperative I/O ------------------------------------------------------
//
// The POSIX calls of guv's I/O layer: on an fd in blocking mode they suspend
// only the calling green thread where the plain call would block. Failures
// throw std::system_error with the call's errno, EAGAIN included: guv waits
// only on fds in blocking mode, so EAGAIN means the caller made the fd
// non-blocking (or passed MSG_DONTWAIT) or its SO_RCVTIMEO/SO_SNDTIMEO ran
// out, and asio's throwing calls throw it too. Code driving a non-blocking
// fd waits with guv::trampoline before the call. Besides the plain call's
// own errors: ECANCELED (killed), ETIMEDOUT (a guv::timeout passed), EINTR
// (guv::interrupt), EACCES (may_switch refused).

// Bytes to write: a pointer and a length, like std::span<const std::byte>.
// Converts from any contiguous range of byte-sized elements (std::string,
// std::string_view, std::vector<char>, std::array<std::byte, N>, arrays)
// and, as std::string_view does, from a C string: a string literal (or any
// const char array) is sent without its terminating NUL.
class const_buffer {
public:
    constexpr const_buffer() noexcept = default;
    constexpr const_buffer(const void* data, std::size_t size) noexcept : data_(data), size_(size) {}
    const_buffer(const char* s) noexcept : data_(s), size_(std::char_traits<char>::length(s)) {}
    template <class Range, class R = std::remove_reference_t<Range>,
              class = std::enable_if_t<detail::byte_range<R>::value && !detail::is_const_char_array_v<R>>>
    constexpr const_buffer(Range&& r) noexcept : data_(std::data(r)), size_(std::size(r)) {}

    constexpr const void* data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }

private:
    const void* data_ = nullptr;
    std::size_t size_ = 0;
};

// Room to read into: a pointer and a length. Converts from any contiguous
// range of writable byte-sized elements (std::string, std::vector<char>,
// std::array<std::byte, N>, arrays), whose whole size() is offered: a read
// fills at most that much and does not resize the container.
class mutable_buffer {
public:
    constexpr mutable_buffer() noexcept = default;
    constexpr mutable_buffer(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
    template <class Range, class = std::enable_if_t<detail::byte_range<Range>::writable>>
    constexpr mutable_buffer(Range& r) noexcept : data_(std::data(r)), size_(std::size(r)) {}

    constexpr void* data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }

private:
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

// read(2): returns the bytes read, 0 at end of file.
inline std::size_t read(int fd, mutable_buffer buf) {
    return static_cast<std::size_t>(
        detail::check(guv_read(fd, buf.data(), buf.size()), "guv_read"));
}

// write(2): on a blocking-mode fd all of `buf` is written before it returns;
// a shorter count means an error came after some bytes went out (the next
// call reports it) or, on a non-blocking fd, that the kernel took that much.
inline std::size_t write(int fd, const_buffer buf) {
    return static_cast<std::size_t>(
        detail::check(guv_write(fd, buf.data(), buf.size()), "guv_write"));
}

// recv(2) with MSG_* `flags` (MSG_WAITALL and MSG_DONTWAIT are honoured):
// returns the bytes received, 0 when the peer shut down. The third argument
// is flags, not a length: recv(fd, {buf, n}) receives at most n bytes.
inline std::size_t recv(int fd, mutable_buffer buf, int flags = 0) {
    return static_cast<std::size_t>(detail::check(
        guv_recv(fd, buf.data(), buf.size(), flags), "guv_recv"));
}

// send(2): on a blocking-mode socket all of `buf` is sent, as write() does.
inline std::size_t send(int fd, const_buffer buf, int flags = 0) {
    return static_cast<std::size_t>(detail::check(
        guv_send(fd, buf.data(), buf.size(), flags), "guv_send"));
}

// accept4(2): returns the new connection's fd; `flags` are SOCK_NONBLOCK and
// SOCK_CLOEXEC. The peer's address goes to `addr` (may be null) as accept(2) does.
inline int accept(int fd, sockaddr* addr, socklen_t* addrlen, int flags = 0) {
    return detail::check(guv_accept4(fd, addr, addrlen, flags), "guv_accept4");
}

inline int accept(int fd, int flags = 0) { return guv::accept(fd, nullptr, nullptr, flags); }

// connect(2): on a blocking-mode socket it returns once connected, or throws
// the connection's error (ECONNREFUSED, ETIMEDOUT when SO_SNDTIMEO runs out, …).
inline void connect(int fd, const sockaddr* addr, socklen_t addrlen) {
    detail::check(guv_connect(fd, addr, addrlen), "guv_connect");
}

// connect(fd, addr) for a sockaddr_in, sockaddr_in6, sockaddr_un, … object.
template <class Addr, class = std::enable_if_t<!std::is_pointer_v<Addr> && std::is_trivially_copyable_v<Addr>>>
void connect(int fd, const Addr& addr) {
    guv::connect(fd, reinterpret_cast<const sockaddr*>(&addr), static_cast<socklen_t>(sizeof addr));
}

// poll(2) over `n` pollfds: suspends the caller until one is ready and
// returns how many have revents set. Without a timeout it waits forever.
inline int poll(pollfd* fds, std::size_t n) {
    return detail::check(guv_poll(fds, static_cast<nfds_t>(n), -1), "guv_poll");
}

// As poll(fds, n), returning 0 when `timeout` (rounded up to whole
// milliseconds; zero or negative polls once) passes first.
template <class Rep, class Period>
int poll(pollfd* fds, std::size_t n, std::chrono::duration<Rep, Period> timeout) {
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(std::chrono::duration<double, std::milli>(timeout)).count();
    int limit = ms <= 0 ? 0 : ms >= INT_MAX ? INT_MAX : static_cast<int>(ms);
    return detail::check(guv_poll(fds, static_cast<nfds_t>(n), limit),
                         "guv_poll");
}

inline int poll(std::vector<pollfd>& fds) { return guv::poll(fds.data(), fds.size()); }

template <class Rep, class Period>
int poll(std::vector<pollfd>& fds, std::chrono::duration<Rep, Period> timeout) {
    return guv::poll(fds.data(), fds.size(), timeout);
}

// Wakes the green threads waiting on `fd` (their calls throw EBADF), drops
// guv's state for it, then close(2)s it. Close every fd guv has waited on
// this way. Throws std::system_error EBADF, or close(2)'s errno.
inline void close(int fd) { detail::check(guv_close(fd), "guv_close"); }

// Drops guv's state for `fd` without closing it (waiters throw EBADF): call
// it before closing an fd yourself, after dup2() onto it, or after changing
// its O_NONBLOCK or socket timeouts. Throws std::system_error EBADF (fd < 0).
inline void forget(int fd) { detail::check(guv_forget(fd), "guv_forget"); }

// ---- Offload --------------------------------------------------------------

namespace detail {

// What offload() hands the pool thread: the callable, and room for what it
// returns or throws. The trampoline is noexcept and catches everything, so
// no exception crosses guv's pool thread.
template <class F>
struct offloaded {
    using R = std::invoke_result_t<F&>;
    // A reference result is kept as a pointer.
    using stored = std::conditional_t<std::is_reference_v<R>, std::remove_reference_t<R>*, R>;

    F& f;
    std::optional<std::conditional_t<std::is_void_v<R>, char, stored>> value;
    std::exception_ptr error;

    static void run(void* arg) noexcept {
        auto* self = static_cast<offloaded*>(arg);
        try {
            if constexpr (std::is_void_v<R>) {
                std::invoke(self->f);
                self->value.emplace();
            } else if constexpr (std::is_reference_v<R>) {
                self->value.emplace(&std::invoke(self->f));
            } else {
                self->value.emplace(std::invoke(self->f));
            }
        } catch (...) {
            self->error = std::current_exception();
        }
    }
};

}  // namespace detail

// Runs `f()` on guv's pool of OS threads (GUV_OFFLOAD_THREADS, default 8)
// and suspends only the caller until it returns: for getaddrinfo, file I/O,
// C calls that can never be cooperative. Returns what `f` returned (a
// reference stays a reference) or rethrows, in the caller, what `f` threw.
// `f` runs on another OS thread: guv calls inside it act on that thread's
// hub, not the caller's (whose task ids mean nothing there), and
// thread_locals are that thread's. It cannot be interrupted: a kill, guv::interrupt or
// guv::timeout passing meanwhile waits until `f` has returned, then takes
// effect at the caller's next blocking call (guv::check() tells at once).
// Throws std::system_error: EAGAIN (no pool thread could be started), EPERM
// (inside a guv_call_on_hub() callback), EACCES (may_switch refused); `f`
// has not run then.
template <class F>
decltype(auto) offload(F&& f) {
    using job = detail::offloaded<std::remove_reference_t<F>>;
    job j{f, std::nullopt, nullptr};
    detail::check(guv_offload(&job::run, &j), "guv_offload");
    if (j.error) std::rethrow_exception(j.error);
    if constexpr (std::is_void_v<typename job::R>) {
        return;
    } else if constexpr (std::is_reference_v<typename job::R>) {
        return static_cast<typename job::R>(**j.value);
    } else {
        return typename job::R(std::move(*j.value));
    }
}

// ---- Park, unpark, interrupt ----------------------------------------------
//
// park() and unpark() are the building block for events, queues and
// condition variables between the green threads of one OS thread (see
// README.md). A permit is kept for a green thread unparked while not parked
// (one, not counted), so park() can return for an earlier unpark: wait in a
// loop on your own condition.

// Suspends the caller until a guv::unpark() of it (or hub::unpark() from
// another OS thread); returns at once if a permit is kept. Throws
// std::system_error: ECANCELED (killed), ETIMEDOUT (a guv::timeout
// passed), EINTR (guv::interrupt), EPERM, EDEADLK (nothing could ever
// unpark it: hold the hub, see hub_hold, when another OS thread will).
inline void park() { detail::check(guv_park(-1), "guv_park"); }

// As park(), returning false when `timeout` passes first (zero or negative:
// only takes a kept permit). An enclosing guv::timeout that passes first
// still throws ETIMEDOUT.
template <class Rep, class Period>
bool park(std::chrono::duration<Rep, Period> timeout) {
    return detail::timed(detail::seconds(timeout), "guv_park", [](double s) { return guv_park(s); }).has_value();
}

// As park(*timeout), or park() for std::nullopt (then always true).
inline bool park(std::optional<std::chrono::duration<double>> timeout) {
    if (!timeout) {
        park();
        return true;
    }
    return park(*timeout);
}

// Wakes green thread `id` (0: main) from park(), or keeps a permit for its
// next one. A no-op for ended ids. Throws std::system_error ESRCH for ids
// this OS thread's hub never issued (use hub::unpark from other threads).
inline void unpark(task_id id) { detail::check(guv_unpark(id), "guv_unpark"); }

// unpark(t.id()) for a task not yet joined nor detached (else EINVAL: its
// id would be 0, main's).
template <class R>
void unpark(const task<R>& t) {
    if (!t.joinable()) detail::throw_errno(EINVAL, "guv::unpark");
    unpark(t.id());
}

// Ends the current blocking call of green thread `id` (0: main) with
// std::system_error EINTR, once (the next one if it is not blocked); later
// calls are unaffected, unlike kill(). An offload() is waited out. A no-op
// for ended ids; throws std::system_error ESRCH for ids never issued here.
inline void interrupt(task_id id) { detail::check(guv_interrupt(id), "guv_interrupt"); }

// interrupt(t.id()) for a task not yet joined nor detached (else EINVAL).
template <class R>
void interrupt(const task<R>& t) {
    if (!t.joinable()) detail::throw_errno(EINVAL, "guv::interrupt");
    interrupt(t.id());
}

// Whether the caller may go on, without suspending: throws std::system_error
// ECANCELED (it was killed) or ETIMEDOUT (a guv::timeout passed). For code
// about to start work that a kill or deadline would only interrupt.
inline void check() { detail::check(guv_check(), "guv_check"); }

// The running green thread's usable stack (the guard region below excluded).
struct stack_region {
    void* lo;
    std::size_t size;
};

// Throws std::system_error ESRCH outside a green thread (in main).
inline stack_region stack_bounds() {
    stack_region r{nullptr, 0};
    detail::check(guv_stack_bounds(&r.lo, &r.size), "guv_stack_bounds");
    return r;
}

// The loaded libguv's version, "MAJOR.MINOR.PATCH" (GUV_VERSION is the
// header's).
inline std::string_view version() noexcept { return guv_version(); }

// ---- Synchronisation between tasks ----------------------------------------
//
// guv::mutex, condition_variable, semaphore, channel and task_group are for
// the tasks (and main) of one OS thread, like everything but guv::hub and
// guv::future: nothing runs between two statements of a task unless it
// blocks, so they need no atomic operations. Their blocking calls suspend
// only the calling task and throw std::system_error as every blocking guv
// call does: ECANCELED (killed), ETIMEDOUT (a guv::timeout passed), EINTR
// (guv::interrupt).

namespace detail {

// Tasks waiting for a wake-up, first come first served. A waiter that is
// chosen by notify_one() but then throws (it was killed between the two)
// passes the wake-up on, so that none is lost.
class wait_queue {
public:
    // Suspends the caller until notify_one() or notify_all() chooses it, or
    // `deadline` (guv_now() seconds; negative: none) passes: then false.
    bool wait(double deadline = -1) {
        node me{guv_current(), false};
        waiters_.push_back(&me);
        try {
            while (!me.chosen) {
                if (deadline < 0) {
                    guv::park();
                } else if (!guv::park(std::chrono::duration<double>(deadline - guv_now()))) {
                    if (me.chosen) break;
                    leave(&me);
                    return false;
                }
            }
        } catch (...) {
            if (me.chosen)
                notify_one();
            else
                leave(&me);
            throw;
        }
        return true;
    }

    // Chooses the longest waiter; false when none waits.
    bool notify_one() {
        if (waiters_.empty()) return false;
        node* n = waiters_.front();
        waiters_.pop_front();
        n->chosen = true;
        guv_unpark(n->id);
        return true;
    }

    void notify_all() {
        while (notify_one()) {}
    }

    bool empty() const noexcept { return waiters_.empty(); }

private:
    struct node {
        task_id id;
        bool chosen;
    };
    void leave(node* n) noexcept {
        for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
            if (*it == n) {
                waiters_.erase(it);
                return;
            }
    }
    std::deque<node*> waiters_;
};

template <class Clock, class Duration>
double guv_deadline(std::chrono::time_point<Clock, Duration> t) {
    return guv_now() + seconds(t - Clock::now());
}

}  // namespace detail

// A mutex between the tasks of one OS thread (Lockable: std::lock_guard,
// std::unique_lock and std::scoped_lock work). Not recursive; unlock() by a
// task that does not hold it is undefined, as for std::mutex.
class mutex {
public:
    mutex() = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;

    // Suspends the caller until it holds the mutex. Throws std::system_error
    // (ECANCELED, ETIMEDOUT, EINTR) without holding it.
    void lock() {
        while (locked_) waiters_.wait();
        locked_ = true;
    }
    bool try_lock() noexcept { return !std::exchange(locked_, true); }
    void unlock() {
        locked_ = false;
        waiters_.notify_one();
    }

private:
    bool locked_ = false;
    detail::wait_queue waiters_;
};

enum class cv_status { no_timeout, timeout };

// A condition variable over a std::unique_lock<guv::mutex>. Unlike
// std::condition_variable, a wait that throws (the task was killed, a
// guv::timeout passed, guv::interrupt) returns with `lock` NOT held
// (lock.owns_lock() is false): a killed task cannot wait for the mutex
// again. A wait that returns normally holds it, as usual.
class condition_variable {
public:
    void notify_one() { waiters_.notify_one(); }
    void notify_all() { waiters_.notify_all(); }

    void wait(std::unique_lock<mutex>& lock) { wait_until_(lock, -1); }

    template <class Predicate>
    void wait(std::unique_lock<mutex>& lock, Predicate pred) {
        while (!pred()) wait(lock);
    }

    template <class Clock, class Duration>
    cv_status wait_until(std::unique_lock<mutex>& lock, std::chrono::time_point<Clock, Duration> t) {
        return wait_until_(lock, detail::guv_deadline(t));
    }

    template <class Clock, class Duration, class Predicate>
    bool wait_until(std::unique_lock<mutex>& lock, std::chrono::time_point<Clock, Duration> t, Predicate pred) {
        double deadline = detail::guv_deadline(t);
        while (!pred())
            if (wait_until_(lock, deadline) == cv_status::timeout) return pred();
        return true;
    }

    template <class Rep, class Period>
    cv_status wait_for(std::unique_lock<mutex>& lock, std::chrono::duration<Rep, Period> d) {
        return wait_until_(lock, guv_now() + detail::seconds(d));
    }

    template <class Rep, class Period, class Predicate>
    bool wait_for(std::unique_lock<mutex>& lock, std::chrono::duration<Rep, Period> d, Predicate pred) {
        return wait_until(lock, std::chrono::steady_clock::now() + d, std::move(pred));
    }

private:
    cv_status wait_until_(std::unique_lock<mutex>& lock, double deadline) {
        if (!lock.owns_lock()) detail::throw_errno(EPERM, "guv::condition_variable::wait");
        lock.unlock();
        bool woken = waiters_.wait(deadline);
        lock.lock();
        return woken ? cv_status::no_timeout : cv_status::timeout;
    }

    detail::wait_queue waiters_;
};

// A counting semaphore between the tasks of one OS thread.
class semaphore {
public:
    explicit semaphore(std::ptrdiff_t initial) : count_(initial) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    // Suspends the caller until it can take one unit.
    void acquire() {
        while (count_ == 0) waiters_.wait();
        --count_;
    }
    bool try_acquire() noexcept {
        if (count_ == 0) return false;
        --count_;
        return true;
    }
    // As acquire(), returning false when `d` passes first.
    template <class Rep, class Period>
    bool try_acquire_for(std::chrono::duration<Rep, Period> d) {
        double deadline = guv_now() + detail::seconds(d);
        while (count_ == 0)
            if (!waiters_.wait(deadline)) return try_acquire();
        --count_;
        return true;
    }
    void release(std::ptrdiff_t n = 1) {
        count_ += n;
        for (std::ptrdiff_t i = 0; i < n && waiters_.notify_one(); i++) {}
    }
    std::ptrdiff_t available() const noexcept { return count_; }

private:
    std::ptrdiff_t count_;
    detail::wait_queue waiters_;
};

// A FIFO channel between the tasks of one OS thread, bounded (send waits
// while `capacity` values are queued) or unbounded. close() ends it: sends
// return false from then on, and receivers get what is queued, then
// std::nullopt.
template <class T>
class channel {
public:
    static constexpr std::size_t unbounded = static_cast<std::size_t>(-1);

    // Throws std::system_error EINVAL for a capacity of 0 (no rendezvous
    // channels: use a capacity of 1).
    explicit channel(std::size_t capacity = unbounded) : capacity_(capacity) {
        if (capacity == 0) detail::throw_errno(EINVAL, "guv::channel");
    }
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;

    // Queues `value`, first waiting while the channel is full; false (and
    // `value` dropped) once the channel is closed.
    bool send(T value) {
        while (!closed_ && queue_.size() >= capacity_) senders_.wait();
        if (closed_) return false;
        queue_.push_back(std::move(value));
        receivers_.notify_one();
        return true;
    }

    // The oldest value, waiting while the channel is empty and open;
    // std::nullopt once it is closed and drained.
    std::optional<T> recv() {
        while (queue_.empty() && !closed_) receivers_.wait();
        return take();
    }

    // As recv(), also std::nullopt when `d` passes first (see closed()).
    template <class Rep, class Period>
    std::optional<T> recv_for(std::chrono::duration<Rep, Period> d) {
        double deadline = guv_now() + detail::seconds(d);
        while (queue_.empty() && !closed_)
            if (!receivers_.wait(deadline)) break;
        return take();
    }

    // Without waiting: a value if one is queued.
    std::optional<T> try_recv() { return take(); }

    // Wakes every waiting sender (false) and receiver (nullopt once drained).
    void close() {
        closed_ = true;
        senders_.notify_all();
        receivers_.notify_all();
    }

    bool closed() const noexcept { return closed_; }
    std::size_t size() const noexcept { return queue_.size(); }

private:
    std::optional<T> take() {
        if (queue_.empty()) return std::nullopt;
        std::optional<T> v(std::move(queue_.front()));
        queue_.pop_front();
        senders_.notify_one();
        return v;
    }

    std::size_t capacity_;
    bool closed_ = false;
    std::deque<T> queue_;
    detail::wait_queue senders_, receivers_;
};

// ---- Task-local storage ---------------------------------------------------

// A variable with one value per task, as thread_local gives one per OS
// thread (which all tasks of a thread share); main has its own per thread.
// Give it static storage duration. Each task's value is default-constructed
// at its first use and destroyed when the task ends (right after its
// function returned: the destructor must not block). Relies on guv.hpp's
// hooks: throws std::logic_error in a task started without them (removed
// with guv_remove_hooks, or refused: GUV_HOOKS_MAX other sets in force).
template <class T>
class task_local {
public:
    task_local() = default;
    task_local(const task_local&) = delete;
    task_local& operator=(const task_local&) = delete;

    T& get() {
        detail::local_values& values = locals();
        if (void* v = values.find(this)) return *static_cast<T*>(v);
        T* v = new T();
        values.add(this, v, [](void* p) { delete static_cast<T*>(p); });
        return *v;
    }
    T& operator*() { return get(); }
    T* operator->() { return &get(); }

private:
    static detail::local_values& locals() {
        static thread_local detail::local_values main_values;
        if (guv_current() == 0) return main_values;
        if (!detail::running_task) throw std::logic_error("guv::task_local: the task runs without guv.hpp's hooks");
        return detail::running_task->locals;
    }
};

// ---- Futures --------------------------------------------------------------

namespace detail {

// What a guv::promise and its guv::future share; thread-safe, since the
// promise may be kept on another OS thread (hub::spawn).
template <class T>
class shared_result {
public:
    // Called once; wakes every waiter, on whatever hub it parks.
    template <class... A>
    void set(std::exception_ptr error, A&&... value) {
        std::lock_guard<std::mutex> g(m_);
        if (ready_) throw std::future_error(std::future_errc::promise_already_satisfied);
        if (error)
            error_ = std::move(error);
        else if constexpr (!std::is_void_v<T>)
            value_.emplace(std::forward<A>(value)...);
        ready_ = true;
        for (const waiter& w : waiters_) guv_hub_unpark(w.hub, w.id);
    }

    bool ready() const {
        std::lock_guard<std::mutex> g(m_);
        return ready_;
    }

    // Suspends the calling task (or main, running its hub) until ready or
    // `deadline` (guv_now() seconds; negative: none) passed: then false.
    bool wait(double deadline) {
        guv_hub* self = guv_hub_self();
        if (!self) throw_errno(errno, "guv_hub_self");
        // The result is set from anywhere: keep this hub waiting for it
        // even with nothing else to run.
        struct held {
            guv_hub* h;
            held(guv_hub* hub) : h(hub) { guv_hub_hold(h); }
            ~held() {
                guv_hub_unhold(h);
                guv_hub_release(h);
            }
        } keep(self);
        waiter me{self, guv_current()};
        std::unique_lock<std::mutex> g(m_);
        if (ready_) return true;
        waiters_.push_back(me);
        auto leave = [&] {
            for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
                if (it->hub == me.hub && it->id == me.id) {
                    waiters_.erase(it);
                    break;
                }
        };
        try {
            while (!ready_) {
                g.unlock();
                bool woken = true;
                if (deadline < 0)
                    guv::park();
                else
                    woken = guv::park(std::chrono::duration<double>(deadline - guv_now()));
                g.lock();
                if (!woken && !ready_) {
                    leave();
                    return false;
                }
            }
        } catch (...) {
            if (!g.owns_lock()) g.lock();
            leave();
            throw;
        }
        leave();
        return true;
    }

    // Only once ready.
    T take() {
        if (error_) std::rethrow_exception(error_);
        if constexpr (!std::is_void_v<T>) return std::move(*value_);
    }

private:
    struct waiter {
        guv_hub* hub;
        task_id id;
    };
    mutable std::mutex m_;
    bool ready_ = false;
    std::exception_ptr error_;
    std::conditional_t<std::is_void_v<T>, char, std::optional<T>> value_{};
    std::vector<waiter> waiters_;
};

}  // namespace detail

// The result of a guv::promise (or of hub::spawn): get() suspends only the
// calling task, not its OS thread, and may be called from any OS thread
// (in main it runs that thread's hub while it waits). Move-only, get() once,
// like std::future.
template <class T>
class future {
public:
    future() noexcept = default;

    bool valid() const noexcept { return state_ != nullptr; }
    bool ready() const { return check_valid()->ready(); }

    // Waits for the result, then returns it or rethrows what was set
    // instead; the future is then no longer valid. Throws std::system_error
    // ECANCELED, ETIMEDOUT or EINTR when the wait itself fails (the future
    // stays valid), std::future_error no_state when not valid, and
    // broken_promise when the promise was destroyed unset.
    T get() {
        check_valid()->wait(-1);
        std::shared_ptr<detail::shared_result<T>> s = std::move(state_);
        return s->take();
    }

    void wait() const { check_valid()->wait(-1); }

    // Whether the result is ready after at most `d`.
    template <class Rep, class Period>
    std::future_status wait_for(std::chrono::duration<Rep, Period> d) const {
        bool ok = check_valid()->wait(guv_now() + detail::seconds(d));
        return ok ? std::future_status::ready : std::future_status::timeout;
    }

private:
    template <class>
    friend class promise;
    explicit future(std::shared_ptr<detail::shared_result<T>> s) : state_(std::move(s)) {}

    detail::shared_result<T>* check_valid() const {
        if (!state_) throw std::future_error(std::future_errc::no_state);
        return state_.get();
    }

    std::shared_ptr<detail::shared_result<T>> state_;
};

// The producing side of a guv::future; set_value / set_exception once, from
// any OS thread. Destroyed unset, it hands the future std::future_error
// broken_promise.
template <class T>
class promise {
public:
    promise() : state_(std::make_shared<detail::shared_result<T>>()) {}
    promise(promise&&) noexcept = default;
    promise& operator=(promise&& other) noexcept {
        abandon();
        state_ = std::move(other.state_);
        retrieved_ = other.retrieved_;
        return *this;
    }
    ~promise() { abandon(); }

    // Once; throws std::future_error future_already_retrieved after.
    future<T> get_future() {
        if (!state_) throw std::future_error(std::future_errc::no_state);
        if (std::exchange(retrieved_, true)) throw std::future_error(std::future_errc::future_already_retrieved);
        return future<T>(state_);
    }

    template <class... A>
    void set_value(A&&... value) {
        if (!state_) throw std::future_error(std::future_errc::no_state);
        state_->set(nullptr, std::forward<A>(value)...);
    }

    void set_exception(std::exception_ptr e) {
        if (!state_) throw std::future_error(std::future_errc::no_state);
        state_->set(std::move(e));
    }

private:
    void abandon() noexcept {
        if (!state_ || state_->ready()) return;
        try {
            state_->set(std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
        } catch (...) {
        }
    }

    std::shared_ptr<detail::shared_result<T>> state_;
    bool retrieved_ = false;
};

// ---- Task groups ----------------------------------------------------------

// Structured concurrency over a set of tasks: none outlives the group. The
// first task to fail (throw) has its exception kept and every other task of
// the group killed; join() waits for all and rethrows it. The destructor
// kills what is still running and waits for it (guv_reap), so the tasks may
// use the group's scope's locals, on every path out of it. Tasks return
// nothing: results go through captures or a channel. For one OS thread.
class task_group {
public:
    task_group() = default;
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    ~task_group() {
        cancel();
        for (task_id id : ids_) guv_reap(id);
    }

    // Starts `f(args...)` in the group (see guv::spawn). Throws
    // std::system_error ECANCELED after the group was cancelled.
    template <class F, class... Args>
    void spawn(F&& f, Args&&... args) {
        if (cancelled_) detail::throw_errno(ECANCELED, "guv::task_group::spawn");
        auto t = guv::spawn(
            [this](auto&& g, auto&&... a) {
                try {
                    std::invoke(std::move(g), std::move(a)...);
                } catch (...) {
                    fail(std::current_exception());
                }
            },
            std::forward<F>(f), std::forward<Args>(args)...);
        ids_.push_back(t.id());
        t.detach();
    }

    // Waits until every task ended, then rethrows the first failure, if any.
    // Throws std::system_error when the wait itself fails (the caller was
    // killed, its deadline passed): the tasks are then killed and waited for.
    void join() {
        try {
            while (!ids_.empty()) {
                detail::check(guv_join(ids_.back()), "guv_join");
                ids_.pop_back();
            }
        } catch (...) {
            cancel();
            for (task_id id : std::exchange(ids_, {})) guv_reap(id);
            throw;
        }
        if (first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
    }

    // Kills every task of the group (later spawns throw ECANCELED).
    void cancel() noexcept {
        cancelled_ = true;
        for (task_id id : ids_) guv_kill(id);
    }

    std::size_t size() const noexcept { return ids_.size(); }

private:
    void fail(std::exception_ptr e) noexcept {
        if (first_error_ || cancelled_) return;
        first_error_ = std::move(e);
        cancel();
    }

    std::vector<task_id> ids_;
    std::exception_ptr first_error_;
    bool cancelled_ = false;
};

// ---- Looking inside -------------------------------------------------------

// Names green thread `id` (0: the caller, green thread or main); copied,
// truncated to 63 bytes. Shown by dump(), the blocking detector and the
// stack-overflow report. Throws std::system_error ESRCH for an ended id or
// one of another hub.
inline void set_name(task_id id, const std::string& name) {
    detail::check(guv_set_name(id, name.c_str()), "guv_set_name");
}

// The name of green thread `id` (0: the caller); empty when it has none.
inline std::string name(task_id id = 0) {
    char buf[64];
    detail::check(guv_get_name(id, buf, sizeof buf), "guv_get_name");
    return buf;
}

// Writes this OS thread's hub's dump to `fd` (guv_dump's stable format: a
// line about the hub, then one per green thread).
inline void dump(int fd) { detail::check(guv_dump(fd), "guv_dump"); }

// The same dump as a string (written to a memfd, then read back).
inline std::string dump() {
    int fd = ::memfd_create("guv-dump", MFD_CLOEXEC);
    if (fd < 0) detail::throw_errno(errno, "memfd_create");
    if (guv_dump(fd) != 0) {
        int err = errno;
        ::close(fd);
        detail::throw_errno(err, "guv_dump");
    }
    std::string text;
    char buf[4096];
    off_t at = 0;
    for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, at)) > 0; at += n) text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return text;
}

// This OS thread's hub's counters (see struct guv_stats in guv.h).
inline struct guv_stats stats() {
    struct guv_stats s {};
    detail::check(guv_stats(&s, sizeof s), "guv_stats");
    return s;
}

// Turns the blocking detector on (a report on stderr whenever a green thread
// holds its hub longer than `threshold` without switching), or off with zero.
inline void set_block_report(std::chrono::duration<double> threshold) {
    detail::check(guv_set_block_report(threshold.count()), "guv_set_block_report");
}

// ---- Hub handles ----------------------------------------------------------

namespace detail {

// A green thread started by hub::spawn: what it returns or throws goes to a
// guv::promise, since nobody joins it. It runs through task_base::entry,
// so its stack is declared to ASan like a spawned task's.
template <class R, class F, class... Args>
class promised final : public state<void> {
public:
    template <class G, class... A>
    explicit promised(G&& f, A&&... args) : f_(std::forward<G>(f)), args_(std::forward<A>(args)...) {}

    guv::future<R> get_future() { return promise_.get_future(); }

private:
    void invoke() override {
        this->mark_detached();
        try {
            if constexpr (std::is_void_v<R>) {
                std::apply([this](auto&&... a) { std::invoke(std::move(f_), std::move(a)...); }, std::move(args_));
                promise_.set_value();
            } else {
                promise_.set_value(std::apply(
                    [this](auto&&... a) -> R { return std::invoke(std::move(f_), std::move(a)...); },
                    std::move(args_)));
            }
        } catch (...) {
            promise_.set_exception(std::current_exception());
        }
    }

    guv::promise<R> promise_;
    F f_;
    std::tuple<Args...> args_;
};

}  // namespace detail

// A thread-safe, copyable handle to one OS thread's hub, for handing it work
// from other OS threads (guv_hub_self / guv_hub_release, reference-counted).
// Every member may be called from any thread.
class hub {
public:
    // An empty handle; its members throw EINVAL.
    hub() noexcept = default;

    // The calling OS thread's hub (created on first use). Throws
    // std::system_error ESRCH if the thread's hub is already torn down.
    static hub self() {
        guv_hub* h = guv_hub_self();
        if (!h) detail::throw_errno(errno, "guv_hub_self");
        return hub(h);
    }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    guv_hub* native_handle() const noexcept { return h_.get(); }

    // Starts `f(args...)` as a green thread on this hub, from any OS thread;
    // the hub wakes up for it. The callable and arguments are decay-copied
    // (moved from rvalues) here and moved to the hub's thread, where they are
    // invoked and destroyed. What `f` returns or throws reaches the returned
    // guv::future, whose get() suspends only the calling task (a
    // std::future's would block the whole OS thread, and deadlock when `f`
    // runs there). The task learns its id with guv::current(). Throws
    // std::system_error: ESRCH (the hub's thread has exited), EINVAL (empty
    // handle), ENOMEM (no memory for the green thread's stack: it is taken
    // here, so an accepted spawn always starts). A spawn still queued when
    // the hub's thread exits never runs: its callable and arguments are
    // destroyed on that thread and the future reports std::future_error
    // broken_promise. Hold the hub while others may spawn on it.
    template <class F, class... Args>
    auto spawn(F&& f, Args&&... args) const {
        using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
        using job = detail::promised<R, std::decay_t<F>, std::decay_t<Args>...>;
        auto* s = new job(std::forward<F>(f), std::forward<Args>(args)...);
        detail::install_hooks();
        guv::future<R> result = s->get_future();
        s->release();  // only the green thread holds it from here on
        if (guv_hub_spawn(h_.get(), &detail::task_base::entry, static_cast<detail::task_base*>(s)) != 0) {
            int err = errno;
            s->release();
            detail::throw_errno(err, "guv_hub_spawn");
        }
        return result;
    }

    // guv::kill of green thread `id` of this hub, delivered at the hub's next
    // turn (then a no-op for an ended id). Throws std::system_error: ESRCH
    // (`id` is not of this hub, or its thread has exited), EINVAL (empty).
    void kill(task_id id) const { detail::check(guv_hub_kill(h_.get(), id), "guv_hub_kill"); }

    // guv::unpark of green thread `id` (0: the hub thread's main). Errors as kill().
    void unpark(task_id id) const { detail::check(guv_hub_unpark(h_.get(), id), "guv_hub_unpark"); }

    // guv::interrupt of green thread `id` (0: the hub thread's main), e.g. from a
    // signal-watching thread. Errors as kill().
    void interrupt(task_id id) const { detail::check(guv_hub_interrupt(h_.get(), id), "guv_hub_interrupt"); }

    // Keeps the hub's guv::run() waiting for submissions even when no green
    // thread is left, until a matching unhold(); holds nest. Prefer hub_hold.
    void hold() const { detail::check(guv_hub_hold(h_.get()), "guv_hub_hold"); }
    // Throws std::system_error EINVAL for more unholds than holds.
    void unhold() const { detail::check(guv_hub_unhold(h_.get()), "guv_hub_unhold"); }

private:
    explicit hub(guv_hub* h) : h_(h, guv_hub_release) {}

    std::shared_ptr<guv_hub> h_;
};

// hub::hold() for the lifetime of a scope, from any thread: the hub's
// guv::run() returns only once every hub_hold is gone and no green thread
// is left.
class hub_hold {
public:
    explicit hub_hold(hub h) : hub_(std::move(h)) { hub_.hold(); }
    ~hub_hold() { guv_hub_unhold(hub_.native_handle()); }
    hub_hold(const hub_hold&) = delete;
    hub_hold& operator=(const hub_hold&) = delete;

private:
    hub hub_;
};

}  // namespace guv

#endif  // GUV_HPP
