// Package testpq holds a C routine that uses libpq unmodified (plain
// PQconnectdb and PQexec, no guv/pq.h), for the test of the libguv_hook path.
package testpq

/*
#cgo pkg-config: libpq
#include <errno.h>
#include <stdlib.h>
#include <libpq-fe.h>

// Connects and runs `sql` with libpq's blocking calls; 0, or -1 with errno.
// Under libguv_hook their waits suspend only this green thread.
static int testpq_query(void *p)
{
	const char **q = p;
	PGconn *conn = PQconnectdb(q[0]);
	if (PQstatus(conn) != CONNECTION_OK) {
		PQfinish(conn);
		errno = ECONNREFUSED;
		return -1;
	}
	PGresult *res = PQexec(conn, q[1]);
	int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	PQfinish(conn);
	if (!ok)
		errno = EIO;
	return ok ? 0 : -1;
}

static void *testpq_query_fn(void) { return (void *)testpq_query; }
*/
import "C"

import "unsafe"

// Fn is the routine; its argument comes from NewArg.
func Fn() unsafe.Pointer { return C.testpq_query_fn() }

// Arg is {conninfo, sql} in C memory.
type Arg struct{ p *[2]*C.char }

func NewArg(conninfo, sql string) Arg {
	p := (*[2]*C.char)(C.calloc(2, C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	p[0], p[1] = C.CString(conninfo), C.CString(sql)
	return Arg{p}
}

func (a Arg) Ptr() unsafe.Pointer { return unsafe.Pointer(a.p) }

func (a Arg) Free() {
	C.free(unsafe.Pointer(a.p[0]))
	C.free(unsafe.Pointer(a.p[1]))
	C.free(unsafe.Pointer(a.p))
}
