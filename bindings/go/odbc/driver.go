// Package odbc is a database/sql driver, "guv-odbc", over an unmodified ODBC
// driver manager and driver (unixODBC with psqlODBC, say) whose calls run as
// guv green threads on one hub: a thousand queries in flight cost a thousand
// goroutines and one OS thread, not a thousand OS threads.
//
//	db, err := sql.Open("guv-odbc", "Driver={PostgreSQL Unicode};Server=127.0.0.1;Database=test;Uid=postgres;")
//
// The ODBC driver's blocking waits become cooperative only under
// libguv_hook.so: run the program with LD_PRELOAD=$PREFIX/lib/libguv_hook.so.
// Without it every call still works, one at a time on the hub's thread.
//
// The data source name is an ODBC connection string. Placeholders are
// ODBC's `?`. Arguments are sent as text; columns come back typed by their
// SQL type (integers as int64, floats as float64, dates and timestamps as
// time.Time, booleans reported as SQL_BIT as bool, the rest as string). A
// context that ends during a query sends SQLCancel, so the server stops it,
// and the call returns ctx.Err(). Transactions switch ODBC's autocommit off
// until Commit or Rollback (default isolation only).
package odbc

/*
#cgo pkg-config: guv odbc
#include <stdlib.h>
#include "odbc.h"

static SQLRETURN godbc_alloc_env(SQLHENV *env)
{
	SQLRETURN r = SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, env);
	if (SQL_SUCCEEDED(r))
		r = SQLSetEnvAttr(*env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
	return r;
}

static SQLRETURN godbc_alloc_stmt(SQLHDBC dbc, SQLHSTMT *st)
{
	return SQLAllocHandle(SQL_HANDLE_STMT, dbc, st);
}
*/
import "C"

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"guv.dev/guv"
)

func init() { sql.Register("guv-odbc", Driver{}) }

// Driver is the database/sql driver registered as "guv-odbc".
type Driver struct{}

// Open connects with the package's shared hub (see NewConnector).
func (Driver) Open(dsn string) (driver.Conn, error) {
	return NewConnector(nil, dsn).Connect(context.Background())
}

// OpenConnector lets sql.Open use the connector.
func (Driver) OpenConnector(dsn string) (driver.Connector, error) { return NewConnector(nil, dsn), nil }

// Error is a failed ODBC call: its SQLSTATE and message.
type Error struct {
	State   string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("guv-odbc: %s: %s", e.State, e.Message) }

func diagError(d *C.godbc_diag) error {
	return &Error{State: C.GoString(&d.state[0]), Message: C.GoString(&d.msg[0])}
}

var shared struct {
	once sync.Once
	hub  *guv.Hub
	env  C.SQLHENV
	err  error
}

func setup() error {
	shared.once.Do(func() {
		if r := C.godbc_alloc_env(&shared.env); r != C.SQL_SUCCESS && r != C.SQL_SUCCESS_WITH_INFO {
			shared.err = errors.New("guv-odbc: no ODBC environment (is unixODBC installed?)")
			return
		}
		shared.hub, shared.err = guv.Start()
	})
	return shared.err
}

// Connector opens connections on a hub; use it with sql.OpenDB.
type Connector struct {
	hub *guv.Hub
	dsn string
}

// NewConnector returns a connector for the ODBC connection string dsn whose
// calls run on hub (nil: a hub the package starts once and keeps).
func NewConnector(hub *guv.Hub, dsn string) *Connector { return &Connector{hub: hub, dsn: dsn} }

func (c *Connector) Driver() driver.Driver { return Driver{} }

func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := setup(); err != nil {
		return nil, err
	}
	hub := c.hub
	if hub == nil {
		hub = shared.hub
	}
	arg := (*C.godbc_connect)(C.calloc(1, C.sizeof_godbc_connect))
	defer C.free(unsafe.Pointer(arg))
	arg.env = shared.env
	arg.dsn = C.CString(c.dsn)
	defer C.free(unsafe.Pointer(arg.dsn))
	if _, err := hub.Run(ctx, C.godbc_connect_fn(), unsafe.Pointer(arg)); err != nil {
		if arg.dbc != nil {
			hub.Run(context.Background(), C.godbc_disconnect_fn(), unsafe.Pointer(arg.dbc))
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, diagError(&arg.diag)
	}
	return &conn{hub: hub, dbc: arg.dbc}, nil
}

type conn struct {
	hub *guv.Hub
	dbc C.SQLHDBC
	bad bool
}

func (c *conn) Prepare(query string) (driver.Stmt, error) { return &stmt{c: c, query: query}, nil }

func (c *conn) Close() error {
	_, err := c.hub.Run(context.Background(), C.godbc_disconnect_fn(), unsafe.Pointer(c.dbc))
	return err
}

func (c *conn) Begin() (driver.Tx, error) { return c.BeginTx(context.Background(), driver.TxOptions{}) }

// BeginTx turns autocommit off until Commit or Rollback. Isolation levels
// other than the default and read-only transactions are refused.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) || opts.ReadOnly {
		return nil, errors.New("guv-odbc: only default read-write transactions are supported")
	}
	if err := c.tran(ctx, true, false); err != nil {
		return nil, err
	}
	return tx{c}, nil
}

func (c *conn) tran(ctx context.Context, begin, commit bool) error {
	t := (*C.godbc_tran)(C.calloc(1, C.sizeof_godbc_tran))
	defer C.free(unsafe.Pointer(t))
	t.dbc = c.dbc
	if begin {
		t.begin = 1
	}
	if commit {
		t.commit = 1
	}
	if _, err := c.hub.Run(ctx, C.godbc_tran_fn(), unsafe.Pointer(t)); err != nil {
		if ctx.Err() != nil {
			c.bad = true // the connection's transaction state is unknown
			return ctx.Err()
		}
		return diagError(&t.diag)
	}
	return nil
}

type tx struct{ c *conn }

func (t tx) Commit() error   { return t.c.tran(context.Background(), false, true) }
func (t tx) Rollback() error { return t.c.tran(context.Background(), false, false) }

// IsValid: a connection that lost its server is not reused.
func (c *conn) IsValid() bool { return !c.bad }

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, e, err := c.execute(ctx, query, args)
	if err != nil {
		return nil, err
	}
	defer freeExec(e)
	r := &rows{c: c, st: st}
	for i := 0; i < int(e.ncols); i++ {
		col := (*C.godbc_col)(unsafe.Add(unsafe.Pointer(e.cols), uintptr(i)*C.sizeof_godbc_col))
		r.names = append(r.names, C.GoString(&col.name[0]))
		r.types = append(r.types, int(col._type))
	}
	return r, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, e, err := c.execute(ctx, query, args)
	if err != nil {
		return nil, err
	}
	n := int64(e.rows_affected)
	freeExec(e)
	c.freeStmt(st)
	return driver.RowsAffected(n), nil
}

func freeExec(e *C.godbc_exec) {
	for i := 0; i < int(e.nparams); i++ {
		p := *(**C.char)(unsafe.Add(unsafe.Pointer(e.params), uintptr(i)*unsafe.Sizeof(e.sql)))
		C.free(unsafe.Pointer(p))
	}
	C.free(unsafe.Pointer(e.params))
	C.free(unsafe.Pointer(e.lens))
	C.free(unsafe.Pointer(e.sql))
	C.free(unsafe.Pointer(e.cols))
	C.free(unsafe.Pointer(e))
}

func (c *conn) freeStmt(st C.SQLHSTMT) {
	c.hub.Run(context.Background(), C.godbc_free_stmt_fn(), unsafe.Pointer(st))
}

// execute prepares, binds and runs query on a new statement handle.
func (c *conn) execute(ctx context.Context, query string, args []driver.NamedValue) (C.SQLHSTMT, *C.godbc_exec, error) {
	var st C.SQLHSTMT
	if r := C.godbc_alloc_stmt(c.dbc, &st); r != C.SQL_SUCCESS && r != C.SQL_SUCCESS_WITH_INFO {
		c.bad = true
		return nil, nil, driver.ErrBadConn
	}
	e := (*C.godbc_exec)(C.calloc(1, C.sizeof_godbc_exec))
	e.st = st
	e.sql = C.CString(query)
	e.nparams = C.int(len(args))
	if len(args) > 0 {
		e.params = (**C.char)(C.calloc(C.size_t(len(args)), C.size_t(unsafe.Sizeof(e.sql))))
		e.lens = (*C.SQLLEN)(C.calloc(C.size_t(len(args)), C.sizeof_SQLLEN))
		for i, a := range args {
			if a.Value == nil {
				continue
			}
			*(**C.char)(unsafe.Add(unsafe.Pointer(e.params), uintptr(i)*unsafe.Sizeof(e.sql))) = C.CString(text(a.Value))
		}
	}
	// A context that ends sends SQLCancel from this side: the server stops
	// the query and the driver's wait on the hub ends with its error.
	cancelDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(cancelDone)
		C.SQLCancel(st)
	})
	_, err := c.hub.Run(context.Background(), C.godbc_exec_fn(), unsafe.Pointer(e))
	// A cancel that started may still be using the handle: wait it out. It
	// also closed the cursor of a query that had just finished, so the call
	// reports the context's end either way.
	if cancelled := !stop(); cancelled {
		<-cancelDone
		freeExec(e)
		c.freeStmt(st)
		return nil, nil, ctx.Err()
	}
	if err != nil {
		dErr := diagError(&e.diag)
		freeExec(e)
		c.freeStmt(st)
		if strings.HasPrefix(dErr.(*Error).State, "08") {
			c.bad = true
		}
		return nil, nil, dErr
	}
	return st, e, nil
}

// text renders an argument as ODBC text.
func text(v driver.Value) string {
	switch v := v.(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []byte:
		return string(v)
	case string:
		return v
	case time.Time:
		return v.Format("2006-01-02 15:04:05.999999999Z07:00")
	}
	return fmt.Sprint(v)
}

type stmt struct {
	c     *conn
	query string
}

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return -1 }
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.c.ExecContext(context.Background(), s.query, named(args))
}
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.c.QueryContext(context.Background(), s.query, named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	n := make([]driver.NamedValue, len(args))
	for i, a := range args {
		n[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return n
}

// fetchBatch is how many rows one trip to the hub fetches.
const fetchBatch = 64

type rows struct {
	c     *conn
	st    C.SQLHSTMT
	names []string
	types []int
	// buffered rows as Go values, and whether the statement has no more
	buf  [][]driver.Value
	done bool
}

func (r *rows) Columns() []string { return r.names }

func (r *rows) Close() error {
	if r.st != nil {
		r.c.freeStmt(r.st)
		r.st = nil
	}
	return nil
}

func (r *rows) Next(dest []driver.Value) error {
	if len(r.buf) == 0 {
		if r.done || r.st == nil {
			return io.EOF
		}
		if err := r.fetch(); err != nil {
			return err
		}
		if len(r.buf) == 0 {
			return io.EOF
		}
	}
	copy(dest, r.buf[0])
	r.buf = r.buf[1:]
	return nil
}

func (r *rows) fetch() error {
	f := (*C.godbc_fetch)(C.calloc(1, C.sizeof_godbc_fetch))
	defer C.free(unsafe.Pointer(f))
	f.st = r.st
	f.ncols = C.SQLSMALLINT(len(r.names))
	f.max = fetchBatch
	defer C.godbc_free_rows(f)
	if _, err := r.c.hub.Run(context.Background(), C.godbc_fetch_fn(), unsafe.Pointer(f)); err != nil {
		return diagError(&f.diag)
	}
	r.done = f.done != 0
	ncols := len(r.names)
	for i := 0; i < int(f.nrows); i++ {
		row := make([]driver.Value, ncols)
		for c := 0; c < ncols; c++ {
			k := uintptr(i*ncols + c)
			p := *(**C.char)(unsafe.Add(unsafe.Pointer(f.vals), k*unsafe.Sizeof(f.vals)))
			if p == nil {
				continue
			}
			n := *(*C.SQLLEN)(unsafe.Add(unsafe.Pointer(f.lens), k*C.sizeof_SQLLEN))
			v, err := convert(r.types[c], C.GoStringN(p, C.int(n)))
			if err != nil {
				return err
			}
			row[c] = v
		}
		r.buf = append(r.buf, row)
	}
	return nil
}

// convert turns a column's text into the Go value its SQL type calls for.
func convert(sqlType int, s string) (driver.Value, error) {
	switch sqlType {
	case C.SQL_SMALLINT, C.SQL_INTEGER, C.SQL_BIGINT, C.SQL_TINYINT:
		return strconv.ParseInt(s, 10, 64)
	case C.SQL_REAL, C.SQL_FLOAT, C.SQL_DOUBLE:
		return strconv.ParseFloat(s, 64)
	case C.SQL_BIT:
		return s == "1" || s == "t" || s == "true", nil
	case C.SQL_TYPE_DATE:
		return time.Parse("2006-01-02", s)
	case C.SQL_TYPE_TIMESTAMP:
		return time.Parse("2006-01-02 15:04:05.999999999", s)
	}
	return s, nil
}
