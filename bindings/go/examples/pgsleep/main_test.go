package main

import (
	"context"
	"errors"
	"math"
	"syscall"
	"testing"
	"time"

	"guv.dev/guv"
)

/* 1000 goroutines each run one pg_sleep(0.2) query through the hub, over 40
 * connections (the server allows 100, shared with other suites), so the
 * queries run in 25 waves of 40 at once: the batch takes about 25 × 0.2 s,
 * not 1000 × 0.2 s. No OS thread waits in a query: none is ever blocked in
 * poll(2), where libpq waits (the naive test below finds one per query in
 * flight there). Nor does the thread count grow with the queries in
 * flight: guv adds its hub's thread and up to 8 offload threads (pq.h runs
 * the connects there), and Go a thread whenever a cgo call outlasts a
 * sysmon tick, which a loaded machine makes likelier (19 more than before
 * the run, once, in CI; 9-11 more is usual). The growth must stay under
 * the 40 that a thread per query in flight would take. What this does not
 * prove is 1000 queries in flight at once: 40 are. */
func TestThousandGoroutinesQueryOnFewThreads(t *testing.T) {
	const n, conns, sleep = 1000, 40, 0.2
	r, err := RunGuv(Conninfo(), n, conns, sleep)
	if err != nil {
		t.Fatalf("PostgreSQL at %q (set GUV_TEST_PG): %v", Conninfo(), err)
	}
	ideal := time.Duration(math.Ceil(float64(n)/conns) * sleep * float64(time.Second))
	t.Logf("guv: %d queries of pg_sleep(%g) over %d connections in %v (ideal %v); OS threads %d before, peak %d, peak in poll(2) %d",
		n, sleep, conns, r.Took, ideal, r.BaseThreads, r.PeakThreads, r.PeakInPoll)
	if r.Took < ideal*95/100 {
		t.Errorf("took %v, less than the %v the server must have slept", r.Took, ideal)
	}
	if r.Took > ideal*2 {
		t.Errorf("took %v, more than twice %v: the connections did not work at once", r.Took, ideal)
	}
	if r.PeakInPoll < 0 {
		t.Fatal("no thread census: /proc/self/task/*/syscall unreadable, or an architecture threads() does not know")
	}
	if r.PeakInPoll != 0 {
		t.Errorf("%d OS threads at once blocked in poll(2), want none", r.PeakInPoll)
	}
	if grew := r.PeakThreads - r.BaseThreads; grew >= conns {
		t.Errorf("OS threads grew by %d for %d queries in flight, want fewer", grew, conns)
	}
}

/* The comparison: blocking PQexec in 40 goroutines costs about one OS thread
 * per query in flight, since each cgo call holds its thread until it returns.
 * Each goroutine also connects first (a backend fork on the server), so the
 * sleep is long enough for all 40 to be in flight at once even on a loaded
 * machine: with 0.5 s, early queries ended and gave their threads back before
 * the last had connected, and the count grew by only 22 at load 10. */
func TestNaiveCgoNeedsAThreadPerQuery(t *testing.T) {
	const n, sleep = 40, 2.0
	r, err := RunNaive(Conninfo(), n, sleep)
	if err != nil {
		t.Fatalf("PostgreSQL at %q (set GUV_TEST_PG): %v", Conninfo(), err)
	}
	t.Logf("naive: %d blocking queries of pg_sleep(%g) in %v; OS threads %d before, peak %d, peak in poll(2) %d",
		n, sleep, r.Took, r.BaseThreads, r.PeakThreads, r.PeakInPoll)
	if grew := r.PeakThreads - r.BaseThreads; grew < n*3/4 {
		t.Errorf("OS threads grew by %d for %d blocking queries; expected about one each", grew, n)
	}
	// The census the test above relies on sees libpq's waits.
	if r.PeakInPoll < n*3/4 {
		t.Errorf("%d OS threads at once blocked in poll(2) for %d blocking queries; expected about one each", r.PeakInPoll, n)
	}
}

/* A context deadline cancels a query on the server (guv/pq.h cancels and
 * drains on kill) and leaves the connection usable for the next query. */
func TestDeadlineCancelsQueryAndKeepsConnection(t *testing.T) {
	hub, err := guv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	pool := NewPool(hub, Conninfo(), 1)
	defer pool.Close()
	if _, err := pool.Query(context.Background(), "SELECT 1"); err != nil {
		t.Fatalf("PostgreSQL at %q (set GUV_TEST_PG): %v", Conninfo(), err)
	}
	before := pool.peek()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err = pool.Query(ctx, "SELECT pg_sleep(30)")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, syscall.ECANCELED) {
		t.Fatalf("Query = %v; want deadline exceeded and ECANCELED", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("the cancelled query took %v", took)
	}
	if after := pool.peek(); after == nil || after != before {
		t.Fatal("the connection was dropped after the cancelled query")
	}
	if rows, err := pool.Query(context.Background(), "SELECT generate_series(1, 3)"); err != nil || rows != 3 {
		t.Fatalf("query after the cancel = %d, %v; want 3 rows", rows, err)
	}
}
