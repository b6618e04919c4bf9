// Command pghook runs libpq unmodified — plain PQconnectdb and PQexec, no
// guv/pq.h — from many goroutines through a guv hub, with libguv_hook.so
// making libpq's blocking calls cooperative:
//
//	LD_PRELOAD=$PREFIX/lib/libguv_hook.so pghook -n 80
//
// Without the preload the same program still works, one query at a time
// (each blocks the hub's thread); it says which way it ran. The server is
// GUV_TEST_PG (a libpq conninfo), by default
// "host=127.0.0.1 port=5432 dbname=test user=postgres".
package main

/*
#cgo pkg-config: guv libpq
#include <errno.h>
#include <stdlib.h>
#include <libpq-fe.h>

typedef struct {
	const char *conninfo;
	const char *sql;
} query;

// Plain libpq: under libguv_hook its waits suspend only this green thread.
static int run_query(void *p)
{
	query *q = p;
	PGconn *conn = PQconnectdb(q->conninfo);
	int ok = PQstatus(conn) == CONNECTION_OK;
	if (ok) {
		PGresult *res = PQexec(conn, q->sql);
		ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
	}
	PQfinish(conn);
	if (!ok)
		errno = EIO;
	return ok ? 0 : -1;
}

static void *run_query_fn(void) { return (void *)run_query; }
*/
import "C"

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"guv.dev/guv"
)

func main() {
	n := flag.Int("n", 80, "goroutines, one connection and one pg_sleep query each")
	sleep := flag.Float64("sleep", 0.2, "seconds each query sleeps on the server")
	flag.Parse()
	conninfo := os.Getenv("GUV_TEST_PG")
	if conninfo == "" {
		conninfo = "host=127.0.0.1 port=5432 dbname=test user=postgres"
	}
	q := (*C.query)(C.malloc(C.sizeof_query))
	defer C.free(unsafe.Pointer(q))
	q.conninfo = C.CString(conninfo)
	q.sql = C.CString(fmt.Sprintf("SELECT pg_sleep(%g)", *sleep))
	defer C.free(unsafe.Pointer(q.conninfo))
	defer C.free(unsafe.Pointer(q.sql))

	hub, err := guv.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()
	began := time.Now()
	var wg sync.WaitGroup
	for range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if _, err := hub.Run(ctx, C.run_query_fn(), unsafe.Pointer(q)); err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()
	how := "without libguv_hook (one query at a time)"
	if strings.Contains(os.Getenv("LD_PRELOAD"), "libguv_hook") {
		how = "under libguv_hook"
	}
	fmt.Printf("pghook: %d plain-libpq queries of pg_sleep(%g) %s in %.2f s\n", *n, *sleep, how, time.Since(began).Seconds())
}
