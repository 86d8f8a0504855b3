/*
 * Internal to sim/geodb/: the statement cache, checked statements and the
 * classification of SQLite's failures. Only the geodb_*.c modules include
 * this header (and with it sqlite3.h); the rest of the program sees the
 * typed API of geodb.h.
 *
 * Every SQLite call's result is checked. To keep writers readable, a
 * statement is driven through a struct geodb_q that remembers its first
 * failure: binds after a failed bind (or a failed prepare) do nothing, the
 * step is skipped, and the failure is returned once by geodb__q_exec or
 * geodb__q_close.
 */
#ifndef GEODB_SQL_H
#define GEODB_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "sim/geodb/geodb.h"

/* One use of a statement: bind, step, close. */
struct geodb_q {
    struct geodb *db;
    sqlite3_stmt *stmt; /* NULL when preparing failed */
    bool owned;         /* finalized by geodb__q_close (else only reset) */
    int rc;             /* GEODB_OK, or the first failure (message in the db) */
};

/* The cached statement for a fixed SQL text (cached by the text's
 * address), reset and unbound. */
int geodb__q_open(struct geodb_q *q, struct geodb *db, const char *sql);
/* A statement prepared for this use only (SQL built at run time). */
int geodb__q_prepare(struct geodb_q *q, struct geodb *db, const char *sql);
/* A statement the caller prepared and keeps (reset, not finalized). */
void geodb__q_use(struct geodb_q *q, struct geodb *db, sqlite3_stmt *stmt);

/* Binds to ?index. Text is bound without copying and must stay valid until
 * the statement is stepped; NULL binds NULL. opt_text leaves ?index unbound
 * (NULL: the tables store absent values as NULL) for NULL or "", so that it
 * also serves statements without that parameter. */
void geodb__q_text(struct geodb_q *q, int index, const char *text);
void geodb__q_opt_text(struct geodb_q *q, int index, const char *text);
void geodb__q_int64(struct geodb_q *q, int index, int64_t value);

/* Steps once: true with a row in q->stmt, false at the end or on a failure
 * (then recorded in q->rc, with what in the message). */
bool geodb__q_row(struct geodb_q *q, const char *what);
/* Resets (or finalizes an owned statement) and returns q->rc. */
int geodb__q_close(struct geodb_q *q);
/* Steps a statement that returns no rows (a row is tolerated) and closes it. */
int geodb__q_exec(struct geodb_q *q, const char *what);

/* Runs the cached statement sql with arg bound to ?1 and hands its first
 * row to read. GEODB_NOTFOUND when there is none. */
int geodb__get_row(struct geodb *db, const char *sql, const char *arg,
                   void (*read)(sqlite3_stmt *stmt, void *out), void *out, const char *what);

/* Whether schema ("main" or an attached alias) has a table called name,
 * decided by asking its sqlite_schema: a failure to ask is a failure, not
 * an absent table. */
int geodb__table_exists(struct geodb *db, const char *schema, const char *name, bool *exists);

/* Records the failure of an SQLite call that returned code in the db's
 * message and returns its classification: GEODB_BUSY, GEODB_CONSTRAINT,
 * GEODB_NOTGEODB, GEODB_CORRUPT, GEODB_ACCESS or GEODB_IO, decided by the
 * result code, never by the message text. */
int geodb__fail_code(struct geodb *db, const char *what, int code);
/* The classification alone. */
int geodb__classify(int code);

/* The key of a site or backend id in the refs table (the users table's
 * references), adding a row when the id has none yet. Inside a
 * transaction; the keys it hands out are forgotten if that rolls back. */
int geodb__ref_key(struct geodb *db, const char *id, int64_t *out);

sqlite3 *geodb__handle(struct geodb *db);
/* The error message buffer (GEODB_ERRMSG_SIZE bytes), for failures that
 * are not SQLite's. */
char *geodb__errbuf(struct geodb *db);

#endif
