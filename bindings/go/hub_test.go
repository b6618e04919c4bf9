package guv_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"guv.dev/guv"
	"guv.dev/guv/internal/testc"
)

// The main goroutine keeps the process's main thread (a lock taken in an
// init function holds into main), where TestMain runs onMainThread's work.
func init() { runtime.LockOSThread() }

var mainThreadWork = make(chan func())

// onMainThread runs f on the process's main thread.
func onMainThread(f func()) {
	done := make(chan struct{})
	mainThreadWork <- func() {
		defer close(done)
		f()
	}
	<-done
}

// Every test runs while the collector is forced to work: completions cross
// from C into Go, and cgo.Handles must keep their values alive meanwhile.
// Benchmarks run without it, to measure the binding rather than the collector.
// The tests run on another goroutine, the main one serving onMainThread.
func TestMain(m *testing.M) {
	flag.Parse()
	stop := make(chan struct{})
	if flag.Lookup("test.bench").Value.String() == "" {
		debug.SetGCPercent(1)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
					runtime.GC()
				}
			}
		}()
	}
	result := make(chan int)
	go func() { result <- m.Run() }()
	for {
		select {
		case f := <-mainThreadWork:
			f()
		case code := <-result:
			close(stop)
			os.Exit(code)
		}
	}
}

func start(t *testing.T) *guv.Hub {
	t.Helper()
	h, err := guv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// osThreads is the process's OS thread count, as the kernel reports it.
// settledGoroutines returns the goroutine count once hubs that earlier tests
// closed have finished going away: a baseline taken while they still wind
// down is too high.
func settledGoroutines() int {
	n := -1
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		if g := runtime.NumGoroutine(); g != n {
			n = g
		} else {
			break
		}
	}
	return n
}

func osThreads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

/* A routine's result comes back to the goroutine that ran it. */
func TestRunReturnsResult(t *testing.T) {
	h := start(t)
	arg := testc.NewArg(0.01, 42)
	defer arg.Free()
	got, err := h.Run(context.Background(), testc.Sleep.Fn(), arg.Ptr())
	if err != nil || got != 42 {
		t.Fatalf("Run = %d, %v; want 42, nil", got, err)
	}
}

/* A routine's -1/errno becomes a syscall.Errno. */
func TestErrnoBecomesError(t *testing.T) {
	h := start(t)
	arg := testc.NewArg(0, int(syscall.EPROTO))
	defer arg.Free()
	got, err := h.Run(context.Background(), testc.Fail.Fn(), arg.Ptr())
	if got != -1 || !errors.Is(err, syscall.EPROTO) {
		t.Fatalf("Run = %d, %v; want -1, EPROTO", got, err)
	}
}

/* Without memory for the green thread's stack Submit fails at once with
 * ENOMEM (the stack is taken there), rather than returning a Call that never
 * completes. The stacks asked for are 1 GiB, so the address-space limit
 * leaves Go and the race detector a wide margin and no room for an arena. */
func TestSubmitWithoutMemoryFails(t *testing.T) {
	h := start(t)
	arg := testc.NewArg(0, 7)
	defer arg.Free()
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := strconv.ParseUint(strings.Fields(string(statm))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	var saved syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &saved); err != nil {
		t.Fatal(err)
	}
	size := testc.SetStackSize(1 << 30)
	tight := syscall.Rlimit{Cur: pages*uint64(os.Getpagesize()) + 1<<30, Max: saved.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &tight); err != nil {
		t.Fatal(err)
	}
	call, err := h.Submit(context.Background(), testc.Sleep.Fn(), arg.Ptr(), nil)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &saved); err != nil {
		t.Fatal(err)
	}
	testc.SetStackSize(size)
	if !errors.Is(err, syscall.ENOMEM) {
		if call != nil {
			call.Wait() // before arg is freed
		}
		t.Fatalf("Submit: error %v; want ENOMEM", err)
	}
	if got, err := h.Run(context.Background(), testc.Sleep.Fn(), arg.Ptr()); got != 7 || err != nil {
		t.Fatalf("Run after the limit = %d, %v; want 7, nil", got, err)
	}
}

/* 1000 goroutines' sleeps overlap on the hub's one thread: the whole batch
 * takes about one sleep, and the process gains no OS thread per goroutine. */
func TestThousandRoutinesShareOneThread(t *testing.T) {
	const n, sleep = 1000, 0.2
	h := start(t)
	base := osThreads(t)
	stopSampling := sampleThreads(t)
	args := make([]testc.Arg, n)
	for i := range args {
		args[i] = testc.NewArg(sleep, i)
		defer args[i].Free()
	}
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range args {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := h.Run(context.Background(), testc.Sleep.Fn(), args[i].Ptr())
			if err != nil || got != i {
				errs <- fmt.Errorf("routine %d returned %d, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	max := stopSampling()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d routines sleeping %.1f s: %v; OS threads %d before, peak %d", n, sleep, took, base, max)
	if took > 10*time.Duration(sleep*float64(time.Second)) { // one after another: 200 s
		t.Errorf("took %v: the sleeps did not overlap", took)
	}
	if max >= 20 {
		t.Errorf("peak OS threads %d, want < 20", max)
	}
}

/* With one P, the hub's callbacks share it with the goroutines that wait
 * for them, and every completion still arrives. */
func TestOneProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 200
	h := start(t)
	arg := testc.NewArg(0.05, 3)
	defer arg.Free()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := h.Run(context.Background(), testc.Sleep.Fn(), arg.Ptr()); err != nil || got != 3 {
				errs <- fmt.Errorf("Run = %d, %v; want 3, nil", got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// sampleThreads samples the OS thread count every millisecond until the
// returned function is called, which returns the peak.
func sampleThreads(t *testing.T) func() int {
	peak := osThreads(t)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			if n := osThreads(t); n > peak {
				peak = n
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() int { close(stop); <-done; return peak }
}

/* A context deadline kills a routine blocked in guv_trampoline: it returns
 * ECANCELED, and Run reports both that and the context's error. */
func TestContextDeadlineKillsRoutine(t *testing.T) {
	h := start(t)
	arg := testc.NewArg(0, 0)
	defer arg.Free()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	got, err := h.Run(ctx, testc.WaitForever.Fn(), arg.Ptr())
	if got != -1 || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, syscall.ECANCELED) {
		t.Fatalf("Run = %d, %v; want -1, deadline exceeded and ECANCELED", got, err)
	}
	if !arg.Started() || !arg.Finished() {
		t.Fatalf("started %v, finished %v: the routine should have run and unwound", arg.Started(), arg.Finished())
	}
	if took := time.Since(began); took > time.Second {
		t.Fatalf("cancellation took %v", took)
	}
}

/* Cancel reaches a started routine through its published id. */
func TestCancelKillsStartedRoutine(t *testing.T) {
	h := start(t)
	arg := testc.NewArg(0, 0)
	defer arg.Free()
	call, err := h.Submit(context.Background(), testc.WaitForever.Fn(), arg.Ptr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for !arg.Started() {
		time.Sleep(time.Millisecond)
	}
	call.Cancel()
	if got, err := call.Wait(); got != -1 || !errors.Is(err, syscall.ECANCELED) {
		t.Fatalf("Wait = %d, %v; want -1, ECANCELED", got, err)
	}
	call.Cancel() // after completion: a no-op
}

/* A cancel that comes before the green thread has started (so before its id
 * is known) still wins: the routine never runs. */
func TestCancelBeforeStartNeverRuns(t *testing.T) {
	h := start(t)
	hog := testc.NewArg(0.2, 0)
	defer hog.Free()
	hogCall, err := h.Submit(context.Background(), testc.Hog.Fn(), hog.Ptr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for !hog.Started() {
		time.Sleep(time.Millisecond)
	}
	// The hub's thread is stuck in the hog: this submission waits in its inbox.
	arg := testc.NewArg(0, 0)
	defer arg.Free()
	call, err := h.Submit(context.Background(), testc.WaitForever.Fn(), arg.Ptr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	call.Cancel()
	if hog.Finished() {
		t.Fatal("the hog ended before the cancel: the race was not exercised")
	}
	if got, err := call.Wait(); got != -1 || !errors.Is(err, syscall.ECANCELED) {
		t.Fatalf("Wait = %d, %v; want -1, ECANCELED", got, err)
	}
	if arg.Started() {
		t.Fatal("a routine cancelled before it started ran anyway")
	}
	if _, err := hogCall.Wait(); err != nil {
		t.Fatal(err)
	}
}

/* Cancels racing submission, start and completion at every point: each
 * call still completes exactly once, with its value or with ECANCELED. */
func TestCancelRacesEveryStage(t *testing.T) {
	const n = 2000
	h := start(t)
	args := make([]testc.Arg, n)
	calls := make([]*guv.Call, n)
	for i := range calls {
		args[i] = testc.NewArg(float64(i%3)*0.001, i)
		defer args[i].Free()
		call, err := h.Submit(context.Background(), testc.Sleep.Fn(), args[i].Ptr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		calls[i] = call
		if i%2 == 0 {
			call.Cancel()
		} else {
			go call.Cancel()
		}
	}
	var cancelled int
	for i, call := range calls {
		got, err := call.Wait()
		switch {
		case err == nil && got == i:
		case errors.Is(err, syscall.ECANCELED) && got == -1:
			cancelled++
		default:
			t.Fatalf("call %d = %d, %v; want %d or ECANCELED", i, got, err, i)
		}
	}
	t.Logf("%d of %d calls cancelled, the rest completed first", cancelled, n)
	if cancelled == 0 {
		t.Error("no cancel took effect")
	}
}

/* A context already done refuses the submission outright, with an error
 * that matches both the context's and ECANCELED, as Run's doc says. */
func TestDoneContextIsRefused(t *testing.T) {
	h := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	arg := testc.NewArg(0, 0)
	defer arg.Free()
	if _, err := h.Run(ctx, testc.Sleep.Fn(), arg.Ptr()); !errors.Is(err, context.Canceled) ||
		!errors.Is(err, syscall.ECANCELED) {
		t.Fatalf("Run = %v; want context.Canceled and ECANCELED", err)
	}
	if arg.Started() {
		t.Fatal("the routine ran")
	}
}

/* A panic in a completion handler is recovered on the hub thread, becomes
 * the call's error, and the hub goes on serving. */
func TestCompletionHandlerPanicIsRecovered(t *testing.T) {
	h := start(t)
	arg := testc.NewArg(0.01, 7)
	defer arg.Free()
	var seen int
	call, err := h.Submit(context.Background(), testc.Sleep.Fn(), arg.Ptr(), func(result int, err error) {
		seen = result
		panic("boom")
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = call.Wait()
	var pe *guv.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("Wait error = %v; want a *PanicError with value boom and a stack", err)
	}
	if seen != 7 {
		t.Fatalf("handler saw result %d, want 7", seen)
	}
	if got, err := h.Run(context.Background(), testc.Sleep.Fn(), arg.Ptr()); err != nil || got != 7 {
		t.Fatalf("after the panic, Run = %d, %v; want 7, nil", got, err)
	}
}

// startWith starts a hub that the test closes itself and submits r(arg) to it.
func startWith(t *testing.T, r testc.Routine, arg testc.Arg) (*guv.Hub, *guv.Call) {
	t.Helper()
	h, err := guv.Start()
	if err != nil {
		t.Fatal(err)
	}
	call, err := h.Submit(context.Background(), r.Fn(), arg.Ptr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return h, call
}

/* Shutdown waits for the submissions under way, then refuses new ones. */
func TestShutdownWaitsThenRefuses(t *testing.T) {
	arg := testc.NewArg(0.1, 1)
	defer arg.Free()
	h, call := startWith(t, testc.Sleep, arg)
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	default:
		t.Fatal("Shutdown returned before the submission completed")
	}
	if got, err := call.Wait(); got != 1 || err != nil {
		t.Fatalf("Wait = %d, %v; want 1, nil", got, err)
	}
	if _, err := h.Submit(context.Background(), testc.Sleep.Fn(), arg.Ptr(), nil); !errors.Is(err, guv.ErrClosed) {
		t.Fatalf("Submit after Shutdown = %v; want ErrClosed", err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("Close after Shutdown = %v", err)
	}
}

/* Close does not wait for a routine that would never end: it cancels it, and
 * its error says why. */
func TestCloseCancelsInflight(t *testing.T) {
	arg := testc.NewArg(0, 0)
	defer arg.Free()
	h, call := startWith(t, testc.WaitForever, arg)
	for !arg.Started() {
		time.Sleep(time.Millisecond)
	}
	began := time.Now()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, err := call.Wait(); !errors.Is(err, guv.ErrClosed) || !errors.Is(err, syscall.ECANCELED) {
		t.Fatalf("Wait = %v; want ErrClosed and ECANCELED", err)
	}
	if !arg.Finished() {
		t.Fatal("the routine did not unwind")
	}
}

/* Shutdown whose context ends first cancels what is left and returns the
 * context's error. */
func TestShutdownDeadlineCancels(t *testing.T) {
	arg := testc.NewArg(0, 0)
	defer arg.Free()
	h, call := startWith(t, testc.WaitForever, arg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v; want DeadlineExceeded", err)
	}
	if _, err := call.Wait(); !errors.Is(err, syscall.ECANCELED) {
		t.Fatalf("Wait = %v; want ECANCELED", err)
	}
}

/* A Hub dropped without Close does not leak: once collected, its goroutine
 * ends and so does its OS thread (checked by the thread's own id: the Go
 * runtime may start and keep threads of its own meanwhile), even for a hub
 * whose goroutine started on the main thread, which Go never ends. */
func TestUnclosedHubIsCollected(t *testing.T) {
	goroutines := settledGoroutines()
	var tids []int
	func() {
		// Kept reachable until counted: a GC in between may collect an earlier hub.
		hubs := make([]*guv.Hub, 0, 3)
		for i := range 3 {
			// The last is started on the process's main thread, which Go never
			// ends: the hub must move off it.
			start := guv.Start
			if i == 2 {
				start = func() (*guv.Hub, error) {
					return guv.StartVia(func(serve func()) {
						go onMainThread(func() {
							if tid := syscall.Gettid(); tid != os.Getpid() {
								t.Errorf("onMainThread ran on thread %d, not the main thread %d", tid, os.Getpid())
							}
							serve()
						})
					})
				}
			}
			h, err := start()
			if err != nil {
				t.Fatal(err)
			}
			hubs = append(hubs, h)
			tid, err := h.Run(context.Background(), testc.Tid.Fn(), nil)
			if err != nil || tid <= 0 {
				t.Fatalf("Run(Tid) = %d, %v", tid, err)
			}
			tids = append(tids, tid)
		}
		if runtime.NumGoroutine() < goroutines+3 {
			t.Fatalf("%d goroutines with 3 hubs, %d before: the test cannot see hubs", runtime.NumGoroutine(), goroutines)
		}
		runtime.KeepAlive(hubs)
	}()
	alive := func() (n int) {
		for _, tid := range tids {
			if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); err == nil {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines || alive() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after GC: %d goroutines (%d before), %d of the 3 hub threads alive",
				runtime.NumGoroutine(), goroutines, alive())
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

/* Do returns a Go value made from the routine's result, and Run's error
 * without calling the conversion. */
func TestDoReturnsGoValue(t *testing.T) {
	h := start(t)
	arg := testc.NewArg(0.001, 21)
	defer arg.Free()
	got, err := guv.Do(context.Background(), h, testc.Sleep.Fn(), arg.Ptr(), func(rc int) (string, error) {
		return strconv.Itoa(rc * 2), nil
	})
	if got != "42" || err != nil {
		t.Fatalf("Do = %q, %v; want 42, nil", got, err)
	}
	fail := testc.NewArg(0, int(syscall.ENOENT))
	defer fail.Free()
	called := false
	_, err = guv.Do(context.Background(), h, testc.Fail.Fn(), fail.Ptr(), func(rc int) (int, error) {
		called = true
		return rc, nil
	})
	if !errors.Is(err, syscall.ENOENT) || called {
		t.Fatalf("Do = %v (convert called: %v); want ENOENT, not called", err, called)
	}
}

/* Submissions racing Shutdown are either refused or run to completion: none
 * is lost in the hub's inbox when its thread stops. */
func TestShutdownRacesSubmit(t *testing.T) {
	h, err := guv.Start()
	if err != nil {
		t.Fatal(err)
	}
	arg := testc.NewArg(0, 5)
	defer arg.Free()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var calls []*guv.Call
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				call, err := h.Submit(context.Background(), testc.Sleep.Fn(), arg.Ptr(), nil)
				if errors.Is(err, guv.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				calls = append(calls, call)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, call := range calls {
		select {
		case <-call.Done():
		case <-time.After(time.Second):
			t.Fatal("a submission accepted before Close never completed")
		}
		if got, err := call.Wait(); err != nil || got != 5 {
			t.Fatalf("Wait = %d, %v; want 5, nil", got, err)
		}
	}
	t.Logf("%d submissions accepted before Close, all completed", len(calls))
}

/* guv's stack-overflow handler passes other faults on: Go still turns a nil
 * dereference into a recoverable panic while a hub runs. */
func TestGoFaultsStillPanic(t *testing.T) {
	h := start(t)
	arg := testc.NewArg(0.01, 0)
	defer arg.Free()
	if _, err := h.Run(context.Background(), testc.Sleep.Fn(), arg.Ptr()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if v, ok := recover().(runtime.Error); !ok {
			t.Fatalf("recovered %v; want a runtime.Error", v)
		}
	}()
	var p *int
	_ = *p
}

/* One submission's round trip: spawn through the hub's inbox, one green
 * thread, a callback into Go on the hub stack, a channel wake-up. */
func BenchmarkRun(b *testing.B) {
	h, err := guv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	arg := testc.NewArg(0, 1)
	defer arg.Free()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Run(context.Background(), testc.Sleep.Fn(), arg.Ptr()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
