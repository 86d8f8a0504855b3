/*
 * An output directory that appears all at once or not at all. Files are
 * written into a hidden staging directory beside it (".NAME.tmp"); commit
 * renames the staging directory to NAME, replacing an earlier report there
 * whole, so that NAME never holds a mix of two runs or a half-written run.
 * A failed or aborted run, and a run stopped by SIGINT, SIGTERM or SIGHUP,
 * removes the staging directory. Only one outdir is open at a time (the
 * signal handler knows one).
 */
#ifndef OUTDIR_H
#define OUTDIR_H

#include <stddef.h>

/* The longest output directory path accepted: a staged file's path (this,
 * the staging suffix, a file name of OUTDIR_NAME_SIZE and an SQLite
 * "-journal") must fit the 512-byte paths of the GeoDB. */
#define OUTDIR_PATH_MAX 384
#define OUTDIR_NAME_SIZE 96
#define OUTDIR_FILES_MAX 32

struct outdir;

/* Checks that dir is new or holds only report files (an earlier report it
 * may replace), creates its parent directories and its staging directory,
 * and locks the latter against a concurrent run. NULL with err set when
 * any of that fails; nothing is created then but the parent directories. */
struct outdir *outdir_open(const char *dir, char *err, size_t err_size);
/* Registers name (a file the caller creates in the staging directory) and
 * writes its staged path into path. -1 when the name or the path does not
 * fit, or there are too many files. */
int outdir_add(struct outdir *d, const char *name, char *path, size_t size);
/* The final directory, as given (without trailing slashes). */
const char *outdir_final(const struct outdir *d);
/* Puts the staging directory in place of the final one and frees d.
 * Returns 0, or -1 with err set (d is then aborted). */
int outdir_commit(struct outdir *d, char *err, size_t err_size);
/* Removes the staging directory and everything in it; frees d. */
void outdir_abort(struct outdir *d);

#endif
