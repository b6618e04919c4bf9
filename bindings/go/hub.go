package guv

/*
#cgo pkg-config: guv
#include <errno.h>
#include <stdlib.h>
#include "call.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// ErrClosed is returned by Submit and Run after Close.
var ErrClosed = errors.New("guv: hub closed")

// PanicError is the error of a submission whose completion handler panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("guv: completion handler panicked: %v", e.Value)
}

// Hub is a guv hub running on an OS thread of its own. Its methods are safe
// for concurrent use. A Hub dropped without Close is closed when the garbage
// collector finds it unreachable (no Call of it in flight): its goroutine and
// OS thread end then.
type Hub struct {
	*hub
}

// hub is what the serving goroutine uses; it never refers to the Hub, so
// that a dropped Hub can be collected and its finalizer close the hub.
type hub struct {
	native *C.guv_hub
	// mu orders submissions before Close; closed refuses new ones.
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
	// calls are the submissions in flight, for Close to cancel.
	callsMu sync.Mutex
	calls   map[*Call]struct{}
	exited  chan struct{}
	runErr  error
}

// Start starts a hub on an OS thread of its own, never the process's main
// thread (see serve).
func Start() (*Hub, error) {
	return start(func(serve func()) { go serve() })
}

// start: launch starts serve on a goroutine of its own.
func start(launch func(serve func())) (*Hub, error) {
	inner := &hub{exited: make(chan struct{}), calls: make(map[*Call]struct{})}
	ready := make(chan error, 1)
	launch(func() { inner.serve(ready) })
	if err := <-ready; err != nil {
		return nil, err
	}
	h := &Hub{inner}
	runtime.SetFinalizer(h, func(h *Hub) { go h.hub.shutdown(nil) })
	return h, nil
}

func (h *hub) serve(ready chan<- error) {
	// Never unlocked: when serve returns the thread exits, and the hub's
	// thread-local state goes with it.
	runtime.LockOSThread()
	if syscall.Gettid() == syscall.Getpid() {
		h.serveOffMainThread(ready)
		return
	}
	defer close(h.exited)
	hub, err := C.guvgo_hub_open()
	if hub == nil {
		ready <- fmt.Errorf("guv: starting a hub: %w", err)
		return
	}
	h.native = hub
	ready <- nil
	if rc, err := C.guv_run(); rc != 0 {
		h.runErr = fmt.Errorf("guv: guv_run: %w", err)
	}
	C.guv_hub_release(hub)
}

// serveOffMainThread has another goroutine serve the hub. Go never ends the
// process's main thread (when a goroutine locked to it exits, Go parks the
// thread instead), so a hub there would keep its guv state until the process
// exits. This goroutine holds the main thread until the other has locked
// its own, so the scheduler cannot run that one here.
func (h *hub) serveOffMainThread(ready chan<- error) {
	started := make(chan error, 1)
	go h.serve(started)
	ready <- <-started
	runtime.UnlockOSThread()
}

// Close refuses new submissions, cancels those under way (their routines'
// blocking guv calls fail with ECANCELED; their error matches both ErrClosed
// and syscall.ECANCELED), waits for them to return, and stops the hub's
// thread. Shutdown waits for them to finish instead.
func (h *Hub) Close() error {
	runtime.SetFinalizer(h, nil)
	return h.shutdown(nil)
}

// Shutdown refuses new submissions and waits for those under way to finish
// on their own; if ctx ends first, it cancels them as Close does and returns
// ctx.Err() once they have returned and the hub's thread has stopped.
func (h *Hub) Shutdown(ctx context.Context) error {
	runtime.SetFinalizer(h, nil)
	return h.shutdown(ctx)
}

// shutdown: with a nil ctx, cancels what is in flight at once.
func (h *hub) shutdown(ctx context.Context) error {
	h.mu.Lock()
	first := !h.closed
	h.closed = true
	h.mu.Unlock()
	if !first {
		<-h.exited
		return h.runErr
	}
	idle := make(chan struct{})
	go func() {
		h.inflight.Wait()
		close(idle)
	}()
	var ctxErr error
	if ctx != nil {
		select {
		case <-idle:
		case <-ctx.Done():
			ctxErr = ctx.Err()
		}
	}
	select {
	case <-idle:
	default:
		h.cancelAll()
		<-idle
	}
	// Unhold only once nothing is in flight: a submission still in the
	// hub's inbox when the last hold goes could be dropped by guv_run.
	if rc, err := C.guv_hub_unhold(h.native); rc != 0 {
		return fmt.Errorf("guv: guv_hub_unhold: %w", err)
	}
	<-h.exited
	if ctxErr != nil {
		return ctxErr
	}
	return h.runErr
}

func (h *hub) cancelAll() {
	h.callsMu.Lock()
	calls := make([]*Call, 0, len(h.calls))
	for c := range h.calls {
		calls = append(calls, c)
	}
	h.callsMu.Unlock()
	for _, c := range calls {
		c.closing.Store(true)
		c.Cancel()
	}
}

// Call is one submission of a C routine to a hub.
type Call struct {
	hub  *Hub
	done chan struct{}
	// closing: cancelled by Close, not by its context.
	closing atomic.Bool
	// Set once, by the completion callback, before done is closed.
	result int
	err    error

	onDone  func(result int, err error)
	ctx     context.Context
	stopCtx func() bool
	handle  cgo.Handle

	// mu guards c, the C side, freed (and set to nil) at completion.
	mu sync.Mutex
	c  *C.guvgo_call
}

// Submit starts fn(arg) as a green thread on the hub and returns at once.
//
// fn is a C function `int fn(void *arg)` returning >= 0, or -1 with errno
// set. cgo cannot take the address of a static C function (the program
// fails to link), so return it from a getter in the preamble,
// `static void *query_fn(void) { return (void *)query; }`, and pass
// C.query_fn(); unsafe.Pointer(C.fn) works only for a non-static fn.
//
// arg is passed as is and must be C memory (C.malloc) or nil: C keeps it
// after Submit returns, which the cgo pointer rules forbid for Go memory.
// Submit cannot tell the two apart; Go memory works by accident until the
// collector moves or frees it, and GOEXPERIMENT=cgocheck2 crashes on it.
// To hand Go values to C, pass a runtime/cgo.Handle.
//
// When ctx is done before fn returns, the submission is cancelled as by
// Call.Cancel; a ctx already done refuses it (the error matches ctx.Err()
// and syscall.ECANCELED).
//
// onDone, if not nil, runs on the hub thread as soon as fn has returned,
// before Wait returns; it must not block. A panic in it is recovered and
// becomes the Call's error, as a *PanicError.
//
// The green thread's stack is taken here: without memory for it Submit
// fails (the error matches syscall.ENOMEM), and a Call it returns runs.
func (h *Hub) Submit(ctx context.Context, fn, arg unsafe.Pointer, onDone func(result int, err error)) (*Call, error) {
	if fn == nil {
		return nil, fmt.Errorf("guv: Submit: %w", syscall.EINVAL)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("guv: %w (%w)", err, syscall.ECANCELED)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return nil, ErrClosed
	}
	call := &Call{hub: h, done: make(chan struct{}), onDone: onDone, ctx: ctx}
	call.c = (*C.guvgo_call)(C.calloc(1, C.sizeof_guvgo_call))
	if call.c == nil {
		return nil, fmt.Errorf("guv: Submit: %w", syscall.ENOMEM)
	}
	call.c.routine = C.guvgo_routine(fn)
	call.c.arg = arg
	call.handle = cgo.NewHandle(call)
	call.c.handle = C.uintptr_t(call.handle)
	h.inflight.Add(1)
	h.callsMu.Lock()
	h.calls[call] = struct{}{}
	h.callsMu.Unlock()
	// The green thread may complete (and free call.c) before this returns,
	// so the C call gets the pointer by value and nothing reads it after.
	if rc, err := C.guvgo_submit(h.native, call.c); rc != 0 {
		h.callsMu.Lock()
		delete(h.calls, call)
		h.callsMu.Unlock()
		h.inflight.Done()
		call.handle.Delete()
		C.free(unsafe.Pointer(call.c))
		return nil, fmt.Errorf("guv: guv_hub_spawn: %w", err)
	}
	call.mu.Lock()
	if call.c != nil {
		call.stopCtx = context.AfterFunc(ctx, call.Cancel)
	}
	call.mu.Unlock()
	return call, nil
}

// Run submits fn(arg) and waits for it: fn's result, or its errno as a
// syscall.Errno. When ctx ended it, the error matches both ctx.Err() and
// syscall.ECANCELED with errors.Is.
func (h *Hub) Run(ctx context.Context, fn, arg unsafe.Pointer) (int, error) {
	call, err := h.Submit(ctx, fn, arg, nil)
	if err != nil {
		return -1, err
	}
	return call.Wait()
}

// Do runs fn(arg) as Run does and turns a successful result into a Go value
// with convert, called in the calling goroutine once fn has returned (so it
// may read what fn left in arg's C memory). Errors are Run's, or convert's.
func Do[T any](ctx context.Context, h *Hub, fn, arg unsafe.Pointer, convert func(result int) (T, error)) (T, error) {
	rc, err := h.Run(ctx, fn, arg)
	if err != nil {
		var zero T
		return zero, err
	}
	return convert(rc)
}

// Done is closed once the routine has returned and its completion handler has run.
func (c *Call) Done() <-chan struct{} { return c.done }

// Wait waits for the routine and returns its result, as Run does.
func (c *Call) Wait() (int, error) {
	<-c.done
	return c.result, c.err
}

// Cancel asks the routine to end: if it has not started it never runs, else
// its pending and later blocking guv calls fail with ECANCELED. A routine
// that finishes anyway keeps its result. Safe to call at any time, repeatedly.
func (c *Call) Cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		C.guvgo_cancel(c.hub.native, c.c)
	}
}

//export guvgoComplete
func guvgoComplete(handle C.uintptr_t, result, err C.int) {
	// On the hub thread's own stack, called by guv_call_on_hub from the
	// green thread that ran the routine: nothing here may block for long.
	h := cgo.Handle(handle)
	call := h.Value().(*Call)
	h.Delete()
	call.mu.Lock()
	C.free(unsafe.Pointer(call.c))
	call.c = nil
	stop := call.stopCtx
	call.mu.Unlock()
	if stop != nil {
		stop()
	}
	call.result = int(result)
	if result < 0 {
		call.err = syscall.Errno(err)
		if err == C.ECANCELED && call.ctx.Err() != nil {
			call.err = fmt.Errorf("guv: %w (%w)", call.ctx.Err(), syscall.ECANCELED)
		} else if err == C.ECANCELED && call.closing.Load() {
			call.err = fmt.Errorf("guv: %w (%w)", ErrClosed, syscall.ECANCELED)
		}
	}
	if call.onDone != nil {
		call.runHandler()
	}
	close(call.done)
	call.hub.callsMu.Lock()
	delete(call.hub.calls, call)
	call.hub.callsMu.Unlock()
	call.hub.inflight.Done()
}

// runHandler runs the completion handler; a panic must not unwind into the
// C frames of the hub, so it is recovered and kept as the Call's error.
func (c *Call) runHandler() {
	defer func() {
		if v := recover(); v != nil {
			c.err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	c.onDone(c.result, c.err)
}
