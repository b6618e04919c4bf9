// Package testc holds the C routines the binding's tests submit (tests
// cannot use cgo themselves).
package testc

/*
#cgo pkg-config: guv
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <guv.h>

typedef struct {
	double seconds;
	int value;
	_Atomic int started;
	_Atomic int finished;
} testc_arg;

// Sleeps cooperatively, then returns `value` (or -1 with errno).
static int testc_sleep(void *p)
{
	testc_arg *a = p;
	atomic_store(&a->started, 1);
	int rc = guv_sleep(a->seconds);
	atomic_store(&a->finished, 1);
	return rc < 0 ? -1 : a->value;
}

// Fails with errno `value`.
static int testc_fail(void *p)
{
	testc_arg *a = p;
	errno = a->value;
	return -1;
}

// Waits for input on a pipe that never gets any: only a kill ends it.
static int testc_wait_forever(void *p)
{
	testc_arg *a = p;
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	atomic_store(&a->started, 1);
	int rc = guv_trampoline(fds[0], GUV_READ);
	int err = errno;
	guv_close(fds[0]);
	close(fds[1]);
	atomic_store(&a->finished, 1);
	errno = err;
	return rc;
}

// Holds the hub's thread for `seconds` without yielding, as a badly behaved
// routine would: everything submitted meanwhile waits in the hub's inbox.
static int testc_hog(void *p)
{
	testc_arg *a = p;
	atomic_store(&a->started, 1);
	struct timespec ts = { 0, (long)(a->seconds * 1e9) };
	nanosleep(&ts, NULL);
	atomic_store(&a->finished, 1);
	return 0;
}

// Returns the id of the OS thread it runs on: the hub's.
static int testc_tid(void *p)
{
	(void)p;
	return (int)syscall(SYS_gettid);
}

static void *testc_fn(int which)
{
	switch (which) {
	case 0: return (void *)testc_sleep;
	case 1: return (void *)testc_fail;
	case 2: return (void *)testc_wait_forever;
	case 3: return (void *)testc_hog;
	default: return (void *)testc_tid;
	}
}
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// Routine names one of the C routines above.
type Routine int

const (
	Sleep       Routine = iota // sleeps Arg.Seconds with guv_sleep, returns Arg.Value
	Fail                       // returns -1 with errno Arg.Value
	WaitForever                // waits on a silent pipe until killed
	Hog                        // blocks the hub's thread for Arg.Seconds
	Tid                        // returns the hub's OS thread id
)

// Fn is the C function pointer of r, for guv.Hub.Submit.
func (r Routine) Fn() unsafe.Pointer { return C.testc_fn(C.int(r)) }

// Arg is a routine's argument, in C memory.
type Arg struct{ c *C.testc_arg }

// NewArg allocates an argument; Free it once the submission has completed.
func NewArg(seconds float64, value int) Arg {
	a := Arg{(*C.testc_arg)(C.calloc(1, C.sizeof_testc_arg))}
	a.c.seconds = C.double(seconds)
	a.c.value = C.int(value)
	return a
}

// SetStackSize sets guv's default stack size for green threads and returns
// the one it replaces.
func SetStackSize(size uint64) uint64 {
	old := uint64(C.guv_stack_size())
	if C.guv_set_stack_size(C.size_t(size)) != 0 {
		panic("guv_set_stack_size refused the size")
	}
	return old
}

func (a Arg) Ptr() unsafe.Pointer { return unsafe.Pointer(a.c) }
func (a Arg) Free()               { C.free(unsafe.Pointer(a.c)) }

// Started and Finished tell whether the routine got that far (C atomics,
// read through Go's, which are the same instructions on the same memory).
func (a Arg) Started() bool  { return atomic.LoadInt32((*int32)(unsafe.Pointer(&a.c.started))) != 0 }
func (a Arg) Finished() bool { return atomic.LoadInt32((*int32)(unsafe.Pointer(&a.c.finished))) != 0 }
