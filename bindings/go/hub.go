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
// for concurrent use.
type Hub struct {
	hub *C.guv_hub
	// mu orders submissions before Close; closed refuses new ones.
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
	exited   chan struct{}
	runErr   error
}

// Start starts a hub on a new OS thread.
func Start() (*Hub, error) {
	h := &Hub{exited: make(chan struct{})}
	ready := make(chan error, 1)
	go h.serve(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Hub) serve(ready chan<- error) {
	// Never unlocked: when serve returns the thread exits, and the hub's
	// thread-local state goes with it.
	runtime.LockOSThread()
	defer close(h.exited)
	hub, err := C.guvgo_hub_open()
	if hub == nil {
		ready <- fmt.Errorf("guv: starting a hub: %w", err)
		return
	}
	h.hub = hub
	ready <- nil
	if rc, err := C.guv_run(); rc != 0 {
		h.runErr = fmt.Errorf("guv: guv_run: %w", err)
	}
	C.guv_hub_release(hub)
}

// Close refuses new submissions, waits for those under way to complete, and
// stops the hub's thread. Cancel the ones that must not be waited for first.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.exited
		return h.runErr
	}
	h.closed = true
	h.mu.Unlock()
	// Unhold only once nothing is in flight: a submission still in the
	// hub's inbox when the last hold goes could be dropped by guv_run.
	h.inflight.Wait()
	if rc, err := C.guv_hub_unhold(h.hub); rc != 0 {
		return fmt.Errorf("guv: guv_hub_unhold: %w", err)
	}
	<-h.exited
	return h.runErr
}

// Call is one submission of a C routine to a hub.
type Call struct {
	hub  *Hub
	done chan struct{}
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
// fn is a C function `int fn(void *arg)` (in cgo, unsafe.Pointer(C.fn))
// returning >= 0, or -1 with errno set; arg is passed as is and must be C
// memory or nil (see the package doc). When ctx is done before fn returns,
// the submission is cancelled as by Call.Cancel.
//
// onDone, if not nil, runs on the hub thread as soon as fn has returned,
// before Wait returns; it must not block. A panic in it is recovered and
// becomes the Call's error, as a *PanicError.
func (h *Hub) Submit(ctx context.Context, fn, arg unsafe.Pointer, onDone func(result int, err error)) (*Call, error) {
	if fn == nil {
		return nil, fmt.Errorf("guv: Submit: %w", syscall.EINVAL)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
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
	// The green thread may complete (and free call.c) before this returns,
	// so the C call gets the pointer by value and nothing reads it after.
	if rc, err := C.guvgo_submit(h.hub, call.c); rc != 0 {
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
		C.guvgo_cancel(c.hub.hub, c.c)
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
		}
	}
	if call.onDone != nil {
		call.runHandler()
	}
	close(call.done)
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
