#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "odbc.h"

static void diag(SQLSMALLINT type, SQLHANDLE h, godbc_diag *d)
{
	SQLINTEGER native;
	SQLSMALLINT len;
	d->state[0] = 0;
	d->msg[0] = 0;
	if (!SQL_SUCCEEDED(SQLGetDiagRec(type, h, 1, (SQLCHAR *)d->state, &native, (SQLCHAR *)d->msg,
	                                 sizeof d->msg, &len)))
		strcpy(d->msg, "ODBC call failed (no diagnostic)");
}

void godbc_stmt_diag(SQLHSTMT st, godbc_diag *d) { diag(SQL_HANDLE_STMT, st, d); }

static int connect_routine(void *p)
{
	godbc_connect *c = p;
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, c->env, &c->dbc))) {
		diag(SQL_HANDLE_ENV, c->env, &c->diag);
		errno = EIO;
		return -1;
	}
	SQLCHAR out[1024];
	SQLSMALLINT outlen;
	SQLRETURN r = SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)c->dsn, SQL_NTS, out, sizeof out, &outlen,
	                               SQL_DRIVER_NOPROMPT);
	if (!SQL_SUCCEEDED(r)) {
		diag(SQL_HANDLE_DBC, c->dbc, &c->diag);
		SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
		c->dbc = NULL;
		errno = EIO;
		return -1;
	}
	return 0;
}

static int exec_routine(void *p)
{
	godbc_exec *e = p;
	SQLRETURN r = SQLPrepare(e->st, (SQLCHAR *)e->sql, SQL_NTS);
	for (int i = 0; SQL_SUCCEEDED(r) && i < e->nparams; i++) {
		e->lens[i] = e->params[i] ? SQL_NTS : SQL_NULL_DATA;
		r = SQLBindParameter(e->st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
		                     e->params[i] ? strlen(e->params[i]) : 1, 0, (SQLPOINTER)e->params[i], 0,
		                     &e->lens[i]);
	}
	if (SQL_SUCCEEDED(r))
		r = SQLExecute(e->st);
	if (r == SQL_NO_DATA) /* an UPDATE or DELETE that touched nothing */
		r = SQL_SUCCESS;
	if (SQL_SUCCEEDED(r))
		r = SQLNumResultCols(e->st, &e->ncols);
	if (SQL_SUCCEEDED(r))
		r = SQLRowCount(e->st, &e->rows_affected);
	if (SQL_SUCCEEDED(r) && e->ncols > 0) {
		e->cols = calloc((size_t)e->ncols, sizeof *e->cols);
		for (SQLSMALLINT c = 0; SQL_SUCCEEDED(r) && c < e->ncols; c++) {
			SQLSMALLINT namelen, digits, nullable;
			SQLULEN size;
			r = SQLDescribeCol(e->st, (SQLUSMALLINT)(c + 1), (SQLCHAR *)e->cols[c].name,
			                   sizeof e->cols[c].name, &namelen, &e->cols[c].type, &size, &digits, &nullable);
		}
	}
	if (!SQL_SUCCEEDED(r)) {
		godbc_stmt_diag(e->st, &e->diag);
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Reads column `c` of the current row as text into a malloc'd buffer. */
static SQLRETURN get_text(SQLHSTMT st, SQLUSMALLINT c, char **out, SQLLEN *outlen)
{
	size_t cap = 64, have = 0;
	char *buf = malloc(cap);
	for (;;) {
		SQLLEN ind;
		SQLRETURN r = SQLGetData(st, c, SQL_C_CHAR, buf + have, (SQLLEN)(cap - have), &ind);
		if (r == SQL_NO_DATA)
			break;
		if (!SQL_SUCCEEDED(r)) {
			free(buf);
			return r;
		}
		if (ind == SQL_NULL_DATA) {
			free(buf);
			*out = NULL;
			*outlen = 0;
			return SQL_SUCCESS;
		}
		if (r == SQL_SUCCESS) {
			have += (size_t)ind;
			break;
		}
		/* Truncated: what fit, less its NUL, is kept; grow and read on. */
		have = cap - 1;
		cap *= 2;
		buf = realloc(buf, cap);
	}
	*out = buf;
	*outlen = (SQLLEN)have;
	return SQL_SUCCESS;
}

static int fetch_routine(void *p)
{
	godbc_fetch *f = p;
	f->vals = calloc((size_t)f->max * (size_t)f->ncols, sizeof *f->vals);
	f->lens = calloc((size_t)f->max * (size_t)f->ncols, sizeof *f->lens);
	f->nrows = 0;
	while (f->nrows < f->max) {
		SQLRETURN r = SQLFetch(f->st);
		if (r == SQL_NO_DATA) {
			f->done = 1;
			return 0;
		}
		for (SQLSMALLINT c = 0; SQL_SUCCEEDED(r) && c < f->ncols; c++) {
			size_t i = (size_t)f->nrows * (size_t)f->ncols + (size_t)c;
			r = get_text(f->st, (SQLUSMALLINT)(c + 1), &f->vals[i], &f->lens[i]);
		}
		if (!SQL_SUCCEEDED(r)) {
			godbc_stmt_diag(f->st, &f->diag);
			errno = EIO;
			return -1;
		}
		f->nrows++;
	}
	return 0;
}

void godbc_free_rows(godbc_fetch *f)
{
	if (f->vals)
		for (size_t i = 0; i < (size_t)f->max * (size_t)f->ncols; i++)
			free(f->vals[i]);
	free(f->vals);
	free(f->lens);
	f->vals = NULL;
	f->lens = NULL;
}

static int tran_routine(void *p)
{
	godbc_tran *t = p;
	SQLRETURN r;
	if (t->begin) {
		r = SQLSetConnectAttr(t->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0);
	} else {
		r = SQLEndTran(SQL_HANDLE_DBC, t->dbc, t->commit ? SQL_COMMIT : SQL_ROLLBACK);
		SQLRETURN r2 = SQLSetConnectAttr(t->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_ON, 0);
		if (SQL_SUCCEEDED(r))
			r = r2;
	}
	if (!SQL_SUCCEEDED(r)) {
		diag(SQL_HANDLE_DBC, t->dbc, &t->diag);
		errno = EIO;
		return -1;
	}
	return 0;
}

static int free_stmt_routine(void *st)
{
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	return 0;
}

static int disconnect_routine(void *dbc)
{
	SQLDisconnect(dbc);
	SQLFreeHandle(SQL_HANDLE_DBC, dbc);
	return 0;
}

void *godbc_connect_fn(void) { return (void *)connect_routine; }
void *godbc_exec_fn(void) { return (void *)exec_routine; }
void *godbc_fetch_fn(void) { return (void *)fetch_routine; }
void *godbc_tran_fn(void) { return (void *)tran_routine; }
void *godbc_free_stmt_fn(void) { return (void *)free_stmt_routine; }
void *godbc_disconnect_fn(void) { return (void *)disconnect_routine; }
