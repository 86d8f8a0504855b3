/*
 * Scratch files for the fuzz targets (see fuzzfile.h).
 */
#include "fuzz/fuzzfile.h"

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
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        harness_fail("cannot create", path);
    if ((len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        harness_fail("cannot write", path);
}

char *fuzzfile_read(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, used = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        harness_fail("out of memory reading", path);
    size_t got;
    while ((got = fread(buf + used, 1, cap - used, f)) > 0) {
        used += got;
        if (used == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (grown == NULL)
                harness_fail("out of memory reading", path);
            buf = grown;
        }
    }
    if (ferror(f))
        harness_fail("cannot read", path);
    fclose(f);
    *len = used;
    return buf;
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
