/*
 * Report files. The CSV writers share one struct csv each; the summary is
 * written at the end. Every file is written into the output directory's
 * staging directory (outdir.h), which becomes the report only when the run
 * finished and every write succeeded.
 */
#include "sim/base/report.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cluster.h"
#include "core/hash.h"
#include "sim/base/csv.h"
#include "sim/base/outdir.h"

#define PATH_SIZE (OUTDIR_PATH_MAX + 2 * OUTDIR_NAME_SIZE)

/* timeseries.csv is most of a large run's output (178 MB at 1,200
 * backends): past its first rows, they are formatted and written on a
 * second thread, in the order they were given, from a bounded queue of
 * copies. */
#define TS_QUEUE_ROWS 2048u
#define TS_BATCH_ROWS 256u /* the writer wakes per batch, not per row */
/* Rows written at once before the thread starts: a small report gains
 * nothing from it, and its writes stay in the caller's order and thread. */
#define TS_THREAD_AFTER_ROWS 50000
#define TS_WORD_SIZE 16 /* status and health words */

struct ts_entry {
    struct report_backend_row row; /* its strings point into the entry */
    char site[CLUSTER_NAME_SIZE];
    char backend[CLUSTER_NAME_SIZE];
    char status[TS_WORD_SIZE];
    char health[TS_WORD_SIZE];
};

struct ts_writer {
    pthread_t thread;
    bool tried; /* ts_start ran (the thread may still have failed to start) */
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* rows queued, rows written, or closing */
    struct ts_entry *ring;
    uint32_t head;  /* the oldest queued row */
    uint32_t count; /* rows queued, the writer's included until written */
    bool closing;
};

enum report_csv {
    CSV_TIMESERIES = 0,
    CSV_MOVES,
    CSV_EVENTS,
    CSV_EXPECTATIONS,
    CSV_SUMMARY,
    CSV_SITES,
    CSV_REPLICAS,
    CSV_DIRECTOR,
    CSV_OVERRIDES,
    CSV_COUNT
};

static const char *const csv_names[CSV_COUNT] = {
    "timeseries.csv", "moves.csv", "events.csv", "expectations.csv", "summary.csv", "sites.csv",
    "replicas.csv", "director.csv", "overrides.csv",
};

static const char *const timeseries_titles[] = {
    "time_s",  "site",       "backend",   "status",         "load_factor",       "users",
    "sessions", "resident",  "cpu",       "memory",         "metacache",         "logins_ok",
    "logins_failed", "deliveries_ok", "deliveries_failed", "redirects", "moves_in", "moves_out",
    "health", "failure_ratio", "score", "host_users", "checks_online", "checks_offline",
    "check_failures",
};
static const char *const sites_titles[] = {
    "time_s", "site", "status", "backends", "online", "users", "sessions", "desired_backends",
    "imbalance", "catastrophe", "logins", "logins_failed", "deliveries", "deliveries_failed",
};
static const char *const replicas_titles[] = {
    "time_s", "replica", "partition_group", "users", "moving", "stale_users", "hinted_users",
    "in_flight", "unreachable_sites",
};
static const char *const director_titles[] = {
    "time_s", "command", "host", "backend", "tag", "vhosts", "state", "users",
};
static const char *const moves_titles[] = {
    "time_s",  "user",       "reason",     "from_site", "from_backend",
    "to_site", "to_backend", "completion", "requested_s",
};
static const char *const events_titles[] = {
    "time_s", "site", "source", "kind", "subject", "dryrun", "detail",
};
static const char *const expectations_titles[] = {
    "time_s", "line", "subject", "assertion", "expected", "actual", "result",
};
static const char *const overrides_titles[] = {
    "kind", "key", "value",
};

struct report {
    struct outdir *out;
    const char *dir; /* the final directory, for messages */
    int nfiles;
    char names[REPORT_FILES_MAX][OUTDIR_NAME_SIZE];
    char paths[REPORT_FILES_MAX][PATH_SIZE]; /* where each is written */
    bool undigested[REPORT_FILES_MAX]; /* left out of the digest (report.html shows it) */
    FILE *files[CSV_COUNT];
    struct csv csv[CSV_COUNT];
    bool summary_written;
    bool sealed; /* closed and digested: only commit or abort remain */
    bool lean;   /* drop the GeoDB files at the seal */
    struct ts_writer ts;
};

static void timeseries_row(struct csv *c, const struct report_backend_row *x);

/* The writer thread: takes what is queued once a batch is (or the report
 * closes), formats it unlocked (the producer only fills slots outside
 * [head, head + count)), then frees it. */
static void *ts_thread(void *arg)
{
    struct report *r = arg;
    struct ts_writer *ts = &r->ts;
    pthread_mutex_lock(&ts->lock);
    for (;;) {
        while (ts->count < TS_BATCH_ROWS && !ts->closing)
            pthread_cond_wait(&ts->changed, &ts->lock);
        uint32_t n = ts->count, head = ts->head;
        if (n == 0)
            break; /* closing, and everything written */
        pthread_mutex_unlock(&ts->lock);
        for (uint32_t i = 0; i < n; i++)
            timeseries_row(&r->csv[CSV_TIMESERIES], &ts->ring[(head + i) % TS_QUEUE_ROWS].row);
        pthread_mutex_lock(&ts->lock);
        ts->head = (head + n) % TS_QUEUE_ROWS;
        ts->count -= n;
        pthread_cond_broadcast(&ts->changed);
    }
    pthread_mutex_unlock(&ts->lock);
    return NULL;
}

/* Without a thread (none could be started) rows are written at once. */
static void ts_start(struct report *r)
{
    struct ts_writer *ts = &r->ts;
    ts->tried = true;
    ts->ring = malloc(sizeof(*ts->ring) * TS_QUEUE_ROWS);
    if (ts->ring == NULL)
        return;
    pthread_mutex_init(&ts->lock, NULL);
    pthread_cond_init(&ts->changed, NULL);
    ts->started = pthread_create(&ts->thread, NULL, ts_thread, r) == 0;
    if (!ts->started) {
        pthread_mutex_destroy(&ts->lock);
        pthread_cond_destroy(&ts->changed);
        free(ts->ring);
        ts->ring = NULL;
    }
}

/* Waits until every queued row is written, then ends the thread. */
static void ts_stop(struct report *r)
{
    struct ts_writer *ts = &r->ts;
    if (!ts->started)
        return;
    pthread_mutex_lock(&ts->lock);
    ts->closing = true;
    pthread_cond_broadcast(&ts->changed);
    pthread_mutex_unlock(&ts->lock);
    pthread_join(ts->thread, NULL);
    assert(ts->count == 0);
    pthread_mutex_destroy(&ts->lock);
    pthread_cond_destroy(&ts->changed);
    free(ts->ring);
    ts->ring = NULL;
    ts->started = false;
}

static void word_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    assert(n < size); /* names are checked on entry; words are short */
    memcpy(dst, src, n + 1);
}

static void ts_queue(struct report *r, const struct report_backend_row *x)
{
    struct ts_writer *ts = &r->ts;
    pthread_mutex_lock(&ts->lock);
    while (ts->count == TS_QUEUE_ROWS)
        pthread_cond_wait(&ts->changed, &ts->lock);
    struct ts_entry *e = &ts->ring[(ts->head + ts->count) % TS_QUEUE_ROWS];
    e->row = *x;
    word_copy(e->site, sizeof(e->site), x->site);
    word_copy(e->backend, sizeof(e->backend), x->backend);
    word_copy(e->status, sizeof(e->status), x->status);
    word_copy(e->health, sizeof(e->health), x->health);
    e->row.site = e->site;
    e->row.backend = e->backend;
    e->row.status = e->status;
    e->row.health = e->health;
    if (++ts->count == TS_BATCH_ROWS)
        pthread_cond_broadcast(&ts->changed);
    pthread_mutex_unlock(&ts->lock);
}

/* Registers a file of the report; its staged path is r->paths[index]. */
static int add_file(struct report *r, const char *name)
{
    if (r->nfiles >= REPORT_FILES_MAX ||
        outdir_add(r->out, name, r->paths[r->nfiles], sizeof(r->paths[0])) != 0)
        return -1;
    snprintf(r->names[r->nfiles], sizeof(r->names[0]), "%s", name);
    return r->nfiles++;
}

static int open_csv(struct report *r, enum report_csv which, int ncols,
                    const char *const *titles)
{
    int i = add_file(r, csv_names[which]);
    if (i < 0)
        return -1;
    r->files[which] = fopen(r->paths[i], "wb");
    if (r->files[which] == NULL)
        return -1;
    if (titles != NULL)
        csv_start(&r->csv[which], r->files[which], ncols, titles);
    return 0;
}

struct report *report_open(const char *dir, char *err, size_t err_size)
{
    struct report *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, err_size, "%s: out of memory", dir);
        return NULL;
    }
    r->out = outdir_open(dir, err, err_size);
    if (r->out == NULL) {
        free(r);
        return NULL;
    }
    r->dir = outdir_final(r->out);
#define N(t) (int)(sizeof(t) / sizeof(t[0]))
    if (open_csv(r, CSV_TIMESERIES, N(timeseries_titles), timeseries_titles) != 0 ||
        open_csv(r, CSV_MOVES, N(moves_titles), moves_titles) != 0 ||
        open_csv(r, CSV_EVENTS, N(events_titles), events_titles) != 0 ||
        open_csv(r, CSV_EXPECTATIONS, N(expectations_titles), expectations_titles) != 0 ||
        open_csv(r, CSV_SUMMARY, 0, NULL) != 0 ||
        open_csv(r, CSV_SITES, N(sites_titles), sites_titles) != 0 ||
        open_csv(r, CSV_REPLICAS, N(replicas_titles), replicas_titles) != 0) {
        snprintf(err, err_size, "%s: cannot write: %s", r->dir, strerror(errno));
        report_abort(r);
        return NULL;
    }
#undef N
    return r;
}

int report_open_director(struct report *r)
{
    int n = (int)(sizeof(director_titles) / sizeof(director_titles[0]));
    return r->files[CSV_DIRECTOR] != NULL ? 0 : open_csv(r, CSV_DIRECTOR, n, director_titles);
}

void report_director(struct report *r, int64_t time_ms, const char *command, const char *host,
                     const char *backend, const char *tag, unsigned vhosts, bool down,
                     uint32_t users)
{
    struct csv *c = &r->csv[CSV_DIRECTOR];
    if (r->files[CSV_DIRECTOR] == NULL)
        return;
    csv_time_ms(c, time_ms);
    csv_str(c, command);
    csv_str(c, host);
    csv_str(c, backend);
    csv_str(c, tag);
    csv_int(c, vhosts);
    csv_str(c, down ? "down" : "up");
    csv_int(c, users);
    csv_end_row(c);
}

int report_register(struct report *r, const char *name, char *path, size_t size)
{
    int i = add_file(r, name);
    if (i < 0 || snprintf(path, size, "%s", r->paths[i]) >= (int)size)
        return -1;
    return 0;
}

int report_overrides(struct report *r, int n, const char *const *args, const bool *is_path)
{
    if (n == 0)
        return 0;
    if (open_csv(r, CSV_OVERRIDES, 3, overrides_titles) != 0)
        return -1;
    struct csv *c = &r->csv[CSV_OVERRIDES];
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(args[i], '=');
        assert(eq != NULL);
        char key[OUTDIR_NAME_SIZE * 4];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - args[i]), args[i]);
        csv_str(c, is_path[i] ? "scenario" : "setting");
        csv_str(c, key);
        csv_str(c, eq + 1);
        csv_end_row(c);
    }
    return 0;
}

void report_set_lean(struct report *r, bool lean)
{
    r->lean = lean;
}

static bool is_geodb_file(const char *name)
{
    size_t len = strlen(name);
    return len > 7 && strcmp(name + len - 7, ".sqlite") == 0;
}

/* Lean reports: the GeoDB files leave the report (and its digest) before
 * it is sealed; outdir still knows their names, which is harmless. */
static void drop_geodb_files(struct report *r)
{
    int kept = 0;
    for (int i = 0; i < r->nfiles; i++) {
        if (is_geodb_file(r->names[i])) {
            unlink(r->paths[i]);
            continue;
        }
        if (kept != i) {
            memcpy(r->names[kept], r->names[i], sizeof(r->names[0]));
            memcpy(r->paths[kept], r->paths[i], sizeof(r->paths[0]));
            r->undigested[kept] = r->undigested[i];
        }
        kept++;
    }
    r->nfiles = kept;
}

int report_register_undigested(struct report *r, const char *name, char *path, size_t size)
{
    int i = add_file(r, name);
    if (i < 0 || snprintf(path, size, "%s", r->paths[i]) >= (int)size)
        return -1;
    r->undigested[i] = true;
    return 0;
}

const char *report_staged_path(const struct report *r, const char *name)
{
    for (int i = 0; i < r->nfiles; i++)
        if (strcmp(r->names[i], name) == 0)
            return r->paths[i];
    return NULL;
}

static void close_files(struct report *r)
{
    ts_stop(r);
    for (int i = 0; i < CSV_COUNT; i++) {
        FILE *f = r->files[i];
        if (f == NULL)
            continue;
        errno = 0;
        bool failed = fflush(f) != 0 || ferror(f) != 0;
        int flush_errno = errno;
        if (fclose(f) != 0 && !failed) {
            failed = true;
            flush_errno = errno;
        }
        if (failed && r->csv[i].error == 0)
            r->csv[i].error = flush_errno != 0 ? flush_errno : EIO;
        r->files[i] = NULL;
    }
}

void report_abort(struct report *r)
{
    if (r == NULL)
        return;
    close_files(r);
    outdir_abort(r->out);
    free(r);
}

/* Hashes a file's bytes, mapped rather than read: the GeoDB files of a
 * large run are hundreds of megabytes. */
static int digest_file(struct hash_stream *ctx, const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = -1;
        } else {
            hash_stream_update(ctx, p, (size_t)st.st_size);
            munmap(p, (size_t)st.st_size);
        }
    }
    close(fd);
    return rc;
}

struct staged_file {
    const char *name;
    const char *path;
};

static int staged_cmp(const void *a, const void *b)
{
    return strcmp(((const struct staged_file *)a)->name, ((const struct staged_file *)b)->name);
}

/* A digest of every file (read where it was written), final names and
 * bytes, in name order. */
static int digest_files(const struct report *r, char digest[REPORT_DIGEST_SIZE])
{
    struct staged_file files[REPORT_FILES_MAX];
    int n = 0;
    for (int i = 0; i < r->nfiles; i++)
        if (!r->undigested[i])
            files[n++] = (struct staged_file){r->names[i], r->paths[i]};
    qsort(files, (size_t)n, sizeof(files[0]), staged_cmp);
    struct hash_stream ctx;
    hash_stream_init(&ctx, 0);
    for (int i = 0; i < n; i++) {
        hash_stream_update(&ctx, files[i].name, strlen(files[i].name) + 1);
        if (digest_file(&ctx, files[i].path) != 0)
            return -1;
    }
    uint8_t out[16];
    hash_stream_final(&ctx, out);
    for (int i = 0; i < 16; i++)
        snprintf(digest + 2 * i, 3, "%02x", out[i]);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int report_dir_digest(const char *dir, char digest[REPORT_DIGEST_SIZE])
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    char *names[REPORT_FILES_MAX];
    int n = 0, rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        /* report.html shows the digest, so it is not part of it. */
        if (e->d_name[0] == '.' || strcmp(e->d_name, "report.html") == 0)
            continue;
        if (n == REPORT_FILES_MAX || (names[n] = strdup(e->d_name)) == NULL)
            rc = -1;
        else
            n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), name_cmp);
    struct hash_stream ctx;
    hash_stream_init(&ctx, 0);
    char path[PATH_SIZE];
    for (int i = 0; i < n && rc == 0; i++) {
        hash_stream_update(&ctx, names[i], strlen(names[i]) + 1);
        if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path) ||
            digest_file(&ctx, path) != 0)
            rc = -1;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    if (rc != 0)
        return -1;
    uint8_t out[16];
    hash_stream_final(&ctx, out);
    for (int i = 0; i < 16; i++)
        snprintf(digest + 2 * i, 3, "%02x", out[i]);
    return 0;
}

int report_close(struct report *r, char *err, size_t err_size)
{
    assert(!r->sealed);
    close_files(r);
    for (int i = 0; i < CSV_COUNT; i++) {
        if (r->csv[i].error != 0) {
            snprintf(err, err_size, "%s/%s: write failed: %s", r->dir, csv_names[i],
                     strerror(r->csv[i].error));
            report_abort(r);
            return -1;
        }
    }
    return 0;
}

int report_seal_files(struct report *r, char *err, size_t err_size)
{
    if (report_close(r, err, err_size) != 0)
        return -1;
    r->sealed = true;
    if (r->lean)
        drop_geodb_files(r);
    return 0;
}

int report_digest(const struct report *r, char digest[REPORT_DIGEST_SIZE], char *err,
                  size_t err_size)
{
    assert(r->sealed);
    if (digest_files(r, digest) != 0) {
        snprintf(err, err_size, "%s: cannot read back the report: %s", r->dir, strerror(errno));
        return -1;
    }
    return 0;
}

int report_seal(struct report *r, char digest[REPORT_DIGEST_SIZE], char *err, size_t err_size)
{
    if (report_seal_files(r, err, err_size) != 0)
        return -1;
    if (report_digest(r, digest, err, err_size) != 0) {
        report_abort(r);
        return -1;
    }
    return 0;
}

int report_commit(struct report *r, char *err, size_t err_size)
{
    assert(r->sealed);
    int rc = outdir_commit(r->out, err, err_size);
    free(r);
    return rc;
}

int report_finish(struct report *r, char digest[REPORT_DIGEST_SIZE], char *err, size_t err_size)
{
    if (report_seal(r, digest, err, err_size) != 0)
        return -1;
    return report_commit(r, err, err_size);
}

void report_backend(struct report *r, const struct report_backend_row *x)
{
    if (!r->ts.tried && r->csv[CSV_TIMESERIES].rows >= TS_THREAD_AFTER_ROWS)
        ts_start(r);
    if (r->ts.started)
        ts_queue(r, x);
    else
        timeseries_row(&r->csv[CSV_TIMESERIES], x);
}

static void timeseries_row(struct csv *c, const struct report_backend_row *x)
{
    csv_int(c, x->time_ms / 1000);
    csv_str(c, x->site);
    csv_str(c, x->backend);
    csv_str(c, x->status);
    csv_int(c, x->load_factor);
    csv_int(c, x->users);
    csv_int(c, x->sessions);
    csv_int(c, x->resident);
    csv_fixed(c, x->cpu, 2);
    csv_fixed(c, x->memory, 2);
    csv_fixed(c, x->metacache, 2);
    csv_int(c, x->logins_ok);
    csv_int(c, x->logins_failed);
    csv_int(c, x->deliveries_ok);
    csv_int(c, x->deliveries_failed);
    csv_int(c, x->redirects);
    csv_int(c, x->moves_in);
    csv_int(c, x->moves_out);
    csv_str(c, x->health);
    if (x->failure_ratio_ppm >= 0)
        csv_fixed(c, x->failure_ratio_ppm / 1e6, 4);
    else
        csv_str(c, "");
    if (x->scored)
        csv_fixed(c, x->score, 3);
    else
        csv_str(c, "");
    if (x->host_users >= 0)
        csv_int(c, x->host_users);
    else
        csv_str(c, "");
    csv_int(c, x->checks_online);
    csv_int(c, x->checks_offline);
    csv_int(c, x->check_failures);
    csv_end_row(c);
}

void report_site(struct report *r, const struct report_site_row *x)
{
    struct csv *c = &r->csv[CSV_SITES];
    csv_int(c, x->time_ms / 1000);
    csv_str(c, x->site);
    csv_str(c, x->status);
    csv_int(c, x->backends);
    csv_int(c, x->online);
    csv_int(c, x->users);
    csv_int(c, x->sessions);
    csv_int(c, x->desired_backends);
    csv_fixed(c, x->imbalance, 4);
    csv_int(c, x->catastrophe ? 1 : 0);
    csv_int(c, x->logins);
    csv_int(c, x->logins_failed);
    csv_int(c, x->deliveries);
    csv_int(c, x->deliveries_failed);
    csv_end_row(c);
}

void report_replica(struct report *r, const struct report_replica_row *x)
{
    struct csv *c = &r->csv[CSV_REPLICAS];
    csv_int(c, x->time_ms / 1000);
    csv_str(c, x->replica);
    csv_int(c, x->group);
    csv_int(c, x->users);
    csv_int(c, x->moving);
    csv_int(c, x->stale);
    csv_int(c, x->hinted);
    csv_int(c, x->in_flight);
    csv_str(c, x->unreachable);
    csv_end_row(c);
}

void report_event(struct report *r, int64_t time_ms, const char *site, const char *source,
                  const char *kind, const char *subject, bool dryrun, const char *detail)
{
    struct csv *c = &r->csv[CSV_EVENTS];
    csv_time_ms(c, time_ms);
    csv_str(c, site);
    csv_str(c, source);
    csv_str(c, kind);
    csv_str(c, subject);
    csv_int(c, dryrun ? 1 : 0);
    csv_str(c, detail);
    csv_end_row(c);
}

void report_move(struct report *r, int64_t time_ms, const char *user, const char *reason,
                 const char *from_site, const char *from_backend, const char *to_site,
                 const char *to_backend, const char *completion, int64_t requested_s)
{
    struct csv *c = &r->csv[CSV_MOVES];
    csv_time_ms(c, time_ms);
    csv_str(c, user);
    csv_str(c, reason);
    csv_str(c, from_site);
    csv_str(c, from_backend);
    csv_str(c, to_site);
    csv_str(c, to_backend);
    csv_str(c, completion);
    csv_int(c, requested_s);
    csv_end_row(c);
}

void report_expectation(struct report *r, int64_t time_ms, int line, const char *subject,
                        const char *assertion, const char *expected, const char *actual,
                        bool ok)
{
    struct csv *c = &r->csv[CSV_EXPECTATIONS];
    csv_time_ms(c, time_ms);
    csv_int(c, line);
    csv_str(c, subject);
    csv_str(c, assertion);
    csv_str(c, expected);
    csv_str(c, actual);
    csv_str(c, ok ? "pass" : "fail");
    csv_end_row(c);
}

void report_summary(struct report *r, int n, const char *const *names,
                    const char *const *values)
{
    assert(!r->summary_written);
    struct csv *c = &r->csv[CSV_SUMMARY];
    csv_start(c, r->files[CSV_SUMMARY], n, names);
    for (int i = 0; i < n; i++)
        csv_str(c, values[i]);
    csv_end_row(c);
    r->summary_written = true;
}
