package guv_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"guv.dev/guv/internal/testpq"
)

// The unmodified-driver path: a routine calling libpq's own blocking
// PQconnectdb and PQexec, made cooperative by libguv_hook.so. The test runs
// its workload in a child process (this test binary again), once with
// LD_PRELOAD=libguv_hook.so and once without: with the hook the queries
// overlap on the hub's one thread, without it they run one after another.

// Each query connects first (a backend fork on the server); 0.5 s of sleep
// keeps the gate below clear of that setup even on a loaded machine, where
// 0.2 s once let eight connects alone push the hooked run past the gate.
const hookQueries, hookSleep = 8, 0.5

func hookConninfo() string {
	if c := os.Getenv("GUV_TEST_PG"); c != "" {
		return c
	}
	return "host=127.0.0.1 port=5432 dbname=test user=postgres"
}

/* In the child: hookQueries goroutines each run one pg_sleep query. */
func TestHookWorkload(t *testing.T) {
	if os.Getenv("GUV_GO_HOOK_CHILD") == "" {
		t.Skip("run by TestUnmodifiedDriverUnderHook")
	}
	h := start(t)
	arg := testpq.NewArg(hookConninfo(), fmt.Sprintf("SELECT pg_sleep(%g)", hookSleep))
	defer arg.Free()
	began := time.Now()
	var wg sync.WaitGroup
	for range hookQueries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Run(context.Background(), testpq.Fn(), arg.Ptr()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	t.Logf("elapsed %.3f", time.Since(began).Seconds())
}

func runHookChild(t *testing.T, preload string) float64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHookWorkload$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "GUV_GO_HOOK_CHILD=1", "LD_PRELOAD="+preload)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child (LD_PRELOAD=%q): %v\n%s", preload, err, out)
	}
	_, after, ok := strings.Cut(string(out), "elapsed ")
	var secs float64
	if !ok {
		t.Fatalf("child printed no elapsed time:\n%s", out)
	}
	if _, err := fmt.Sscan(after, &secs); err != nil {
		t.Fatal(err)
	}
	return secs
}

/* Plain libpq under libguv_hook: the queries overlap (about one query's
 * time for all), where without the hook they take one after another. */
func TestUnmodifiedDriverUnderHook(t *testing.T) {
	out, err := exec.Command("pkg-config", "--variable=libdir", "guv-hook").Output()
	if err != nil {
		t.Fatalf("no guv-hook.pc (make install installs it with guv.pc): %v", err)
	}
	lib := filepath.Join(strings.TrimSpace(string(out)), "libguv_hook.so")
	if _, err := os.Stat(lib); err != nil {
		t.Fatal(err)
	}
	hooked := runHookChild(t, lib)
	plain := runHookChild(t, "")
	t.Logf("%d queries of %.1f s: %.2f s under libguv_hook, %.2f s without", hookQueries, hookSleep, hooked, plain)
	if hooked > hookQueries*hookSleep/2 {
		t.Errorf("under the hook the queries took %.2f s: they did not overlap", hooked)
	}
	if plain < hookQueries*hookSleep*0.9 {
		t.Errorf("without the hook they took %.2f s: the comparison is not what it claims", plain)
	}
}
