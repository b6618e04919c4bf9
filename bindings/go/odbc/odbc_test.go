package odbc_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"guv.dev/guv/odbc"
)

// The tests run under libguv_hook.so, as the driver is meant to: without it
// in LD_PRELOAD, TestMain runs this test binary again with it.
func TestMain(m *testing.M) {
	if !strings.Contains(os.Getenv("LD_PRELOAD"), "libguv_hook") {
		out, err := exec.Command("pkg-config", "--variable=libdir", "guv-hook").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "guv-odbc tests: no guv-hook.pc:", err)
			os.Exit(1)
		}
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), "LD_PRELOAD="+filepath.Join(strings.TrimSpace(string(out)), "libguv_hook.so"))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func dsn() string {
	if d := os.Getenv("GUV_TEST_ODBC"); d != "" {
		return d
	}
	return "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;Uid=postgres;"
}

func open(t *testing.T, conns int) *sql.DB {
	t.Helper()
	db, err := sql.Open("guv-odbc", dsn())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	t.Cleanup(func() { db.Close() })
	return db
}

/* Columns come back as Go values of their SQL types; parameters go in. */
func TestTypedRows(t *testing.T) {
	db := open(t, 2)
	var (
		i    int64
		s    string
		f    float64
		null sql.NullInt64
		d    time.Time
		p    int64
	)
	err := db.QueryRow("SELECT 42::int, 'hello'::text, 1.5::float8, NULL::int, DATE '2024-01-02', ?::int * 2",
		21).Scan(&i, &s, &f, &null, &d, &p)
	if err != nil {
		t.Fatal(err)
	}
	if i != 42 || s != "hello" || f != 1.5 || null.Valid || !d.Equal(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)) || p != 42 {
		t.Fatalf("got %d %q %g %v %v %d", i, s, f, null, d, p)
	}
	rows, err := db.Query("SELECT g, 'row ' || g FROM generate_series(1, 200) g")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var g int64
		var label string
		if err := rows.Scan(&g, &label); err != nil {
			t.Fatal(err)
		}
		n++
		if g != int64(n) || label != "row "+strconv.Itoa(n) {
			t.Fatalf("row %d: %d %q", n, g, label)
		}
	}
	if err := rows.Err(); err != nil || n != 200 {
		t.Fatalf("%d rows, %v; want 200 (more than one fetch batch)", n, err)
	}
}

/* Exec reports rows affected, in a table of this run's own; SQL errors carry
 * their SQLSTATE. */
func TestExecAndErrors(t *testing.T) {
	db := open(t, 1)
	table := fmt.Sprintf("guv_odbc_%d_%d", os.Getpid(), time.Now().UnixNano()%1000000)
	if _, err := db.Exec("CREATE TABLE " + table + " (n int, s text)"); err != nil {
		t.Fatal(err)
	}
	defer db.Exec("DROP TABLE " + table)
	for i := range 3 {
		if _, err := db.Exec("INSERT INTO "+table+" VALUES (?, ?)", i, "v"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.Exec("UPDATE " + table + " SET s = 'x' WHERE n >= 1")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("RowsAffected = %d, want 2", n)
	}
	_, err = db.Exec("SELEC 1")
	var oe *odbc.Error
	if !errors.As(err, &oe) || oe.State != "42601" {
		t.Fatalf("bad SQL: %v; want an *odbc.Error with SQLSTATE 42601", err)
	}
}

/* A context that ends stops the query on the server (SQLCancel) and the call
 * returns the context's error soon after; the connection stays usable. */
func TestContextCancelsOnServer(t *testing.T) {
	db := open(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := db.ExecContext(ctx, "SELECT pg_sleep(10), 'guv-odbc-cancel-probe'")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ExecContext = %v; want DeadlineExceeded", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("took %v to give up", d)
	}
	var running int
	err = db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%guv-odbc-cancel-probe%' AND pid <> pg_backend_pid()").Scan(&running)
	if err != nil || running != 0 {
		t.Fatalf("after the cancel, %d such queries still run on the server (%v)", running, err)
	}
}

// peakThreads samples the process's OS threads until stop is closed.
func peakThreads(stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		peak := 0
		for {
			b, _ := os.ReadFile("/proc/self/status")
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "Threads:"); ok {
					n, _ := strconv.Atoi(strings.TrimSpace(v))
					peak = max(peak, n)
				}
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return out
}

const (
	manyQueries = 1000
	manySleep   = 0.05
	// Few enough that the test's share of PostgreSQL's 100 connections leaves
	// room for the other suites on the same server ("too many clients" at 80),
	// and still more than the OS threads guv-odbc needs for all of them.
	manyConns = 20
)

// runMany runs query manyQueries times from as many goroutines and returns
// how long they took and the process's peak OS threads meanwhile.
func runMany(t *testing.T, query func() error) (time.Duration, int) {
	t.Helper()
	stop := make(chan struct{})
	peak := peakThreads(stop)
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, manyQueries)
	for range manyQueries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := query(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	close(stop)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return took, <-peak
}

/* 1000 goroutines, one pg_sleep query each, through database/sql's pool of
 * 20 connections: fewer OS threads than connections. Then the same queries
 * over 20 plain cgo ODBC connections, which need one OS thread each, for
 * comparison; the pool is closed first, so that at most 20 are open. */
func TestThousandQueriesFewThreads(t *testing.T) {
	query := fmt.Sprintf("SELECT pg_sleep(%g)", manySleep)
	db := open(t, manyConns)
	guvTook, guvPeak := runMany(t, func() error {
		_, err := db.Exec(query)
		return err
	})
	db.Close()

	pool := make(chan *odbc.PlainConn, manyConns)
	for range manyConns {
		p, err := odbc.OpenPlain(dsn())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pool <- p
	}
	plainTook, plainPeak := runMany(t, func() error {
		p := <-pool
		defer func() { pool <- p }()
		return p.Exec(query)
	})
	t.Logf("%d queries of pg_sleep(%g) over %d connections: guv-odbc %.2f s, peak %d OS threads; plain cgo ODBC %.2f s, peak %d OS threads",
		manyQueries, manySleep, manyConns, guvTook.Seconds(), guvPeak, plainTook.Seconds(), plainPeak)
	if guvPeak >= manyConns {
		t.Errorf("guv-odbc peaked at %d OS threads, want fewer than its %d connections", guvPeak, manyConns)
	}
	if plainPeak < manyConns || plainPeak <= guvPeak {
		t.Errorf("plain cgo peaked at %d OS threads (guv-odbc at %d, connections %d): the comparison shows nothing",
			plainPeak, guvPeak, manyConns)
	}
}

/* A rolled-back transaction leaves nothing; a committed one stays. */
func TestTransactions(t *testing.T) {
	db := open(t, 1)
	table := fmt.Sprintf("guv_odbc_tx_%d_%d", os.Getpid(), time.Now().UnixNano()%1000000)
	if _, err := db.Exec("CREATE TABLE " + table + " (n int)"); err != nil {
		t.Fatal(err)
	}
	defer db.Exec("DROP TABLE " + table)
	for _, commit := range []bool{false, true} {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("INSERT INTO "+table+" VALUES (?)", 1); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 0, true: 1}[commit]; n != want {
			t.Fatalf("commit=%v: %d rows, want %d", commit, n, want)
		}
	}
}
