/*
 * The C half of one Go submission: a guvgo_call lives in C memory from
 * Submit until its completion has reached Go, so the hub thread, the green
 * thread and the goroutine that cancels can all touch it without Go
 * pointers ever being kept by C.
 */
#ifndef GUVGO_CALL_H
#define GUVGO_CALL_H

#include <stdatomic.h>
#include <stdint.h>

#include <guv.h>

/* The routine a goroutine submits: returns >= 0, or -1 with errno set. */
typedef int (*guvgo_routine)(void *arg);

typedef struct guvgo_call {
	guvgo_routine routine;
	void *arg;
	/* cgo.Handle of the Go *Call, resolved by the completion callback. */
	uintptr_t handle;
	/* The green thread's id; 0 until it has started. */
	_Atomic int64_t id;
	_Atomic int cancelled;
	int result;
	int err;
} guvgo_call;

/* On the thread that will run the hub: its handle, held so that guv_run()
 * waits for submissions. NULL with errno set on failure. */
guv_hub *guvgo_hub_open(void);

/* Start `call` as a green thread on `hub`; guv_hub_spawn()'s result. */
int guvgo_submit(guv_hub *hub, guvgo_call *call);

/* Ask for `call` to end: before it starts it never runs its routine, once
 * started it is killed (its blocking guv calls fail with ECANCELED). */
void guvgo_cancel(guv_hub *hub, guvgo_call *call);

#endif
