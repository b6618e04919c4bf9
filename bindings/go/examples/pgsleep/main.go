// Command pgsleep shows why a Go program hands its C database driver to a
// guv hub: many goroutines run PostgreSQL queries through libpq (made
// cooperative by guv/pq.h) on one OS thread, while the plain cgo way needs
// one OS thread per query in flight.
//
//	pgsleep -n 1000 -conns 40 -sleep 0.2   # guv: 1000 goroutines, 40 connections
//	pgsleep -naive 40 -naive-sleep 0.5     # then blocking PQexec in 40 goroutines
//
// The server is GUV_TEST_PG (a libpq conninfo), by default
// "host=127.0.0.1 port=5432 dbname=test user=postgres".
package main

/*
#cgo pkg-config: guv libpq
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <guv/pq.h>

// Everything a query routine needs, in C memory: C keeps it while the
// query runs on the hub, after the goroutine's call into C has returned.
typedef struct {
	const char *conninfo;
	const char *sql;
	PGconn *conn; // NULL: connect first
	char msg[256];
} pgq;

static int pgq_fail(pgq *q, const char *what, int err)
{
	snprintf(q->msg, sizeof q->msg, "%s: %s", what, q->conn ? PQerrorMessage(q->conn) : "");
	errno = err ? err : EIO;
	return -1;
}

// Connects if needed, then runs the query; returns its row count. Runs on a
// guv green thread: every wait suspends only this green thread.
static int pgq_run(void *p)
{
	pgq *q = p;
	if (q->conn == NULL) {
		q->conn = guv_PQconnectdb(q->conninfo);
		if (PQstatus(q->conn) != CONNECTION_OK)
			return pgq_fail(q, "connect", errno);
	}
	PGresult *res = guv_PQexec(q->conn, q->sql);
	int err = errno;
	ExecStatusType st = PQresultStatus(res);
	int rows = PQntuples(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		snprintf(q->msg, sizeof q->msg, "query: %s", PQresultErrorMessage(res));
	PQclear(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		errno = err ? err : EIO;
		return -1;
	}
	return rows;
}

static void *pgq_run_fn(void) { return (void *)pgq_run; }

// A query's C memory, made and freed in one cgo call each: every cgo call
// is a point where Go may hand the goroutine's P to a new OS thread.
static pgq *pgq_new(const char *conninfo, _GoString_ sql, PGconn *conn)
{
	size_t len = _GoStringLen(sql);
	pgq *q = calloc(1, sizeof *q + len + 1);
	if (q == NULL)
		return NULL;
	char *text = (char *)(q + 1);
	if (len > 0)
		memcpy(text, _GoStringPtr(sql), len);
	q->conninfo = conninfo;
	q->sql = text;
	q->conn = conn;
	return q;
}

// Frees q and returns its connection if it is usable: pq.h leaves one
// usable after a cancelled query; one that is not (or never connected) is
// closed, and NULL tells the pool to reconnect on next use.
static PGconn *pgq_free(pgq *q)
{
	PGconn *conn = q->conn;
	if (conn != NULL && PQstatus(conn) != CONNECTION_OK) {
		PQfinish(conn);
		conn = NULL;
	}
	free(q);
	return conn;
}

// The naive way: libpq blocking the calling OS thread from connect to result.
static int pg_blocking(const char *conninfo, const char *sql, char *msg, size_t len)
{
	PGconn *conn = PQconnectdb(conninfo);
	int rows = -1;
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(msg, len, "connect: %s", PQerrorMessage(conn));
	} else {
		PGresult *res = PQexec(conn, sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			rows = PQntuples(res);
		else
			snprintf(msg, len, "query: %s", PQresultErrorMessage(res));
		PQclear(res);
	}
	PQfinish(conn);
	return rows;
}
*/
import "C"

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"guv.dev/guv"
)

// pgq_run as a routine for Hub.Run, fetched once rather than by a cgo call per query.
var pgqRun = C.pgq_run_fn()

// Pool runs queries on a guv hub over at most Size connections, opened on
// first use and reopened after one breaks.
type Pool struct {
	hub      *guv.Hub
	conninfo *C.char
	slots    chan *C.PGconn // nil: not connected yet
}

func NewPool(hub *guv.Hub, conninfo string, size int) *Pool {
	p := &Pool{hub: hub, conninfo: C.CString(conninfo), slots: make(chan *C.PGconn, size)}
	for range size {
		p.slots <- nil
	}
	return p
}

// Query runs sql on a free connection and returns its row count. The
// calling goroutine waits on a channel; the query runs on the hub's thread.
func (p *Pool) Query(ctx context.Context, sql string) (int, error) {
	var conn *C.PGconn
	select {
	case conn = <-p.slots:
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	q := C.pgq_new(p.conninfo, sql, conn)
	if q == nil {
		p.slots <- conn
		return -1, fmt.Errorf("query: %w", syscall.ENOMEM)
	}
	rows, err := p.hub.Run(ctx, pgqRun, unsafe.Pointer(q))
	if err != nil {
		err = fmt.Errorf("%s: %w", strings.TrimSpace(C.GoString(&q.msg[0])), err)
	}
	p.slots <- C.pgq_free(q)
	if err != nil {
		return -1, err
	}
	return rows, nil
}

// peek is the connection in the pool's only slot (for tests with size 1).
func (p *Pool) peek() *C.PGconn {
	conn := <-p.slots
	p.slots <- conn
	return conn
}

// Close closes the connections; call it once no Query is under way.
func (p *Pool) Close() {
	for range cap(p.slots) {
		if conn := <-p.slots; conn != nil {
			C.PQfinish(conn)
		}
	}
	C.free(unsafe.Pointer(p.conninfo))
}

// Report is what one run measured.
type Report struct {
	Queries     int
	Took        time.Duration
	BaseThreads int // OS threads of the process before the run
	PeakThreads int // and at most during it
	PeakInPoll  int // most OS threads at once blocked in poll(2): libpq waiting on its socket (-1: no census)
}

// RunGuv runs n goroutines, each one query of pg_sleep(sleep), through a
// guv hub over `conns` connections.
func RunGuv(conninfo string, n, conns int, sleep float64) (Report, error) {
	hub, err := guv.Start()
	if err != nil {
		return Report{}, err
	}
	defer hub.Close()
	pool := NewPool(hub, conninfo, conns)
	defer pool.Close()
	sql := fmt.Sprintf("SELECT pg_sleep(%g)", sleep)
	return measure(n, func(int) error {
		rows, err := pool.Query(context.Background(), sql)
		if err == nil && rows != 1 {
			err = fmt.Errorf("pg_sleep returned %d rows", rows)
		}
		return err
	})
}

// RunNaive runs n goroutines, each connecting and running one query of
// pg_sleep(sleep) with plain blocking libpq calls.
func RunNaive(conninfo string, n int, sleep float64) (Report, error) {
	ci := C.CString(conninfo)
	defer C.free(unsafe.Pointer(ci))
	sql := C.CString(fmt.Sprintf("SELECT pg_sleep(%g)", sleep))
	defer C.free(unsafe.Pointer(sql))
	return measure(n, func(int) error {
		var msg [256]C.char
		if rows := C.pg_blocking(ci, sql, &msg[0], C.size_t(len(msg))); rows != 1 {
			return errors.New(strings.TrimSpace(C.GoString(&msg[0])))
		}
		return nil
	})
}

// measure runs work in n goroutines at once, sampling the OS threads.
func measure(n int, work func(i int) error) (Report, error) {
	r := Report{Queries: n}
	r.BaseThreads, _ = threads()
	r.PeakThreads = r.BaseThreads
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			all, inPoll := threads()
			if all < 0 || r.PeakInPoll < 0 {
				r.PeakThreads, r.PeakInPoll = -1, -1 // no census: say so, once and for all
			} else {
				r.PeakThreads = max(r.PeakThreads, all)
				r.PeakInPoll = max(r.PeakInPoll, inPoll)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	began := time.Now()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = work(i)
		}()
	}
	wg.Wait()
	r.Took = time.Since(began)
	close(stop)
	<-sampled
	return r, errors.Join(errs...)
}

// threads counts the process's OS threads, and those of them blocked in
// poll(2), as /proc/self/task/<tid>/syscall shows them; -1, -1 when it
// cannot tell. libpq's blocking calls wait in poll; guv's hub waits in
// epoll_wait and Go's idle threads in futex, so a thread in poll is a
// query holding an OS thread while it waits. (On arm64, which has only
// ppoll, guv's blocking monitor, off unless GUV_BLOCK_REPORT or
// GUV_DUMP_SIGNAL is set, would count too.)
func threads() (all, inPoll int) {
	poll, known := map[string]string{"amd64": "7", "arm64": "73"}[runtime.GOARCH]
	tasks, err := os.ReadDir("/proc/self/task")
	if !known || err != nil {
		return -1, -1
	}
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/syscall")
		if err != nil {
			continue // the thread has exited
		}
		all++
		// The syscall's number, or "running".
		if nr, _, _ := strings.Cut(string(b), " "); nr == poll {
			inPoll++
		}
	}
	if all == 0 {
		return -1, -1
	}
	return all, inPoll
}

// Conninfo is the server the example and its test use.
func Conninfo() string {
	if s := os.Getenv("GUV_TEST_PG"); s != "" {
		return s
	}
	return "host=127.0.0.1 port=5432 dbname=test user=postgres"
}

func main() {
	n := flag.Int("n", 1000, "goroutines, one query each, through the guv hub")
	conns := flag.Int("conns", 40, "PostgreSQL connections the hub's queries share")
	sleep := flag.Float64("sleep", 0.2, "seconds each query sleeps on the server")
	naive := flag.Int("naive", 0, "then as many goroutines with blocking PQexec (0: skip)")
	naiveSleep := flag.Float64("naive-sleep", 0.5, "seconds each naive query sleeps")
	flag.Parse()

	r, err := RunGuv(Conninfo(), *n, *conns, *sleep)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("guv:   %d goroutines, pg_sleep(%g) over %d connections: %.2f s, OS threads %d before, peak %d, peak in poll(2) %d\n",
		r.Queries, *sleep, *conns, r.Took.Seconds(), r.BaseThreads, r.PeakThreads, r.PeakInPoll)
	if *naive > 0 {
		r, err := RunNaive(Conninfo(), *naive, *naiveSleep)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("naive: %d goroutines, blocking PQexec(pg_sleep(%g)): %.2f s, OS threads %d before, peak %d, peak in poll(2) %d\n",
			r.Queries, *naiveSleep, r.Took.Seconds(), r.BaseThreads, r.PeakThreads, r.PeakInPoll)
	}
}
