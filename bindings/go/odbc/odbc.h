/*
 * The C half of the guv-odbc database/sql driver: ODBC calls packed as guv
 * routines (int f(void *arg), see guv.Hub.Submit), each taking one of the
 * structs below in C memory. They run on the hub's green threads; the ODBC
 * driver's own blocking waits are made cooperative by libguv_hook.
 */
#ifndef GUVODBC_H
#define GUVODBC_H

#include <sql.h>
#include <sqlext.h>

/* A diagnostic of the last failed call: SQLSTATE and message. */
typedef struct {
	char state[6];
	char msg[512];
} godbc_diag;

typedef struct {
	SQLHENV env;
	const char *dsn;
	SQLHDBC dbc;     /* out */
	godbc_diag diag;
} godbc_connect;

/* One column's description. */
typedef struct {
	char name[128];
	SQLSMALLINT type;
} godbc_col;

typedef struct {
	SQLHSTMT st;           /* allocated by the caller, so SQLCancel can reach it */
	const char *sql;
	int nparams;
	const char *const *params; /* text values; NULL: SQL NULL */
	SQLLEN *lens;          /* nparams indicators, C memory */
	SQLLEN rows_affected;  /* out */
	SQLSMALLINT ncols;     /* out */
	godbc_col *cols;       /* out: ncols descriptions, malloc'd (freed by the caller) */
	godbc_diag diag;
} godbc_exec;

/* Up to `max` rows of text values: cell (r, c) is vals[r * ncols + c],
 * NULL for SQL NULL, with its length in lens. */
typedef struct {
	SQLHSTMT st;
	SQLSMALLINT ncols;
	int max;
	int nrows;    /* out */
	int done;     /* out: no more rows */
	char **vals;  /* out: malloc'd, each value malloc'd */
	SQLLEN *lens; /* out */
	godbc_diag diag;
} godbc_fetch;

/* Begins (begin != 0: autocommit off) or ends a transaction (commit or
 * roll back, then autocommit on). */
typedef struct {
	SQLHDBC dbc;
	int begin;
	int commit;
	godbc_diag diag;
} godbc_tran;

/* The routines' getters (cgo cannot take a static function's address). */
void *godbc_connect_fn(void);
void *godbc_exec_fn(void);
void *godbc_fetch_fn(void);
void *godbc_tran_fn(void);
void *godbc_free_stmt_fn(void);  /* arg: the SQLHSTMT */
void *godbc_disconnect_fn(void); /* arg: the SQLHDBC */

void godbc_free_rows(godbc_fetch *f);
void godbc_stmt_diag(SQLHSTMT st, godbc_diag *d);

#endif
