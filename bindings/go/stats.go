package guv

/*
#cgo pkg-config: guv
#include <stdlib.h>
#include <guv.h>

// Runs as a green thread on the hub, whose counters are per OS thread.
static int guvgo_stats(void *out)
{
	return guv_stats((struct guv_stats *)out, sizeof(struct guv_stats));
}

static void *guvgo_stats_fn(void) { return (void *)guvgo_stats; }
*/
import "C"

import (
	"context"
	"time"
	"unsafe"
)

// Stats are a hub's counters (guv_stats in guv.h). They are read by a green
// thread submitted for the purpose, which is counted in them.
type Stats struct {
	GreenThreads uint64        // alive now
	Spawned      uint64        // started since the hub began
	Switches     uint64        // times the hub handed its thread to a green thread
	FdWaits      uint64        // waits for fd readiness begun
	Sleeps       uint64        // sleeps begun
	Timers       uint64        // timers pending now
	Offloads     uint64        // calls handed to offload threads
	Remote       uint64        // requests received from other threads (Submit, Cancel, …)
	Turns        uint64        // turns of the hub's loop
	Idle         time.Duration // time the hub spent asleep in epoll
	FdChecks     uint64        // fd registrations re-checked for a close behind guv's back
}

// Stats reads the hub's counters on its own thread.
func (h *Hub) Stats(ctx context.Context) (Stats, error) {
	out := (*C.struct_guv_stats)(C.calloc(1, C.sizeof_struct_guv_stats))
	defer C.free(unsafe.Pointer(out))
	if _, err := h.Run(ctx, C.guvgo_stats_fn(), unsafe.Pointer(out)); err != nil {
		return Stats{}, err
	}
	return Stats{
		GreenThreads: uint64(out.green_threads),
		Spawned:      uint64(out.spawned),
		Switches:     uint64(out.switches),
		FdWaits:      uint64(out.fd_waits),
		Sleeps:       uint64(out.sleeps),
		Timers:       uint64(out.timers),
		Offloads:     uint64(out.offloads),
		Remote:       uint64(out.remote),
		Turns:        uint64(out.turns),
		Idle:         time.Duration(out.idle_ns),
		FdChecks:     uint64(out.fd_checks),
	}, nil
}
