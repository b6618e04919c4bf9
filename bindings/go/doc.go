// Package guv runs blocking C code — database drivers above all — as guv
// green threads on one OS thread of a Go process, so that a thousand
// goroutines waiting on a C driver cost a thousand goroutines, not a
// thousand OS threads.
//
// # Why a hub service
//
// A goroutine that calls into C holds an OS thread for as long as the C call
// blocks: a thousand goroutines blocked in PQexec are a thousand OS threads.
// guv makes such C code cooperative (the driver calls guv_trampoline where it
// would block), but Go code itself can never run on a guv green thread: a
// green thread runs on a stack that the Go runtime did not allocate and does
// not know, so the first stack check of Go code there fails ("morestack on
// g0"), and a Go callback whose C frames are switched away and resumed later
// leaves the runtime's record of the cgo call invalid ("exitsyscall: syscall
// frame is no longer valid"). No stack size fixes either.
//
// So the binding keeps the two worlds apart. [Start] runs a guv hub on an OS
// thread of its own (a goroutine locked to it, blocked in guv_run). Any
// goroutine submits C work to it — a C function `int f(void *arg)` and its
// argument — with [Hub.Submit] or [Hub.Run], which hand it to the hub with
// guv_hub_spawn (thread-safe; an eventfd wakes the hub). Each submission runs
// as a green thread; when its function returns, the green thread calls back
// into Go through guv_call_on_hub, which runs the callback on the hub
// thread's own stack, where Go code is safe. The callback finds the Go side
// of the submission through a [runtime/cgo.Handle], runs the optional
// completion handler (a panic there is recovered) and wakes the waiting
// goroutine. Cancellation ([Call.Cancel], or the Context given to Submit)
// becomes guv_hub_kill: the routine's pending and later blocking guv calls
// fail with ECANCELED, so it unwinds by itself.
//
// # Rules for the C routine
//
//   - It runs on a green thread: wherever it would block it must call
//     guv_trampoline (or a guv-aware driver, such as guv/pq.h), or run under
//     libguv_hook.so (LD_PRELOAD), which makes libc's blocking calls do so
//     for an unmodified driver; otherwise it stalls every other submission.
//   - It must not call into Go.
//   - It is passed through a getter in the cgo preamble
//     (`static void *f_fn(void) { return (void *)f; }`, then C.f_fn()):
//     cgo cannot take the address of a static C function.
//   - Its argument must stay valid until the submission completes: C memory
//     (C.malloc) or nil, per the cgo pointer passing rules, since C keeps it
//     after Submit returns. Go memory is not detected; pass Go values as a
//     runtime/cgo.Handle.
//
// Completion handlers run on the hub thread between green threads: they
// must be short and must not block. In particular they must not wait for
// another submission (Run, Wait) or Close the hub: the hub thread would
// wait for itself.
//
// Close cancels what is in flight; Shutdown lets it finish first. A Hub
// dropped without either is closed by its finalizer.
//
// # Threads
//
// A hub adds one OS thread to the process, however many goroutines submit
// to it, and the thread ends when the hub closes. It is never the process's
// main thread, which Go never ends: a hub whose goroutine starts there hands
// over to another goroutine before it begins. Code that uses guv_offload (guv/pq.h does, for connecting and for
// cancelling a query on the server) also starts guv's offload pool, up to
// GUV_OFFLOAD_THREADS threads (8 by default), which stay for the life of
// the process.
package guv
