/*
 * Helpers shared by the cmocka test programs: temporary directories, whole-
 * file reads, and running doveadm commands in-process with their output
 * captured. Header-only (static inline) so each test stays one program.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/doveadm/doveadm.h"

#define TL_PATH_SIZE 512
#define TL_OUT_SIZE 65536

struct tl_dir {
    char path[TL_PATH_SIZE];
};

/* A fresh directory under $TMPDIR (or /tmp). */
static inline int tl_dir_make(struct tl_dir *dir)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir->path, sizeof(dir->path), "%s/clustersim-test-XXXXXX", base ? base : "/tmp");
    return mkdtemp(dir->path) != NULL ? 0 : -1;
}

/* Removes the directory and the files in it (tests create no subdirs). */
static inline void tl_dir_remove(struct tl_dir *dir)
{
    DIR *d = opendir(dir->path);
    if (d == NULL)
        return;
    struct dirent *e;
    char file[TL_PATH_SIZE * 2];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(file, sizeof(file), "%s/%s", dir->path, e->d_name);
        unlink(file);
    }
    closedir(d);
    rmdir(dir->path);
}

static inline void tl_path(const struct tl_dir *dir, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", dir->path, name);
}

/* Reads a whole file; the caller frees. NULL when it does not exist. */
static inline unsigned char *tl_file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size + 1);
    if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[size] = 0;
        *len = (size_t)size;
    }
    return buf;
}

static inline int tl_file_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static inline int tl_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The output of one in-process doveadm command. */
struct tl_run {
    int rc;
    char out[TL_OUT_SIZE];
    char err[TL_OUT_SIZE];
};

/* Runs "cluster ..." against the GeoDB file at path, as the command line
 * would (the file is opened and closed by the command), with optional -o
 * settings given as "key=value" strings terminated by NULL in settings. */
static inline int tl_doveadm_o(struct tl_run *run, const char *path, const char *format,
                               const char *const *settings, const char *line)
{
    struct doveadm_ctx ctx;
    doveadm_ctx_init(&ctx);
    ctx.geodb_path = path;
    if (format != NULL)
        ctx.format = (enum fmt_kind)fmt_kind_parse(format);
    FILE *out = fmemopen(run->out, sizeof(run->out) - 1, "w");
    FILE *err = fmemopen(run->err, sizeof(run->err) - 1, "w");
    memset(run->out, 0, sizeof(run->out));
    memset(run->err, 0, sizeof(run->err));
    ctx.out = out;
    ctx.err = err;
    int rc = 0;
    for (int i = 0; settings != NULL && settings[i] != NULL && rc == 0; i++)
        rc = doveadm_setting_set(&ctx, settings[i]);
    if (rc == 0)
        rc = doveadm_run_line(&ctx, line);
    fclose(out);
    fclose(err);
    run->rc = rc;
    return rc;
}

static inline int tl_doveadm(struct tl_run *run, const char *path, const char *line)
{
    return tl_doveadm_o(run, path, NULL, NULL, line);
}

/* Whether the file at path holds exactly the len bytes of before. */
static inline int tl_file_same(const char *path, const unsigned char *before, size_t len)
{
    size_t len_now = 0;
    unsigned char *now = tl_file_read(path, &len_now);
    int same = now != NULL && len_now == len && memcmp(now, before, len) == 0;
    free(now);
    return same;
}

/* A doveadm command that must be rejected: its exit code and a part of its
 * error message. */
struct tl_rejected {
    const char *line;
    int rc;
    const char *message;
};

/* Runs each case against the file at path: each must exit with its code,
 * print "Error: ..." with its message on stderr and nothing on stdout, and
 * leave the file byte-for-byte as it was. 0, or -1 with why saying how the
 * first case that did not went. */
static inline int tl_rejected_all(struct tl_run *run, const char *path,
                                  const struct tl_rejected *cases, size_t n, char *why,
                                  size_t size)
{
    size_t len = 0;
    unsigned char *before = tl_file_read(path, &len);
    int rc = before != NULL ? 0 : -1;
    if (before == NULL)
        snprintf(why, size, "%s: cannot read it", path);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct tl_rejected *c = &cases[i];
        tl_doveadm(run, path, c->line);
        if (run->rc != c->rc || strstr(run->err, c->message) == NULL ||
            strncmp(run->err, "Error: ", 7) != 0 || run->out[0] != '\0') {
            snprintf(why, size, "'%s': rc %d (want %d), stderr '%s' (want '%s'), stdout '%s'",
                     c->line, run->rc, c->rc, run->err, c->message, run->out);
            rc = -1;
        } else if (!tl_file_same(path, before, len)) {
            snprintf(why, size, "'%s' changed the GeoDB file", c->line);
            rc = -1;
        }
    }
    free(before);
    return rc;
}

/* Runs a shell command and captures its stdout (for the sqlite3 CLI). */
static inline int tl_shell(char *out, size_t size, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    return pclose(p);
}

#endif
