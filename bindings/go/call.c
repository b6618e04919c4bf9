#include <errno.h>

#include "call.h"
#include "_cgo_export.h"

guv_hub *guvgo_hub_open(void)
{
	guv_hub *hub = guv_hub_self();
	if (hub != NULL && guv_hub_hold(hub) != 0) {
		guv_hub_release(hub);
		return NULL;
	}
	return hub;
}

/* On the hub's own stack: the only place Go code runs while guv_run() is
 * under way (a goroutine's stack checks fail on a green thread's stack). */
static void complete_on_hub(void *p)
{
	guvgo_call *call = p;
	guvgoComplete(call->handle, call->result, call->err);
}

static void body(void *p)
{
	guvgo_call *call = p;
	/* Publish the id, then look for a cancel: with guvgo_cancel doing the
	 * reverse (flag, then id), one of the two always sees the other. */
	atomic_store(&call->id, guv_current());
	if (atomic_load(&call->cancelled)) {
		call->result = -1;
		call->err = ECANCELED;
	} else {
		errno = 0;
		call->result = call->routine(call->arg);
		call->err = call->result < 0 ? (errno ? errno : EIO) : 0;
	}
	guv_call_on_hub(complete_on_hub, call);
	/* `call` may be freed from here on. */
}

int guvgo_submit(guv_hub *hub, guvgo_call *call)
{
	return guv_hub_spawn(hub, body, call);
}

void guvgo_cancel(guv_hub *hub, guvgo_call *call)
{
	atomic_store(&call->cancelled, 1);
	int64_t id = atomic_load(&call->id);
	if (id > 0)
		guv_hub_kill(hub, id);
}
