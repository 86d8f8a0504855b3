/*
 * Scratch files for the fuzz targets (see fuzzfile.h).
 */
#include "fuzz/fuzzfile.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[256];

static void harness_fail(const char *what, const char *path)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, path);
    abort();
}

static void unlink_all(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char name[600];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static void scratch_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz harness: could not remove %s\n", scratch);
}

const char *fuzzfile_dir(void)
{
    if (scratch[0] != '\0')
        return scratch;
    struct stat st;
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)) ? "/dev/shm" : "/tmp";
    snprintf(scratch, sizeof(scratch), "%s/clustersim-fuzz-XXXXXX", base);
    if (mkdtemp(scratch) == NULL)
        harness_fail("cannot create a scratch directory", scratch);
    atexit(scratch_remove);
    return scratch;
}

void fuzzfile_path(const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", fuzzfile_dir(), name);
    if (n < 0 || (size_t)n >= size)
        harness_fail("path too long", name);
}

void fuzzfile_write(const char *path, const void *data, size_t len)
{
    unlink_all(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        harness_fail("cannot create", path);
    const char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n <= 0)
            harness_fail("cannot write", path);
        done += (size_t)n;
    }
    if (close(fd) != 0)
        harness_fail("cannot write", path);
}

/* One open, fstat and read into a buffer that only grows. */
int fuzzfile_load(const char *path, struct fuzzfile_bytes *b)
{
    b->len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0)
        harness_fail("cannot stat", path);
    size_t want = (size_t)st.st_size;
    if (want + 1 > b->cap) {
        char *grown = realloc(b->data, want + 1);
        if (grown == NULL)
            harness_fail("out of memory reading", path);
        b->data = grown;
        b->cap = want + 1;
    }
    /* Read to the end, not to st_size: one byte more says it grew. */
    for (;;) {
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0)
            harness_fail("cannot read", path);
        if (n == 0)
            break;
        b->len += (size_t)n;
        if (b->len == b->cap)
            harness_fail("file grew while read", path);
    }
    close(fd);
    return 0;
}

bool fuzzfile_same(const struct fuzzfile_bytes *a, const struct fuzzfile_bytes *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int fuzzfile_integrity_ok(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int ok = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(stmt, 0);
        ok = text != NULL && strcmp((const char *)text, "ok") == 0;
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return ok;
}
