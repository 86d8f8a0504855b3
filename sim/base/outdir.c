/*
 * The output directory's staging, replacement and clean-up (see outdir.h).
 * A replaced report is first renamed aside (".NAME.old") and removed after
 * the new one is in place: a run killed between the two renames leaves
 * either the old report or none under NAME, never a mix. The staging
 * directory is locked with flock() so that a leftover of a killed run can be
 * told from the staging directory of a run still going.
 */
#include "sim/base/outdir.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_SIZE (OUTDIR_PATH_MAX + 64)
#define NSIGNALS 3

static const int cleanup_signals[NSIGNALS] = {SIGINT, SIGTERM, SIGHUP};
/* SQLite's companions of a database file. */
static const char *const companions[] = {"", "-wal", "-shm", "-journal"};
#define NCOMPANIONS (int)(sizeof(companions) / sizeof(companions[0]))

struct outdir {
    char final[PATH_SIZE];
    char staging[2 * PATH_SIZE];
    char aside[2 * PATH_SIZE]; /* where a replaced report waits to be removed */
    int lock_fd;
    volatile sig_atomic_t nfiles;
    char names[OUTDIR_FILES_MAX][OUTDIR_NAME_SIZE];
    bool handlers[NSIGNALS];
    struct sigaction saved[NSIGNALS];
};

/* The open outdir, for the signal handler. */
static struct outdir *volatile signal_outdir;

/* a + b + c into out (size bytes) with async-signal-safe calls only; false
 * when it does not fit. */
static bool join3(char *out, size_t size, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    if (la + lb + lc >= size)
        return false;
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c, lc + 1);
    return true;
}

/* Unlinks every registered file (and its SQLite companions) and the staging
 * directory. Async-signal-safe: the signal handler calls it. */
static void remove_staged(const struct outdir *d)
{
    char dir[2 * PATH_SIZE + 1], path[4 * PATH_SIZE];
    if (!join3(dir, sizeof(dir), d->staging, "/", ""))
        return;
    for (int i = 0; i < d->nfiles; i++) {
        for (int c = 0; c < NCOMPANIONS; c++) {
            if (join3(path, sizeof(path), dir, d->names[i], companions[c]))
                unlink(path);
        }
    }
    rmdir(d->staging);
}

static void on_signal(int sig)
{
    struct outdir *d = signal_outdir;
    if (d != NULL)
        remove_staged(d);
    /* SA_RESETHAND restored the default action: die of the signal. */
    raise(sig);
}

static void handlers_install(struct outdir *d)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NSIGNALS; i++)
        sigaddset(&sa.sa_mask, cleanup_signals[i]);
    signal_outdir = d;
    for (int i = 0; i < NSIGNALS; i++) {
        /* An ignored signal (nohup, a background job) stays ignored. */
        if (sigaction(cleanup_signals[i], NULL, &d->saved[i]) != 0 ||
            d->saved[i].sa_handler == SIG_IGN)
            continue;
        d->handlers[i] = sigaction(cleanup_signals[i], &sa, NULL) == 0;
    }
}

static void handlers_restore(struct outdir *d)
{
    for (int i = 0; i < NSIGNALS; i++) {
        if (d->handlers[i])
            sigaction(cleanup_signals[i], &d->saved[i], NULL);
        d->handlers[i] = false;
    }
    if (signal_outdir == d)
        signal_outdir = NULL;
}

static void signals_block(sigset_t *saved)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < NSIGNALS; i++)
        sigaddset(&set, cleanup_signals[i]);
    sigprocmask(SIG_BLOCK, &set, saved);
}

/* A file name a report holds: *.csv, *.sqlite and SQLite's companions of
 * it, report.html, metrics.om, and the ".NAME.tmp" temporaries of earlier
 * versions. */
static bool report_file_name(const char *name)
{
    char base[OUTDIR_NAME_SIZE + 32];
    if (snprintf(base, sizeof(base), "%s", name) >= (int)sizeof(base))
        return false;
    size_t len = strlen(base);
    static const char *const strip[] = {"-wal", "-shm", "-journal", ".tmp"};
    for (size_t i = 0; i < sizeof(strip) / sizeof(strip[0]); i++) {
        size_t n = strlen(strip[i]);
        if (len > n && strcmp(base + len - n, strip[i]) == 0)
            base[len -= n] = '\0';
    }
    if (strcmp(base, "report.html") == 0 || strcmp(base, "metrics.om") == 0)
        return true;
    return (len > 4 && strcmp(base + len - 4, ".csv") == 0) ||
           (len > 7 && strcmp(base + len - 7, ".sqlite") == 0);
}

/* 0 when dir does not exist or holds only report files (regular files); -1
 * with err naming what is in the way. */
static int check_replaceable(const char *dir, char *err, size_t err_size)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, err_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "%s: exists and is not a directory", dir);
        return -1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_size, "%s: cannot read: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    char path[4 * PATH_SIZE];
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!report_file_name(e->d_name) || lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, err_size,
                     "%s: holds %s, which is not a report file; refusing to replace the "
                     "directory (give a new or an earlier report's directory)",
                     dir, e->d_name);
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

/* Unlinks the regular files in dir, then dir itself unless keep_dir. -1
 * when something stays (a subdirectory, a file it may not remove). */
static int clear_dir(const char *dir, bool keep_dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *e;
    char path[4 * PATH_SIZE];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || unlink(path) != 0)
            rc = -1;
    }
    closedir(d);
    if (!keep_dir && rc == 0 && rmdir(dir) != 0)
        rc = -1;
    return rc;
}

static int mkdir_parents(const char *path)
{
    char buf[PATH_SIZE];
    snprintf(buf, sizeof(buf), "%s", path);
    char *last = strrchr(buf, '/');
    if (last == NULL || last == buf)
        return 0;
    *last = '\0';
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(buf, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

/* Fills final, staging and aside from dir. */
static int names_set(struct outdir *d, const char *dir, char *err, size_t err_size)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len > OUTDIR_PATH_MAX) {
        snprintf(err, err_size, "%.60s...: report directory path longer than %d bytes", dir,
                 OUTDIR_PATH_MAX);
        return -1;
    }
    memcpy(d->final, dir, len);
    d->final[len] = '\0';
    const char *slash = strrchr(d->final, '/');
    const char *base = slash != NULL ? slash + 1 : d->final;
    int prefix = (int)(base - d->final);
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        snprintf(err, err_size, "%s: cannot use as a report directory (give it a name)", dir);
        return -1;
    }
    snprintf(d->staging, sizeof(d->staging), "%.*s.%s.tmp", prefix, d->final, base);
    snprintf(d->aside, sizeof(d->aside), "%.*s.%s.old", prefix, d->final, base);
    return 0;
}

/* Creates (or takes over a killed run's) staging directory and locks it. */
static int staging_create(struct outdir *d, char *err, size_t err_size)
{
    bool existed = mkdir(d->staging, 0777) != 0;
    if (existed && errno != EEXIST) {
        snprintf(err, err_size, "%s: cannot create: %s", d->staging, strerror(errno));
        return -1;
    }
    d->lock_fd = open(d->staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->lock_fd < 0) {
        snprintf(err, err_size, "%s: cannot open: %s", d->staging, strerror(errno));
        return -1;
    }
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, err_size,
                 "%s: another clustersim run is writing a report into this directory right "
                 "now (it holds the lock on %s); two runs never share one: wait for it, or "
                 "give this run another --out",
                 d->final, d->staging);
        close(d->lock_fd);
        d->lock_fd = -1;
        return -1;
    }
    /* Leftovers of a killed run: its staging files, a report it was
     * replacing. */
    if ((existed && clear_dir(d->staging, true) != 0) || clear_dir(d->aside, false) != 0) {
        snprintf(err, err_size, "%s: cannot remove a killed run's leftovers (%s, %s)", d->final,
                 d->staging, d->aside);
        return -1;
    }
    return 0;
}

static void outdir_free(struct outdir *d)
{
    handlers_restore(d);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    free(d);
}

struct outdir *outdir_open(const char *dir, char *err, size_t err_size)
{
    struct outdir *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(err, err_size, "%s: out of memory", dir);
        return NULL;
    }
    d->lock_fd = -1;
    if (names_set(d, dir, err, err_size) != 0 ||
        check_replaceable(d->final, err, err_size) != 0) {
        free(d);
        return NULL;
    }
    if (mkdir_parents(d->final) != 0) {
        snprintf(err, err_size, "%s: cannot create its parent directory: %s", d->final,
                 strerror(errno));
        free(d);
        return NULL;
    }
    if (staging_create(d, err, err_size) != 0) {
        if (d->lock_fd >= 0)
            rmdir(d->staging);
        outdir_free(d);
        return NULL;
    }
    handlers_install(d);
    return d;
}

int outdir_add(struct outdir *d, const char *name, char *path, size_t size)
{
    if (d->nfiles >= OUTDIR_FILES_MAX || strlen(name) >= OUTDIR_NAME_SIZE)
        return -1;
    int n = snprintf(path, size, "%s/%s", d->staging, name);
    if (n < 0 || (size_t)n + strlen("-journal") >= size)
        return -1;
    /* The name first, then the count the signal handler reads. */
    snprintf(d->names[d->nfiles], sizeof(d->names[0]), "%s", name);
    d->nfiles = d->nfiles + 1;
    return 0;
}

const char *outdir_final(const struct outdir *d)
{
    return d->final;
}

static bool registered(const struct outdir *d, const char *name)
{
    for (int i = 0; i < d->nfiles; i++) {
        if (strcmp(d->names[i], name) == 0)
            return true;
    }
    return false;
}

/* -1 with err set when the staging directory holds a file nobody
 * registered: an SQLite journal left by a database that did not close
 * cleanly, whose contents the report would then lack. */
static int check_staged(const struct outdir *d, char *err, size_t err_size)
{
    DIR *dir = opendir(d->staging);
    if (dir == NULL) {
        snprintf(err, err_size, "%s: cannot read: %s", d->staging, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            !registered(d, e->d_name)) {
            snprintf(err, err_size, "%s/%s: left over by the run (not a report file)",
                     d->staging, e->d_name);
            rc = -1;
        }
    }
    closedir(dir);
    return rc;
}

/* The renames of a commit; signals are blocked meanwhile. */
static int swap_in(struct outdir *d, char *err, size_t err_size)
{
    if (check_staged(d, err, err_size) != 0 || check_replaceable(d->final, err, err_size) != 0)
        return -1;
    bool replaced = rename(d->final, d->aside) == 0;
    if (!replaced && errno != ENOENT) {
        snprintf(err, err_size, "%s: cannot move the earlier report aside: %s", d->final,
                 strerror(errno));
        return -1;
    }
    if (rename(d->staging, d->final) != 0) {
        int error = errno;
        if (replaced)
            rename(d->aside, d->final);
        snprintf(err, err_size, "%s: cannot put the report in place: %s", d->final,
                 strerror(error));
        return -1;
    }
    /* A leftover here is hidden and removed by the next run. */
    if (replaced)
        clear_dir(d->aside, false);
    return 0;
}

int outdir_commit(struct outdir *d, char *err, size_t err_size)
{
    sigset_t saved;
    signals_block(&saved);
    int rc = swap_in(d, err, err_size);
    if (rc == 0)
        outdir_free(d);
    else
        outdir_abort(d);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    return rc;
}

void outdir_abort(struct outdir *d)
{
    if (d == NULL)
        return;
    /* A journal SQLite left beside a database, too. */
    remove_staged(d);
    clear_dir(d->staging, false);
    outdir_free(d);
}
