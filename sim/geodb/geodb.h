/*
 * The GeoDB emulation: one SQLite file stands in for one replica of
 * Palomar's Cassandra GeoDB.
 *
 * Cassandra resolves concurrent writes per cell by write timestamp, last
 * write wins, and deletes rows with timestamped tombstones. To be able to
 * replay split brains, every mutable cell here carries the timestamp (`_ts`,
 * virtual microseconds) and the writer (`_w`, a key of the `writers` table,
 * which maps it to the id of the site that wrote it). Writes are conditional
 * on (ts, writer) being at least the stored pair, so a replica applies the
 * same rule to local writes and to merged ones.
 *
 * This module owns the file: opening, schema and versions, transactions, the
 * write clock and writer, deterministic UUIDs and the statement cache. The
 * tables are read and written by geodb_topo.c (tags, sites, backends,
 * settings) and geodb_users.c (users, moves, statistics).
 */
#ifndef GEODB_H
#define GEODB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cluster.h"

#define GEODB_SCHEMA_VERSION 2
/* "CSGD" in PRAGMA application_id marks a file as a clustersim GeoDB. */
#define GEODB_APPLICATION_ID 0x43534744
/* The writer recorded for commands run without a local site. */
#define GEODB_ADMIN_SITE_ID "00000000-0000-0000-0000-000000000000"
#define GEODB_ERRMSG_SIZE 1024
/* The largest timestamp a GeoDB may hold: 2^62 virtual microseconds
 * (146,000 years), so that adding a step to any stored time cannot overflow.
 * Stored times in seconds (the director's, last_moved) are bounded by
 * GEODB_SECS_MAX (2^40 s) for the same reason. A file holding more is
 * damaged (geodb_check.h). */
#define GEODB_TS_MAX_US ((int64_t)1 << 62)
#define GEODB_SECS_MAX ((int64_t)1 << 40)
/* How long a connection waits for another one's lock before GEODB_BUSY. */
#define GEODB_BUSY_TIMEOUT_MS 5000

enum geodb_rc {
    GEODB_OK = 0,
    GEODB_NOTFOUND, /* no such live row */
    GEODB_EXISTS,   /* a live row already has that name or id */
    GEODB_INVALID,  /* a value is out of range or a limit is reached */
    GEODB_NOTGEODB, /* the file is not a clustersim GeoDB */
    GEODB_VERSION,  /* the schema version is not one this build knows */
    GEODB_IO,       /* SQLite failed otherwise; geodb_errmsg() says how */
    /* Failures classified by SQLite's result code (geodb_errmsg() has the
     * details). doveadm reports all of them like GEODB_IO. */
    GEODB_BUSY,       /* another connection holds the file locked */
    GEODB_CONSTRAINT, /* a write broke a rule of the schema */
    GEODB_CORRUPT,    /* the file or its schema is damaged */
    GEODB_ACCESS,     /* the file cannot be opened or written (permissions) */
};

struct geodb_options {
    bool create;              /* create file and schema when missing or empty */
    bool readonly;            /* open for reading only */
    bool no_cluster_settings; /* create without the cluster_settings table */
    bool fast;                /* synchronous=OFF: for throw-away simulation files */
    uint64_t uuid_seed;       /* seed of a new file's UUID stream */
};

struct geodb;

/* Opens (and with opts->create, creates) a GeoDB file. On failure *out is
 * NULL and err holds a one-line message naming the file. */
int geodb_open(const char *path, const struct geodb_options *opts, struct geodb **out,
               char *err, size_t err_size);
void geodb_close(struct geodb *db);
const char *geodb_path(const struct geodb *db);
const char *geodb_errmsg(const struct geodb *db);

/* A bulk load of a file nobody else has seen yet (the simulator's first
 * flush): no journal while it lasts, then back to WAL. Written once instead
 * of twice (journal, then checkpoint); only for files that a failed run
 * discards anyway. Outside transactions only. */
int geodb_bulk_begin(struct geodb *db);
int geodb_bulk_end(struct geodb *db);

/*
 * Transactions. Every command and every simulator batch is one transaction:
 *
 *     int rc = geodb_tx_begin(db);
 *     if (rc == GEODB_OK)
 *         rc = geodb_tx_end(db, write_things(db));
 *
 * geodb_tx_end commits when rc is GEODB_OK and rolls back otherwise; it
 * returns rc, the commit's failure, or the rollback's own failure (whose
 * message then follows the first one in geodb_errmsg()). A failed commit
 * rolls back. After a commit or a rollback, failed or not, the db is out of
 * its transaction.
 */
int geodb_tx_begin(struct geodb *db);
int geodb_tx_end(struct geodb *db, int rc);
int geodb_tx_commit(struct geodb *db);
int geodb_tx_rollback(struct geodb *db);
bool geodb_in_tx(const struct geodb *db);

/* Whether the connection cannot write (opened read-only, or the file is). */
bool geodb_readonly(const struct geodb *db);

/* The timestamp and writer of subsequent writes. The writer is a site id;
 * NULL or "" means the admin writer. */
void geodb_clock_set(struct geodb *db, int64_t ts_us);
int64_t geodb_clock(const struct geodb *db);
int geodb_writer_set(struct geodb *db, const char *site_id);
int64_t geodb_writer(const struct geodb *db);

/* The largest timestamp committed to the file, persisted across opens (it
 * is updated by every commit). The command-line doveadm writes one virtual
 * second after it, so that a file edited by hand stays deterministic without
 * a wall clock and every edit is newer than what a simulation wrote. */
int64_t geodb_clock_stored(const struct geodb *db);
/* The stored clock plus step_us, in *out: GEODB_INVALID (with a message)
 * when that passes GEODB_TS_MAX_US. Inside a transaction. */
int geodb_clock_next(struct geodb *db, int64_t step_us, int64_t *out);

/* A new UUID from the file's deterministic stream. */
int geodb_uuid_new(struct geodb *db, char out[CLUSTER_ID_SIZE]);
/* Gives the file its own UUID stream (a replica copied from another must
 * not generate the ids its origin generates). Outside transactions. */
int geodb_uuid_reseed(struct geodb *db, uint64_t seed);

/* Whether the cluster_settings table exists (Palomar: absent means all
 * features are on). */
bool geodb_has_settings_table(const struct geodb *db);

/* The writer key of a site id: the first 60 bits of the UUID, so that the
 * same site has the same key in every replica and keys order like ids. */
int64_t geodb_writer_key(const char *site_id);

/* True when s is a UUID in canonical lower- or upper-case text form. */
bool geodb_uuid_valid(const char *s);

#endif
