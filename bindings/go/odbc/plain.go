package odbc

/*
#include <stdlib.h>
#include "odbc.h"

static int godbc_plain_call(void *fn, void *arg) { return ((int (*)(void *))fn)(arg); }

static SQLRETURN godbc_plain_alloc_stmt(SQLHDBC dbc, SQLHSTMT *st)
{
	return SQLAllocHandle(SQL_HANDLE_STMT, dbc, st);
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// PlainConn makes the same ODBC calls as the driver, directly through cgo
// on the calling goroutine's OS thread, which each call blocks: the usual
// way, for comparisons (see the package's tests).
type PlainConn struct{ dbc C.SQLHDBC }

// OpenPlain connects with a blocking SQLDriverConnect.
func OpenPlain(dsn string) (*PlainConn, error) {
	if err := setup(); err != nil {
		return nil, err
	}
	arg := (*C.godbc_connect)(C.calloc(1, C.sizeof_godbc_connect))
	defer C.free(unsafe.Pointer(arg))
	arg.env = shared.env
	arg.dsn = C.CString(dsn)
	defer C.free(unsafe.Pointer(arg.dsn))
	if C.godbc_plain_call(C.godbc_connect_fn(), unsafe.Pointer(arg)) != 0 {
		return nil, diagError(&arg.diag)
	}
	return &PlainConn{arg.dbc}, nil
}

// Exec runs query (no parameters) and discards its rows.
func (p *PlainConn) Exec(query string) error {
	var st C.SQLHSTMT
	if r := C.godbc_plain_alloc_stmt(p.dbc, &st); r != C.SQL_SUCCESS && r != C.SQL_SUCCESS_WITH_INFO {
		return errors.New("guv-odbc: SQLAllocHandle failed")
	}
	defer C.godbc_plain_call(C.godbc_free_stmt_fn(), unsafe.Pointer(st))
	e := (*C.godbc_exec)(C.calloc(1, C.sizeof_godbc_exec))
	defer C.free(unsafe.Pointer(e))
	e.st = st
	e.sql = C.CString(query)
	defer C.free(unsafe.Pointer(e.sql))
	defer C.free(unsafe.Pointer(e.cols))
	if C.godbc_plain_call(C.godbc_exec_fn(), unsafe.Pointer(e)) != 0 {
		return diagError(&e.diag)
	}
	return nil
}

// Close disconnects.
func (p *PlainConn) Close() { C.godbc_plain_call(C.godbc_disconnect_fn(), unsafe.Pointer(p.dbc)) }
