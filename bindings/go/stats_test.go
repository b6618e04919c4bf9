package guv_test

import (
	"context"
	"testing"
	"time"

	"guv.dev/guv/internal/testc"
)

/* Stats count what the hub ran: ten sleeping routines are ten spawns (plus
 * the reader's own) and ten sleeps, and the idle hub slept in epoll. */
func TestStatsCountTheHubsWork(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	before, err := h.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.GreenThreads != 1 || before.Spawned < 1 || before.Remote < 1 {
		t.Fatalf("first Stats = %+v; want the reader alone alive, counted as spawned and remote", before)
	}
	for i := 0; i < 10; i++ {
		arg := testc.NewArg(0.01, 0)
		if _, err := h.Run(ctx, testc.Sleep.Fn(), arg.Ptr()); err != nil {
			t.Fatal(err)
		}
		arg.Free()
	}
	after, err := h.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Spawned - before.Spawned; got != 11 {
		t.Errorf("spawned %d green threads; want 11", got)
	}
	if got := after.Sleeps - before.Sleeps; got != 10 {
		t.Errorf("%d sleeps; want 10", got)
	}
	if after.Switches <= before.Switches || after.Turns <= before.Turns {
		t.Errorf("switches/turns did not move: %+v then %+v", before, after)
	}
	if idle := after.Idle - before.Idle; idle < 50*time.Millisecond {
		t.Errorf("idle %v across ten 10 ms sleeps; want at least 50 ms", idle)
	}
}
