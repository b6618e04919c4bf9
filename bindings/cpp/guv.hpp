// guv.hpp: C++17 binding of guv, header-only, over the C ABI in guv.h.
//
// Green threads as tasks with move-only handles, durations from <chrono>,
// failures as std::system_error(errno, std::generic_category()). Every
// function acts on the calling OS thread's hub, as its C counterpart does.
//
// The boundary rule: no exception ever unwinds through guv. A task's body
// runs inside a noexcept entry function that catches everything it throws
// and hands it to join() as a std::exception_ptr.

#ifndef GUV_HPP
#define GUV_HPP

#include <guv.h>

#include <cxxabi.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

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

#include <unordered_map>
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

// Maps the C convention (negative result, errno set) to an exception.
template <class T>
T check(T rc, const char* what) {
    if (rc < 0) throw_errno(errno, what);
    return rc;
}

// The C++ runtime keeps the exceptions being handled, and the count of those
// being thrown, per OS thread (the Itanium C++ ABI's __cxa_eh_globals), but
// green threads share the OS thread. Around each call that may switch, the
// caller's are set aside and put back after, so a task may block inside a
// catch block or in a destructor run by unwinding without another task
// ending its exception or seeing it in std::current_exception().
class eh_globals {
public:
    eh_globals() noexcept : g_(reinterpret_cast<layout*>(abi::__cxa_get_globals())), saved_(*g_) {
        *g_ = layout{};
    }
    ~eh_globals() { *g_ = saved_; }
    eh_globals(const eh_globals&) = delete;
    eh_globals& operator=(const eh_globals&) = delete;

private:
    // The ABI's layout: the caught exceptions' stack, then the uncaught count.
    struct layout {
        void* caught_exceptions;
        unsigned int uncaught_exceptions;
    };
    layout* g_;
    layout saved_;
};

#ifdef GUV_HPP_ASAN
// ASan knows one stack per OS thread. When an exception is thrown it
// unpoisons the frames being unwound, from the stack pointer to the top of
// the stack it knows; thrown on a task's stack, it would ignore the request
// (with a warning) and leave stale poison behind, which later reads by
// uninstrumented code (libguv, C drivers) report as errors. So a task's
// stack is declared to ASan when the task starts and each time one of this
// header's calls resumes it. A zero `bottom` stands for the OS thread's own
// stack, which ASan reports at the first declaration.
struct stack_bounds {
    const void* bottom = nullptr;
    std::size_t size = 0;
};
inline thread_local stack_bounds thread_stack;
inline thread_local std::unordered_map<std::int64_t, stack_bounds> task_stacks;

inline void declare_stack(stack_bounds b) {
    // With detect_stack_use_after_return, frames live on one fake stack per
    // thread, whose collector frees those of any stack below the declared
    // one: it would free other tasks' live frames. Leave ASan's view alone.
    if (__asan_get_current_fake_stack()) return;
    if (!b.bottom) b = thread_stack;
    if (!b.bottom) return;  // nothing declared yet: ASan still has the thread's own
    stack_bounds before;
    __sanitizer_start_switch_fiber(nullptr, b.bottom, b.size);
    __sanitizer_finish_switch_fiber(nullptr, &before.bottom, &before.size);
    if (!thread_stack.bottom) thread_stack = before;
}

// Declares the stack of whatever runs now: a task's, or in main the thread's.
struct asan_stack {
    ~asan_stack() {
        auto it = task_stacks.find(guv_current());
        declare_stack(it != task_stacks.end() ? it->second : stack_bounds{});
    }
};
#endif

// What must stay the caller's own across a call that may switch (see above).
struct switch_scope {
    eh_globals eh;
#ifdef GUV_HPP_ASAN
    asan_stack stack;
#endif
};

// Runs a guv call that may switch to other green threads.
template <class Call>
auto switching(Call call) {
    switch_scope scope;
    return call();
}

template <class Rep, class Period>
double seconds(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration<double>(d).count();
}

// What a task's handle and its green thread share. Both hold a reference:
// the green thread may outlive a detached handle, and a handle may be
// joined long after its task ended.
template <class R>
class state {
public:
    virtual ~state() = default;

    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    // Only after guv_join() said the task ended.
    R take() {
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
        if constexpr (!std::is_void_v<R>) return std::move(*value_);
    }

    // The entry point handed to guv_spawn. noexcept: should anything still
    // escape the catch below, std::terminate runs here, on this stack,
    // instead of the exception unwinding into the hub.
    static void entry(void* arg) noexcept {
        auto* self = static_cast<state*>(arg);
#ifdef GUV_HPP_ASAN
        // Kept in the state, not in a local: with detect_stack_use_after_return
        // a local would sit on ASan's fake stack, which misjudges green threads.
        self->stack_bottom_ = static_cast<char*>(__builtin_frame_address(0)) - self->stack_bytes_;
        task_stacks[guv_current()] = {self->stack_bottom_, self->stack_bytes_};
        declare_stack({self->stack_bottom_, self->stack_bytes_});
#endif
        try {
            if constexpr (std::is_void_v<R>)
                self->invoke();
            else
                self->value_.emplace(self->invoke());
        } catch (...) {
            self->error_ = std::current_exception();
        }
#ifdef GUV_HPP_ASAN
        // Should an exception have unwound while ASan had another stack in
        // mind (the task switched inside a C driver), clear its stale poison
        // before the next task gets this pooled stack; then hand the hub
        // back the thread's own stack.
        ASAN_UNPOISON_MEMORY_REGION(self->stack_bottom_, self->stack_bytes_);
        task_stacks.erase(guv_current());
        declare_stack({});
#endif
        self->release();
    }

    // The stack the task runs on, for ASan (see declare_stack).
    std::size_t stack_bytes_ = 0;
    const void* stack_bottom_ = nullptr;

private:
    virtual R invoke() = 0;

    std::atomic<int> refs_{2};
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
// too, and it unwinds on its own. detach() opts out of waiting.
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
        detail::check(detail::switching([this] { return guv_join(id_); }), "guv_join");
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
        bool waited = id_ == guv_current() || detail::switching([this] { return guv_join(id_); }) == 0;
        if (!waited) guv_kill(id_);
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
// the hub's next turn. Throws std::system_error: ENOMEM, EAGAIN, EINVAL
// (stack below 16 KiB).
template <class F, class... Args>
[[nodiscard]] auto spawn_with_stack(std::size_t stack_size, F&& f, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    static_assert(!std::is_reference_v<R>, "a task returns a value: return a pointer or std::reference_wrapper");
    auto* s = new detail::bound<R, std::decay_t<F>, std::decay_t<Args>...>(std::forward<F>(f),
                                                                             std::forward<Args>(args)...);
    s->stack_bytes_ = stack_size ? stack_size : guv_stack_size();
    task_id id = guv_spawn_ex(&detail::state<R>::entry, static_cast<detail::state<R>*>(s), stack_size);
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

// Runs `f()`, a call into C code that may switch inside guv (a driver
// blocking in guv_trampoline), keeping the caller's in-flight C++
// exceptions its own meanwhile, as this header's own blocking calls do.
// Needed only for such calls made inside a catch block, or from a destructor
// while an exception unwinds.
template <class F>
decltype(auto) blocking(F&& f) {
    detail::switch_scope scope;
    return std::forward<F>(f)();
}

// Runs this OS thread's hub until no green thread is left. Throws
// std::system_error: EPERM (inside a green thread), EDEADLK (every green
// thread left waits for something that can never happen).
inline void run() { detail::check(detail::switching(guv_run), "guv_run"); }

// Lets every other ready green thread run once.
inline void yield() { detail::check(detail::switching(guv_yield), "guv_yield"); }

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
    detail::check(detail::switching([s] { return guv_sleep(s); }), "guv_sleep");
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
    return detail::check(detail::switching([=] { return guv_trampoline(fd, events); }), "guv_trampoline");
}

// As trampoline(fd, events), returning 0 when `timeout` passes first (a zero
// timeout polls once). An enclosing guv::timeout that passes first still
// throws ETIMEDOUT, so a loop around this call cannot spin past it.
template <class Rep, class Period>
int trampoline(int fd, int events, std::chrono::duration<Rep, Period> timeout) {
    double limit = detail::seconds(timeout);
    double start = guv_now();
    int rc = detail::switching([=] { return guv_trampoline_timeout(fd, events, limit < 0 ? 0 : limit); });
    if (rc >= 0) return rc;
    int err = errno;
    // The hub's deadline is whole nanoseconds from a clock read after `start`.
    if (err == ETIMEDOUT && guv_now() - start + 1e-6 >= limit) return 0;
    detail::throw_errno(err, "guv_trampoline_timeout");
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
        deadline_ = guv_now() + s;
        detail::check(guv_timeout_begin(s), "guv_timeout_begin");
    }
    ~timeout() { guv_timeout_end(); }
    timeout(const timeout&) = delete;
    timeout& operator=(const timeout&) = delete;

    // This scope's own deadline has passed (an outer one may pass earlier).
    bool expired() const noexcept { return guv_now() >= deadline_; }

private:
    double deadline_;
};

}  // namespace guv

#endif  // GUV_HPP
