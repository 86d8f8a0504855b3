/*
 * Files for the fuzz targets: a private scratch directory (in /dev/shm when
 * there is one, so that an iteration costs no disk I/O), whole-file reads
 * and writes, and an integrity check of a GeoDB. Any failure here is the
 * harness's, not the code under test's: it aborts with a message.
 */
#ifndef FUZZFILE_H
#define FUZZFILE_H

#include <stdbool.h>
#include <stddef.h>

/* A file's bytes, in a buffer that is reused from one read to the next
 * (a fresh allocation per read cost more than the command it checked). */
struct fuzzfile_bytes {
    char *data;
    size_t len;
    size_t cap;
};

/* The scratch directory, created on first use and removed at exit. */
const char *fuzzfile_dir(void);
/* dir/name in a static buffer of its own per call site (copy it). */
void fuzzfile_path(const char *name, char *out, size_t size);
/* Replaces path (and its -wal/-shm/-journal companions) by len bytes. */
void fuzzfile_write(const char *path, const void *data, size_t len);
/* Reads the whole file into b; 0, or -1 with b->len 0 if it is missing. */
int fuzzfile_load(const char *path, struct fuzzfile_bytes *b);
/* Whether a and b hold the same bytes. */
bool fuzzfile_same(const struct fuzzfile_bytes *a, const struct fuzzfile_bytes *b);
/* Whether path's SQLite `PRAGMA integrity_check` answers "ok". */
int fuzzfile_integrity_ok(const char *path);

#endif
