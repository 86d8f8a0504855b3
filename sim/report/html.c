/*
 * report.html (html.h).
 *
 * Made from the report's staged CSV files, not from the world's memory: the
 * world streams its samples to the CSVs and keeps no history, the CSVs are
 * the report's reference, and a page drawn from them shows exactly what
 * they say (and could be redrawn from any earlier report). Each file is
 * read once, row by row, into a grid of at most BUCKETS_MAX equal time
 * buckets: a state (users, status) keeps the bucket's last sample, a load
 * its highest, a count (failures, moves) is summed and shown per minute.
 * More than LINES_MAX backends are drawn as heat maps (PNG images, one row
 * per backend) instead of lines, which keeps the 1M-user, 120-backend,
 * 24-hour bench's page small.
 *
 * The digest printed by the run covers every file but this one: the page
 * shows the digest, so it cannot be part of it. It is written after
 * report_seal and before report_commit, so it appears with the rest.
 */
#include "sim/report/html.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/base/isotime.h"
#include "sim/base/split.h"
#include "sim/report/csvread.h"
#include "sim/report/svg.h"

#define BUCKETS_MAX 360
#define LINES_MAX 12
#define NAME_SIZE 160
#define TITLE_LINES_MAX 8
#define MERGE_PX 3.0         /* on the events chart */
#define OVERLAY_MERGE_PX 8.0 /* over every other chart: fewer, wider ticks */
#define OVERLAY_LINES_MAX 5
#define EXPECT_ROWS_MAX 2000

/* ---- series on the time grid ---- */

struct grid {
    int nb;
    int64_t duration_s;
};

static int bucket_of(const struct grid *g, double t_s)
{
    if (t_s <= 0 || g->duration_s <= 0)
        return 0;
    int b = (int)ceil(t_s * g->nb / (double)g->duration_s) - 1;
    return b < 0 ? 0 : b >= g->nb ? g->nb - 1 : b;
}

static double bucket_minutes(const struct grid *g)
{
    return (double)g->duration_s / g->nb / 60.0;
}

enum agg { AGG_LAST, AGG_MAX, AGG_SUM };

/* Series of one kind (users per backend, ...), one per name. */
struct family {
    enum agg agg;
    int n, cap, nb;
    char (*names)[NAME_SIZE];
    double *v; /* n * nb */
    int hint;  /* the last series found: rows come in the same order */
};

static int family_find(struct family *fam, const char *name)
{
    if (fam->hint + 1 < fam->n && strcmp(fam->names[fam->hint + 1], name) == 0)
        return ++fam->hint;
    for (int i = 0; i < fam->n; i++)
        if (strcmp(fam->names[i], name) == 0)
            return fam->hint = i;
    if (fam->n == fam->cap) {
        int cap = fam->cap ? fam->cap * 2 : 16;
        void *names = realloc(fam->names, (size_t)cap * sizeof(*fam->names));
        if (names == NULL)
            return -1;
        fam->names = names;
        double *v = realloc(fam->v, (size_t)cap * (size_t)fam->nb * sizeof(double));
        if (v == NULL)
            return -1;
        fam->v = v;
        fam->cap = cap;
    }
    int i = fam->n++;
    snprintf(fam->names[i], NAME_SIZE, "%s", name);
    for (int b = 0; b < fam->nb; b++)
        fam->v[(size_t)i * fam->nb + b] = fam->agg == AGG_SUM ? 0 : NAN;
    return fam->hint = i;
}

static int family_add(struct family *fam, const char *name, int bucket, double value)
{
    int i = family_find(fam, name);
    if (i < 0)
        return -1;
    double *cell = &fam->v[(size_t)i * fam->nb + bucket];
    if (fam->agg == AGG_SUM)
        *cell += value;
    else if (fam->agg == AGG_LAST || isnan(*cell) || value > *cell)
        *cell = value;
    return 0;
}

static const double *family_row(const struct family *fam, int i)
{
    return &fam->v[(size_t)i * fam->nb];
}

static double family_max(const struct family *fam)
{
    double m = 0;
    for (size_t i = 0; i < (size_t)fam->n * fam->nb; i++)
        if (!isnan(fam->v[i]) && fam->v[i] > m)
            m = fam->v[i];
    return m;
}

static void family_scale(struct family *fam, double factor)
{
    for (size_t i = 0; i < (size_t)fam->n * fam->nb; i++)
        fam->v[i] *= factor;
}

static void family_free(struct family *fam)
{
    free(fam->names);
    free(fam->v);
}

/* States of backends and sites, as palette indexes of the strips. */
enum state {
    ST_NONE, ST_ONLINE, ST_STANDBY, ST_OFFLINE, ST_REMOVED, ST_EVACUATE, ST_CATASTROPHE,
    ST_COUNT
};
static const uint8_t state_palette[ST_COUNT * 3] = {
    0xee, 0xee, 0xee, 0x59, 0xa1, 0x4f, 0xb8, 0xb0, 0xac, 0xe1, 0x57, 0x59,
    0x33, 0x33, 0x33, 0xf2, 0x8e, 0x2b, 0x8e, 0x44, 0xad,
};
static const char *const state_names[ST_COUNT] = {
    "no data", "online / up", "standby", "offline / down", "removed / absent", "evacuate",
    "catastrophe protection engaged",
};

static enum state state_of(const char *word)
{
    static const struct {
        const char *word;
        enum state state;
    } map[] = {{"online", ST_ONLINE},   {"up", ST_ONLINE},         {"standby", ST_STANDBY},
               {"offline", ST_OFFLINE}, {"down", ST_OFFLINE},      {"removed", ST_REMOVED},
               {"absent", ST_REMOVED},  {"evacuate", ST_EVACUATE}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].word, word) == 0)
            return map[i].state;
    return ST_NONE;
}

/* ---- events and expectations ---- */

struct mark {
    double t_s;
    char site[64], source[16], kind[24], subject[NAME_SIZE], detail[256];
    bool dryrun;
};

struct expect_row {
    double t_s;
    char line[12], subject[NAME_SIZE], assertion[96], expected[64], actual[64];
    bool ok;
};

struct html_page {
    const struct html_run *run;
    struct report *report;
    struct grid grid;
    struct family users_be, cpu_be, mem_be, mc_be, state_be;
    struct family users_site, state_site, catastrophe_site;
    struct family login_fail_site, delivery_fail_site, moves_reason;
    struct family stale_replica, hinted_replica;
    struct mark *marks;
    int nmarks, cap_marks;
    struct expect_row *expects;
    int nexpects, cap_expects;
    char summary_names[CSVREAD_COLS_MAX][64], summary_values[CSVREAD_COLS_MAX][96];
    int nsummary;
    char *overlay; /* the events drawn over every chart */
    size_t overlay_size;
    char err[512];
};

static int grow(void **p, int *cap, int n, size_t size)
{
    if (n < *cap)
        return 0;
    int c = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, (size_t)c * size);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int open_csv(struct html_page *pg, struct csvread *c, const char *name)
{
    const char *path = report_staged_path(pg->report, name);
    if (path == NULL || csvread_open(c, path) != 0) {
        snprintf(pg->err, sizeof(pg->err), "%s: cannot read back: %s", name,
                 path ? strerror(errno) : "not in the report");
        return -1;
    }
    return 0;
}

static int close_csv(struct html_page *pg, struct csvread *c, const char *name, int rc)
{
    if (rc == 0 && c->error != 0) {
        snprintf(pg->err, sizeof(pg->err), "%s: cannot read back: %s", name,
                 strerror(c->error));
        rc = -1;
    } else if (rc != 0 && pg->err[0] == '\0') {
        snprintf(pg->err, sizeof(pg->err), "%s: out of memory", name);
    }
    csvread_close(c);
    return rc;
}

#define COL(c, title) csvread_field((c), csvread_col((c), (title)))

/* ---- timeseries.csv, read in two parts on two cores ---- */

/* Below this size one part: a thread costs more than it saves. The
 * environment's CLUSTERSIM_HTML_SPLIT_BYTES replaces it, so that a test can
 * draw one page both ways and compare (tests/html-split.sh). */
#define TS_SPLIT_BYTES (16u << 20)

enum { TS_USERS, TS_CPU, TS_MEM, TS_MC, TS_STATE, TS_FAMILIES };

/* The backends' families from the records that start in [from, to) (to
 * < 0: to the end). Records are lines: timeseries.csv holds checked names
 * and numbers, never a quoted line break, so a part may start at any line. */
struct ts_part {
    const char *path;
    const struct grid *grid;
    long from, to;
    struct family fam[TS_FAMILIES];
    int rc;    /* -1: out of memory */
    int error; /* errno of a failed open or read (EINVAL: malformed) */
};

static void ts_part_read(void *arg)
{
    struct ts_part *pt = arg;
    struct csvread c;
    if (csvread_open(&c, pt->path) != 0) {
        pt->error = errno ? errno : EIO;
        return;
    }
    int ct = csvread_col(&c, "time_s"),
        cb = csvread_col(&c, "backend"), cst = csvread_col(&c, "status"),
        cu = csvread_col(&c, "users"), ccpu = csvread_col(&c, "cpu"),
        cm = csvread_col(&c, "memory"), cmc = csvread_col(&c, "metacache");
    if (pt->from > 0 && csvread_seek_line(&c, pt->from) != 0)
        pt->error = errno ? errno : EIO;
    while (pt->error == 0 && pt->rc == 0 && (pt->to < 0 || csvread_tell(&c) < pt->to) &&
           csvread_next(&c)) {
        int b = bucket_of(pt->grid, atof(csvread_field(&c, ct)));
        char name[NAME_SIZE];
        snprintf(name, sizeof(name), "%s", csvread_field(&c, cb));
        pt->rc |= family_add(&pt->fam[TS_USERS], name, b, atof(csvread_field(&c, cu)));
        pt->rc |= family_add(&pt->fam[TS_CPU], name, b, atof(csvread_field(&c, ccpu)));
        pt->rc |= family_add(&pt->fam[TS_MEM], name, b, atof(csvread_field(&c, cm)));
        pt->rc |= family_add(&pt->fam[TS_MC], name, b, atof(csvread_field(&c, cmc)));
        pt->rc |= family_add(&pt->fam[TS_STATE], name, b, state_of(csvread_field(&c, cst)));
    }
    if (pt->error == 0)
        pt->error = c.error;
    csvread_close(&c);
}

/* Folds a later part into an earlier one as reading on would have: a
 * state keeps the later part's sample, a load the higher, and series first
 * seen in the later part come after the earlier part's. */
static int family_fold(struct family *into, const struct family *later)
{
    for (int i = 0; i < later->n; i++) {
        int k = family_find(into, later->names[i]);
        if (k < 0)
            return -1;
        const double *src = family_row(later, i);
        double *dst = &into->v[(size_t)k * into->nb];
        for (int b = 0; b < into->nb; b++) {
            if (isnan(src[b]))
                continue;
            if (into->agg == AGG_LAST || isnan(dst[b]) || src[b] > dst[b])
                dst[b] = src[b];
        }
    }
    return 0;
}

static int read_timeseries(struct html_page *pg)
{
    const char *path = report_staged_path(pg->report, "timeseries.csv");
    struct family *out[TS_FAMILIES] = {&pg->users_be, &pg->cpu_be, &pg->mem_be, &pg->mc_be,
                                       &pg->state_be};
    struct ts_part parts[2];
    memset(parts, 0, sizeof(parts));
    long size = path ? file_size(path) : -1;
    uint64_t split_at = split_threshold("CLUSTERSIM_HTML_SPLIT_BYTES", TS_SPLIT_BYTES);
    int nparts = size > 0 && (uint64_t)size >= split_at ? 2 : 1;
    for (int p = 0; p < nparts; p++) {
        parts[p] = (struct ts_part){.path = path, .grid = &pg->grid, .from = p ? size / 2 : 0,
                                    .to = p == 0 && nparts == 2 ? size / 2 : -1};
        for (int f = 0; f < TS_FAMILIES; f++)
            parts[p].fam[f] = (struct family){.agg = out[f]->agg, .nb = out[f]->nb};
    }
    int rc = 0, error = 0;
    if (path == NULL) {
        error = ENOENT;
    } else {
        struct split_task later;
        if (nparts == 2)
            split_start(&later, ts_part_read, &parts[1]);
        ts_part_read(&parts[0]);
        if (nparts == 2)
            split_join(&later);
        for (int p = 0; p < nparts; p++) {
            rc |= parts[p].rc;
            error = error ? error : parts[p].error;
            for (int f = 0; rc == 0 && error == 0 && f < TS_FAMILIES; f++)
                rc |= family_fold(out[f], &parts[p].fam[f]);
        }
    }
    for (int p = 0; p < nparts; p++)
        for (int f = 0; f < TS_FAMILIES; f++)
            family_free(&parts[p].fam[f]);
    if (error != 0)
        snprintf(pg->err, sizeof(pg->err), "timeseries.csv: cannot read back: %s",
                 path ? strerror(error) : "not in the report");
    else if (rc != 0)
        snprintf(pg->err, sizeof(pg->err), "timeseries.csv: out of memory");
    return error != 0 || rc != 0 ? -1 : 0;
}

static int read_sites(struct html_page *pg)
{
    struct csvread c;
    if (open_csv(pg, &c, "sites.csv") != 0)
        return -1;
    int rc = 0;
    while (rc == 0 && csvread_next(&c)) {
        int b = bucket_of(&pg->grid, atof(COL(&c, "time_s")));
        const char *site = COL(&c, "site");
        rc |= family_add(&pg->users_site, site, b, atof(COL(&c, "users")));
        rc |= family_add(&pg->state_site, site, b, state_of(COL(&c, "status")));
        rc |= family_add(&pg->catastrophe_site, site, b,
                         atoi(COL(&c, "catastrophe")) ? ST_CATASTROPHE : ST_NONE);
        /* sites.csv's failures include accesses that reached no backend
         * (a site down or unreachable), which timeseries.csv cannot show */
        rc |= family_add(&pg->login_fail_site, site, b, atof(COL(&c, "logins_failed")));
        rc |= family_add(&pg->delivery_fail_site, site, b, atof(COL(&c, "deliveries_failed")));
    }
    return close_csv(pg, &c, "sites.csv", rc);
}

static int read_replicas(struct html_page *pg)
{
    struct csvread c;
    if (open_csv(pg, &c, "replicas.csv") != 0)
        return -1;
    int rc = 0;
    while (rc == 0 && csvread_next(&c)) {
        int b = bucket_of(&pg->grid, atof(COL(&c, "time_s")));
        const char *replica = COL(&c, "replica");
        rc |= family_add(&pg->stale_replica, replica, b, atof(COL(&c, "stale_users")));
        rc |= family_add(&pg->hinted_replica, replica, b, atof(COL(&c, "hinted_users")));
    }
    return close_csv(pg, &c, "replicas.csv", rc);
}

static int read_moves(struct html_page *pg)
{
    struct csvread c;
    if (open_csv(pg, &c, "moves.csv") != 0)
        return -1;
    int ct = csvread_col(&c, "time_s"), cr = csvread_col(&c, "reason");
    int rc = 0;
    while (rc == 0 && csvread_next(&c))
        rc |= family_add(&pg->moves_reason, csvread_field(&c, cr),
                         bucket_of(&pg->grid, atof(csvread_field(&c, ct))), 1);
    return close_csv(pg, &c, "moves.csv", rc);
}

static int read_events(struct html_page *pg)
{
    struct csvread c;
    if (open_csv(pg, &c, "events.csv") != 0)
        return -1;
    int rc = 0;
    while (rc == 0 && csvread_next(&c)) {
        if (grow((void **)&pg->marks, &pg->cap_marks, pg->nmarks, sizeof(*pg->marks)) != 0) {
            rc = -1;
            break;
        }
        struct mark *m = &pg->marks[pg->nmarks++];
        m->t_s = atof(COL(&c, "time_s"));
        snprintf(m->site, sizeof(m->site), "%s", COL(&c, "site"));
        snprintf(m->source, sizeof(m->source), "%s", COL(&c, "source"));
        snprintf(m->kind, sizeof(m->kind), "%s", COL(&c, "kind"));
        snprintf(m->subject, sizeof(m->subject), "%s", COL(&c, "subject"));
        snprintf(m->detail, sizeof(m->detail), "%s", COL(&c, "detail"));
        m->dryrun = atoi(COL(&c, "dryrun")) != 0;
    }
    return close_csv(pg, &c, "events.csv", rc);
}

static int read_expectations(struct html_page *pg)
{
    struct csvread c;
    if (open_csv(pg, &c, "expectations.csv") != 0)
        return -1;
    int rc = 0;
    while (rc == 0 && csvread_next(&c)) {
        if (grow((void **)&pg->expects, &pg->cap_expects, pg->nexpects, sizeof(*pg->expects)) !=
            0) {
            rc = -1;
            break;
        }
        struct expect_row *e = &pg->expects[pg->nexpects++];
        e->t_s = atof(COL(&c, "time_s"));
        snprintf(e->line, sizeof(e->line), "%s", COL(&c, "line"));
        snprintf(e->subject, sizeof(e->subject), "%s", COL(&c, "subject"));
        snprintf(e->assertion, sizeof(e->assertion), "%s", COL(&c, "assertion"));
        snprintf(e->expected, sizeof(e->expected), "%s", COL(&c, "expected"));
        snprintf(e->actual, sizeof(e->actual), "%s", COL(&c, "actual"));
        e->ok = strcmp(COL(&c, "result"), "pass") == 0;
    }
    return close_csv(pg, &c, "expectations.csv", rc);
}

static int read_summary(struct html_page *pg)
{
    struct csvread c;
    if (open_csv(pg, &c, "summary.csv") != 0)
        return -1;
    if (csvread_next(&c)) {
        for (int i = 0; i < c.nheader && i < c.ncols; i++) {
            snprintf(pg->summary_names[i], sizeof(pg->summary_names[i]), "%s", c.header[i]);
            snprintf(pg->summary_values[i], sizeof(pg->summary_values[i]), "%s", c.fields[i]);
            pg->nsummary = i + 1;
        }
    }
    return close_csv(pg, &c, "summary.csv", 0);
}

/* ---- text ---- */

static void wall(const struct html_page *pg, double t_s, char *out, size_t size)
{
    char iso[ISOTIME_SIZE];
    isotime_format(pg->run->scn->start_s + (int64_t)floor(t_s), iso, sizeof(iso));
    int ms = (int)llround((t_s - floor(t_s)) * 1000);
    if (ms > 0 && ms < 1000)
        snprintf(out, size, "%.19s.%03dZ", iso, ms);
    else
        snprintf(out, size, "%s", iso);
}

static void mark_text(const struct html_page *pg, const struct mark *m, char *out, size_t size)
{
    char when[32];
    wall(pg, m->t_s, when, sizeof(when));
    snprintf(out, size, "%s %s%s%s %s %s%s: %s", when, m->site, m->site[0] ? " " : "", m->source,
             m->kind, m->subject, m->dryrun ? " (dryrun)" : "", m->detail);
}

static const char *mark_color(const struct mark *m)
{
    if (strcmp(m->source, "timeline") == 0)
        return "#1f3b73";
    if (strcmp(m->source, "controller") == 0)
        return "#9467bd";
    if (strcmp(m->source, "proxy") == 0)
        return "#8c564b";
    return "#17becf";
}

/* Ticks of one colour closer than MERGE_PX share one tick whose title
 * lists them (at most TITLE_LINES_MAX lines), so that a busy controller
 * does not draw a thousand lines on every chart. */
struct tick_merge {
    FILE *f;
    int64_t duration_s;
    double t_s, y0, y1, width, merge_px;
    int lines_max;
    const char *color;
    char title[TITLE_LINES_MAX * 300];
    int lines, more;
};

static void merge_flush(struct tick_merge *tm)
{
    if (tm->color == NULL)
        return;
    if (tm->more > 0) {
        size_t len = strlen(tm->title);
        snprintf(tm->title + len, sizeof(tm->title) - len, "\n... and %d more", tm->more);
    }
    svg_tick(tm->f, tm->duration_s, tm->t_s, tm->y0, tm->y1, tm->color, tm->width, tm->title);
    tm->color = NULL;
}

static void merge_add(struct tick_merge *tm, double t_s, const char *color, const char *text)
{
    double px = SVG_PLOT_WIDTH / (double)(tm->duration_s > 0 ? tm->duration_s : 1);
    if (tm->color != NULL && (strcmp(tm->color, color) != 0 || (t_s - tm->t_s) * px > tm->merge_px))
        merge_flush(tm);
    if (tm->color == NULL) {
        tm->color = color;
        tm->t_s = t_s;
        tm->title[0] = '\0';
        tm->lines = tm->more = 0;
    }
    if (tm->lines < tm->lines_max) {
        size_t len = strlen(tm->title);
        snprintf(tm->title + len, sizeof(tm->title) - len, "%s%s", len ? "\n" : "", text);
        tm->lines++;
    } else {
        tm->more++;
    }
}

/* Fault and partition bands: a fault lasts until the next fault event of
 * its subject (a recovery or another fault), a partition until the heal. */
static bool ends_fault(const struct mark *m)
{
    return strstr(m->detail, "recover") != NULL || strstr(m->detail, " up") != NULL;
}

static void overlay_bands(const struct html_page *pg, FILE *f)
{
    int64_t d = pg->grid.duration_s;
    char text[600];
    for (int i = 0; i < pg->nmarks; i++) {
        const struct mark *m = &pg->marks[i];
        bool fault = strcmp(m->kind, "fault") == 0 && !ends_fault(m);
        bool partition = strcmp(m->kind, "partition") == 0;
        if (!fault && !partition)
            continue;
        double end = (double)d;
        for (int j = i + 1; j < pg->nmarks; j++) {
            const struct mark *n = &pg->marks[j];
            if ((fault && strcmp(n->kind, "fault") == 0 && strcmp(n->subject, m->subject) == 0) ||
                (partition && strcmp(n->kind, "heal") == 0)) {
                end = n->t_s;
                break;
            }
        }
        mark_text(pg, m, text, sizeof(text));
        svg_band(f, d, m->t_s, end, fault ? "rgba(214,39,40,0.07)" : "rgba(255,127,14,0.16)",
                 text);
    }
}

static int make_overlay(struct html_page *pg)
{
    FILE *f = open_memstream(&pg->overlay, &pg->overlay_size);
    if (f == NULL)
        return -1;
    overlay_bands(pg, f);
    struct tick_merge *tm = calloc(1, sizeof(*tm));
    if (tm == NULL) {
        fclose(f);
        return -1;
    }
    *tm = (struct tick_merge){.f = f, .duration_s = pg->grid.duration_s, .y0 = 0, .y1 = 1,
                              .width = 1, .merge_px = OVERLAY_MERGE_PX,
                              .lines_max = OVERLAY_LINES_MAX};
    /* Faults, partitions, heals, commands and controller decisions: what
     * explains a chart. The proxies' and other sources' events are on the
     * events chart only. */
    char text[600];
    for (int i = 0; i < pg->nmarks; i++) {
        const struct mark *m = &pg->marks[i];
        if (strcmp(m->source, "timeline") != 0 && strcmp(m->source, "controller") != 0)
            continue;
        mark_text(pg, m, text, sizeof(text));
        merge_add(tm, m->t_s, mark_color(m), text);
    }
    merge_flush(tm);
    free(tm);
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- the page ---- */

static void chart_with_overlay_begin(struct html_page *pg, struct svg_chart *c, FILE *f, int height,
                                     double ymax, const char *unit)
{
    svg_chart_begin(c, f, pg->run->scn->start_s, pg->grid.duration_s, height, ymax, unit);
}

static void legend(FILE *f, const struct family *fam, bool dashed_second, const char *second)
{
    fputs("<div class=\"lg\">", f);
    for (int i = 0; i < fam->n; i++) {
        fprintf(f, "<span><i style=\"background:%s\"></i>", svg_color(i));
        svg_escape(f, fam->names[i]);
        fputs("</span>", f);
    }
    if (dashed_second)
        fprintf(f, "<span><i class=\"dash\"></i>%s</span>", second);
    fputs("</div>\n", f);
}

static void heat_legend(FILE *f, double max, const char *unit)
{
    fprintf(f, "<div class=\"lg\"><span>0</span><span class=\"ramp\"></span><span>%.6g %s "
               "(the highest of the run)</span><span><i style=\"background:#eee\"></i>no data"
               "</span></div>\n",
            max, unit);
}

/* The heat map's palette: index 0 is "no data", 1..64 a ramp from pale
 * yellow through teal to dark blue. */
#define RAMP 64
static void ramp_palette(uint8_t *pal)
{
    static const double stops[3][3] = {{255, 255, 204}, {65, 182, 196}, {8, 29, 88}};
    pal[0] = pal[1] = pal[2] = 0xee;
    for (int i = 0; i < RAMP; i++) {
        double x = (double)i / (RAMP - 1) * 2;
        int s = x >= 1 ? 1 : 0;
        double u = x - s;
        for (int k = 0; k < 3; k++)
            pal[3 * (i + 1) + k] = (uint8_t)lround(stops[s][k] + (stops[s + 1][k] - stops[s][k]) * u);
    }
}

/* Lines for a few series, a heat map for many. */
static int series_chart(struct html_page *pg, FILE *f, const char *title, const char *unit,
                        const struct family *fam)
{
    fprintf(f, "<h3>%s</h3>\n", title);
    struct svg_chart c;
    double max = family_max(fam);
    if (fam->n <= LINES_MAX) {
        chart_with_overlay_begin(pg, &c, f, 180, max, unit);
        svg_chart_overlay(&c, pg->overlay);
        for (int i = 0; i < fam->n; i++)
            svg_line(&c, family_row(fam, i), fam->nb, svg_color(i), fam->names[i], false);
        svg_chart_end(&c);
        legend(f, fam, false, NULL);
        return 0;
    }
    int rows = fam->n, cols = fam->nb;
    uint8_t *px = malloc((size_t)rows * (size_t)cols);
    const char **labels = malloc((size_t)rows * sizeof(*labels));
    if (px == NULL || labels == NULL) {
        free(px);
        free(labels);
        return -1;
    }
    for (int r = 0; r < rows; r++) {
        labels[r] = fam->names[r];
        for (int b = 0; b < cols; b++) {
            double v = family_row(fam, r)[b];
            px[(size_t)r * cols + b] =
                isnan(v) ? 0 : (uint8_t)(1 + lround(max > 0 ? fmin(v / max, 1) * (RAMP - 1) : 0));
        }
    }
    uint8_t pal[(RAMP + 1) * 3];
    ramp_palette(pal);
    int height = rows * 6 < 160 ? 160 : rows * 6;
    chart_with_overlay_begin(pg, &c, f, height, -1, unit);
    int rc = svg_rows_image(&c, px, rows, cols, pal, RAMP + 1, labels, labels);
    svg_chart_overlay(&c, pg->overlay);
    svg_chart_end(&c);
    heat_legend(f, max, unit);
    free(px);
    free(labels);
    return rc;
}

/* Rows of states (backend status, site status and catastrophe). */
static int state_chart(struct html_page *pg, FILE *f, const char *title, const struct family **fams,
                       const char *const *suffixes, int nfams)
{
    int rows = 0;
    for (int k = 0; k < nfams; k++)
        rows += fams[k]->n;
    if (rows == 0)
        return 0;
    int cols = pg->grid.nb;
    uint8_t *px = calloc((size_t)rows * (size_t)cols, 1);
    char(*labels)[NAME_SIZE + 24] = calloc((size_t)rows, sizeof(*labels));
    const char **ptrs = calloc((size_t)rows, sizeof(*ptrs));
    int rc = -1;
    if (px != NULL && labels != NULL && ptrs != NULL) {
        int r = 0;
        /* Interleaved: a site's rows one under the other. */
        for (int i = 0; i < fams[0]->n; i++) {
            for (int k = 0; k < nfams; k++, r++) {
                const struct family *fam = fams[k];
                snprintf(labels[r], sizeof(labels[r]), "%s%s", fam->names[i], suffixes[k]);
                ptrs[r] = labels[r];
                uint8_t last = ST_NONE;
                for (int b = 0; b < cols; b++) {
                    double v = family_row(fam, i)[b];
                    last = isnan(v) ? last : (uint8_t)v; /* a state holds until the next sample */
                    px[(size_t)r * cols + b] = last;
                }
            }
        }
        fprintf(f, "<h3>%s</h3>\n", title);
        struct svg_chart c;
        int height = rows * 14 < 28 ? 28 : rows * 14;
        if (height > 720)
            height = rows * 6;
        chart_with_overlay_begin(pg, &c, f, height, -1, "");
        rc = svg_rows_image(&c, px, rows, cols, state_palette, ST_COUNT, ptrs, ptrs);
        svg_chart_overlay(&c, pg->overlay);
        svg_chart_end(&c);
        fputs("<div class=\"lg\">", f);
        for (int s = 1; s < ST_COUNT; s++)
            fprintf(f, "<span><i style=\"background:#%02x%02x%02x\"></i>%s</span>",
                    state_palette[3 * s], state_palette[3 * s + 1], state_palette[3 * s + 2],
                    state_names[s]);
        fputs("</div>\n", f);
    }
    free(px);
    free(labels);
    free(ptrs);
    return rc;
}

/* Every event and expectation in lanes, with their text on hover. */
static void events_chart(struct html_page *pg, FILE *f)
{
    static const char *const lanes[] = {"timeline", "controller", "proxy", "other",
                                        "expectations"};
    const int nlanes = 5;
    struct svg_chart c;
    fputs("<h3>Events and expectations</h3>\n", f);
    chart_with_overlay_begin(pg, &c, f, nlanes * 22, -1, "");
    for (int l = 0; l < nlanes; l++)
        fprintf(f, "<text class=\"rl\" x=\"%d\" y=\"%d\">%s</text>\n", SVG_LEFT - 4,
                8 + l * 22 + 15, lanes[l]);
    struct tick_merge *tm = calloc(1, sizeof(*tm));
    if (tm != NULL) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        if (m != NULL) {
            char text[600];
            for (int l = 0; l < nlanes; l++) {
                *tm = (struct tick_merge){.f = m, .duration_s = pg->grid.duration_s,
                                          .y0 = (l + 0.15) / nlanes, .y1 = (l + 0.85) / nlanes,
                                          .width = 2, .merge_px = MERGE_PX,
                                          .lines_max = TITLE_LINES_MAX};
                for (int i = 0; l < 4 && i < pg->nmarks; i++) {
                    const struct mark *mk = &pg->marks[i];
                    int lane = strcmp(mk->source, "timeline") == 0     ? 0
                               : strcmp(mk->source, "controller") == 0 ? 1
                               : strcmp(mk->source, "proxy") == 0      ? 2
                                                                       : 3;
                    if (lane != l)
                        continue;
                    mark_text(pg, mk, text, sizeof(text));
                    merge_add(tm, mk->t_s, mark_color(mk), text);
                }
                for (int i = 0; l == 4 && i < pg->nexpects; i++) {
                    const struct expect_row *e = &pg->expects[i];
                    char when[32];
                    wall(pg, e->t_s, when, sizeof(when));
                    snprintf(text, sizeof(text), "%s %s: line %s %s %s %s (actual %s)", when,
                             e->ok ? "pass" : "FAIL", e->line, e->subject, e->assertion,
                             e->expected, e->actual);
                    merge_add(tm, e->t_s, e->ok ? "#2ca02c" : "#d62728", text);
                }
                merge_flush(tm);
            }
            if (fclose(m) == 0)
                svg_chart_overlay(&c, buf);
            free(buf);
        }
        free(tm);
    }
    svg_chart_end(&c);
    fputs("<div class=\"lg\"><span><i style=\"background:#1f3b73\"></i>scenario timeline "
          "(faults, commands, partitions, notes)</span><span><i style=\"background:#9467bd\">"
          "</i>controller</span><span><i style=\"background:#8c564b\"></i>proxies' checks"
          "</span><span><i style=\"background:#17becf\"></i>GeoDB, batches, dovemon</span>"
          "<span><i style=\"background:#2ca02c\"></i>expectation held</span><span><i "
          "style=\"background:#d62728\"></i>expectation failed</span><span><i class=\"band f\">"
          "</i>fault</span><span><i class=\"band p\"></i>partition</span></div>\n",
          f);
}

static void line_pair_chart(struct html_page *pg, FILE *f, const char *title, const char *unit,
                            const struct family *solid, const struct family *dashed,
                            const char *dashed_name)
{
    fprintf(f, "<h3>%s</h3>\n", title);
    struct svg_chart c;
    double max = fmax(family_max(solid), dashed ? family_max(dashed) : 0);
    chart_with_overlay_begin(pg, &c, f, 160, max, unit);
    svg_chart_overlay(&c, pg->overlay);
    for (int i = 0; i < solid->n; i++)
        svg_line(&c, family_row(solid, i), solid->nb, svg_color(i), solid->names[i], false);
    for (int i = 0; dashed && i < dashed->n; i++) {
        char t[NAME_SIZE + 32];
        snprintf(t, sizeof(t), "%s %s", dashed->names[i], dashed_name);
        svg_line(&c, family_row(dashed, i), dashed->nb, svg_color(i), t, true);
    }
    svg_chart_end(&c);
    legend(f, solid, dashed != NULL, dashed_name);
}

static const char css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:16px 24px;"
    "color:#222;background:#fff;max-width:1200px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px "
    "solid #ddd}h3{font-size:14px;margin:16px 0 2px}"
    "table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;text-align:left;"
    "border-bottom:1px solid #eee;vertical-align:top}th{background:#f6f6f6}"
    "code,pre{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f4f4f4;padding:1px 4px;"
    "white-space:pre-wrap;word-break:break-all}"
    ".pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}"
    ".kv td:first-child{color:#555}.figs{display:grid;grid-template-columns:repeat(4,1fr);"
    "gap:0 16px;font-size:13px}.figs div{border-bottom:1px solid #eee}.figs b{float:right;"
    "font-weight:600}"
    "svg.chart{display:block;font-size:11px}svg .plot{fill:#fcfcfc;stroke:#bbb}"
    "svg .grid{stroke:#e4e4e4}svg .yl{text-anchor:end;fill:#555}svg .unit{text-anchor:end;"
    "fill:#888;font-size:10px}svg .xl{text-anchor:middle;fill:#555}svg .xd{text-anchor:middle;"
    "fill:#333;font-weight:600}svg .rl{text-anchor:end;fill:#333;font-size:11px}"
    "svg .ln path{fill:none;stroke-width:1.6}svg .row{fill:transparent}"
    "svg .row:hover{fill:rgba(0,0,0,.08)}"
    "svg .hit{stroke:transparent;stroke-width:7;vector-effect:non-scaling-stroke}"
    ".lg{font-size:12px;color:#444;margin:2px 0 0 200px}.lg span{margin-right:14px;"
    "white-space:nowrap;display:inline-block}.lg i{display:inline-block;width:12px;height:10px;"
    "margin-right:4px;vertical-align:-1px;border-radius:2px}.lg i.dash{background:"
    "repeating-linear-gradient(90deg,#555 0 5px,transparent 5px 8px);height:2px;"
    "vertical-align:3px}.lg i.band.f{background:rgba(214,39,40,.25)}.lg i.band.p{background:"
    "rgba(255,127,14,.3)}.lg .ramp{display:inline-block;width:160px;height:10px;"
    "background:linear-gradient(90deg,#ffffcc,#41b6c4,#081d58)}"
    "details{margin:6px 0}summary{cursor:pointer;color:#1f3b73}";

static void meta(struct html_page *pg, FILE *f)
{
    const struct html_run *run = pg->run;
    const struct scenario *scn = run->scn;
    char start[ISOTIME_SIZE], end[ISOTIME_SIZE];
    isotime_format(scn->start_s, start, sizeof(start));
    isotime_format(scn->start_s + pg->grid.duration_s, end, sizeof(end));
    fputs("<h1>", f);
    svg_escape(f, scn->name);
    fprintf(f, " <span class=\"%s\">%s</span></h1>\n<p>", run->failed ? "fail" : "pass",
            run->failed ? "FAIL" : "PASS");
    svg_escape(f, scn->description);
    fputs("</p>\n<table class=\"kv\">\n<tr><td>scenario</td><td><code>", f);
    svg_escape(f, scn->path);
    fprintf(f, "</code> (%s mode)</td></tr>\n<tr><td>seed</td><td><code>%llu</code></td></tr>\n",
            scn->mode == SCN_DIRECTOR ? "director" : "Palomar", (unsigned long long)run->seed);
    fprintf(f, "<tr><td>time</td><td>%s to %s (UTC; scenario <code>start</code>)</td></tr>\n",
            start, end);
    fprintf(f, "<tr><td>expectations</td><td>%d evaluated, <span class=\"%s\">%d failed</span>"
               "</td></tr>\n",
            run->expectations, run->failed ? "fail" : "pass", run->failed);
    fputs("<tr><td>replay</td><td><code>", f);
    svg_escape(f, run->replay);
    fprintf(f, "</code></td></tr>\n<tr><td>digest</td><td><code>%s</code> (every file of the "
               "report but this page)</td></tr>\n</table>\n",
            run->digest);
}

static void figures(struct html_page *pg, FILE *f)
{
    fputs("<h2>Key figures</h2>\n<div class=\"figs\">", f);
    for (int i = 0; i < pg->nsummary; i++) {
        fprintf(f, "<div>");
        svg_escape(f, pg->summary_names[i]);
        fputs(" <b>", f);
        svg_escape(f, pg->summary_values[i]);
        fputs("</b></div>", f);
    }
    fputs("</div>\n", f);
}

static void expectations(struct html_page *pg, FILE *f)
{
    fputs("<h2>Expectations</h2>\n", f);
    if (pg->nexpects == 0) {
        fputs("<p>None.</p>\n", f);
        return;
    }
    fputs("<table><tr><th>time (UTC)</th><th>line</th><th>subject</th><th>assertion</th>"
          "<th>expected</th><th>actual</th><th>result</th></tr>\n",
          f);
    for (int i = 0; i < pg->nexpects && i < EXPECT_ROWS_MAX; i++) {
        const struct expect_row *e = &pg->expects[i];
        char when[32];
        wall(pg, e->t_s, when, sizeof(when));
        fprintf(f, "<tr><td>%s</td><td>%s</td><td>", when, e->line);
        svg_escape(f, e->subject);
        fputs("</td><td>", f);
        svg_escape(f, e->assertion);
        fputs("</td><td>", f);
        svg_escape(f, e->expected);
        fputs("</td><td>", f);
        svg_escape(f, e->actual);
        fprintf(f, "</td><td class=\"%s\">%s</td></tr>\n", e->ok ? "pass" : "fail",
                e->ok ? "pass" : "FAIL");
    }
    fputs("</table>\n", f);
    if (pg->nexpects > EXPECT_ROWS_MAX)
        fprintf(f, "<p>... and %d more in expectations.csv.</p>\n",
                pg->nexpects - EXPECT_ROWS_MAX);
}

static void settings(struct html_page *pg, FILE *f)
{
    const struct html_run *run = pg->run;
    fputs("<h2>Settings</h2>\n", f);
    if (run->noverrides == 0) {
        fputs("<p>Every setting at its default.</p>\n", f);
    } else {
        fputs("<p>Changed from the defaults:</p>\n<ul>\n", f);
        for (int i = 0; i < run->noverrides; i++) {
            fputs("<li><code>", f);
            svg_escape(f, run->overrides[i]);
            fputs("</code></li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    fprintf(f, "<details><summary>All %d settings in effect</summary><pre>", run->nparams);
    for (int i = 0; i < run->nparams; i++) {
        svg_escape(f, run->params[i]);
        fputc('\n', f);
    }
    fputs("</pre></details>\n", f);
}

static int charts(struct html_page *pg, FILE *f)
{
    int rc = 0;
    fputs("<h2>What happened</h2>\n", f);
    events_chart(pg, f);
    line_pair_chart(pg, f, "Users per site", "users", &pg->users_site, NULL, NULL);
    rc |= series_chart(pg, f, "Users per backend", "users", &pg->users_be);
    const struct family *be[] = {&pg->state_be};
    static const char *const no_suffix[] = {""};
    rc |= state_chart(pg, f, "Backend status", be, no_suffix, 1);
    fputs("<h2>Load</h2>\n", f);
    rc |= series_chart(pg, f, "CPU per backend (highest in each step)", "% CPU", &pg->cpu_be);
    rc |= series_chart(pg, f, "Memory per backend (highest in each step)", "% memory",
                       &pg->mem_be);
    rc |= series_chart(pg, f, "Metacache per backend (highest in each step)", "% metacache",
                       &pg->mc_be);
    fputs("<h2>Failures and moves</h2>\n", f);
    line_pair_chart(pg, f, "Failed logins per minute, per site", "per min", &pg->login_fail_site,
                    NULL, NULL);
    line_pair_chart(pg, f, "Failed deliveries per minute, per site", "per min",
                    &pg->delivery_fail_site, NULL, NULL);
    if (pg->moves_reason.n > 0)
        line_pair_chart(pg, f, "Moves per minute, by reason", "per min", &pg->moves_reason, NULL,
                        NULL);
    else
        fputs("<h3>Moves per minute, by reason</h3>\n<p>No moves.</p>\n", f);
    fputs("<h2>Sites and replicas</h2>\n", f);
    const struct family *sites[] = {&pg->state_site, &pg->catastrophe_site};
    static const char *const site_suffix[] = {" status", " catastrophe"};
    rc |= state_chart(pg, f, "Site status and catastrophe protection", sites, site_suffix, 2);
    if (pg->stale_replica.n > 1)
        line_pair_chart(pg, f,
                        "Replica lag: users whose newest write a replica has not received "
                        "(dashed: of those, hints waiting for a heal)",
                        "users", &pg->stale_replica, &pg->hinted_replica, "hinted");
    else
        fputs("<p>One GeoDB replica: nothing to lag.</p>\n", f);
    return rc;
}

static int write_page(struct html_page *pg, FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    svg_escape(f, pg->run->scn->name);
    fprintf(f, " - clustersim report</title>\n<style>%s</style></head><body>\n", css);
    meta(pg, f);
    figures(pg, f);
    int rc = charts(pg, f);
    expectations(pg, f);
    settings(pg, f);
    fputs("<p style=\"color:#888;font-size:12px\">Times are UTC, counted from the scenario's "
          "<code>start</code>. Each chart has at most " ,
          f);
    fprintf(f, "%d time steps of %.4g minutes; hover a line, a row or a mark for its "
               "text.</p>\n</body></html>\n",
            pg->grid.nb, bucket_minutes(&pg->grid));
    return rc;
}

static void page_init(struct html_page *pg, struct report *r, const struct html_run *run)
{
    memset(pg, 0, sizeof(*pg));
    pg->run = run;
    pg->report = r;
    const struct scenario *scn = run->scn;
    int64_t samples = scn->duration_ms / (scn->sample_interval_ms > 0 ? scn->sample_interval_ms : 1);
    pg->grid.duration_s = scn->duration_ms / 1000 > 0 ? scn->duration_ms / 1000 : 1;
    pg->grid.nb = samples < 1 ? 1 : samples > BUCKETS_MAX ? BUCKETS_MAX : (int)samples;
    struct family *last[] = {&pg->users_be, &pg->state_be, &pg->users_site, &pg->state_site};
    struct family *max[] = {&pg->cpu_be, &pg->mem_be, &pg->mc_be, &pg->catastrophe_site,
                            &pg->stale_replica, &pg->hinted_replica};
    struct family *sum[] = {&pg->login_fail_site, &pg->delivery_fail_site, &pg->moves_reason};
    for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++)
        *last[i] = (struct family){.agg = AGG_LAST, .nb = pg->grid.nb};
    for (size_t i = 0; i < sizeof(max) / sizeof(max[0]); i++)
        *max[i] = (struct family){.agg = AGG_MAX, .nb = pg->grid.nb};
    for (size_t i = 0; i < sizeof(sum) / sizeof(sum[0]); i++)
        *sum[i] = (struct family){.agg = AGG_SUM, .nb = pg->grid.nb};
}

static void page_free(struct html_page *pg)
{
    struct family *all[] = {&pg->users_be,         &pg->cpu_be,          &pg->mem_be,
                            &pg->mc_be,            &pg->state_be,        &pg->users_site,
                            &pg->state_site,       &pg->catastrophe_site, &pg->login_fail_site,
                            &pg->delivery_fail_site, &pg->moves_reason,  &pg->stale_replica,
                            &pg->hinted_replica};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        family_free(all[i]);
    free(pg->marks);
    free(pg->expects);
    free(pg->overlay);
}

struct html_page *html_read(struct report *r, const struct html_run *run, char *err,
                            size_t err_size)
{
    struct html_page *pg = malloc(sizeof(*pg));
    if (pg == NULL) {
        snprintf(err, err_size, "report.html: out of memory");
        return NULL;
    }
    page_init(pg, r, run);
    int rc = read_timeseries(pg) | read_sites(pg) | read_replicas(pg) | read_moves(pg) |
             read_events(pg) | read_expectations(pg) | read_summary(pg);
    double per_minute = 1 / bucket_minutes(&pg->grid);
    family_scale(&pg->login_fail_site, per_minute);
    family_scale(&pg->delivery_fail_site, per_minute);
    family_scale(&pg->moves_reason, per_minute);
    if (rc == 0 && make_overlay(pg) != 0) {
        snprintf(pg->err, sizeof(pg->err), "report.html: out of memory");
        rc = -1;
    }
    if (rc != 0) {
        snprintf(err, err_size, "%s", pg->err);
        html_discard(pg);
        return NULL;
    }
    return pg;
}

void html_discard(struct html_page *pg)
{
    if (pg == NULL)
        return;
    page_free(pg);
    free(pg);
}

int html_finish(struct html_page *pg, char *err, size_t err_size)
{
    char path[1024];
    FILE *f = NULL;
    int rc = 0;
    if (report_register_undigested(pg->report, "report.html", path, sizeof(path)) != 0) {
        snprintf(pg->err, sizeof(pg->err), "report.html: cannot add to the report");
        rc = -1;
    }
    if (rc == 0 && (f = fopen(path, "wb")) == NULL) {
        snprintf(pg->err, sizeof(pg->err), "report.html: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        int page_rc = write_page(pg, f);
        errno = 0;
        bool failed = fflush(f) != 0 || ferror(f) != 0;
        failed |= fclose(f) != 0;
        if (page_rc != 0 || failed) {
            snprintf(pg->err, sizeof(pg->err), "report.html: write failed: %s",
                     page_rc != 0 ? "out of memory" : strerror(errno ? errno : EIO));
            rc = -1;
        }
    }
    if (rc != 0)
        snprintf(err, err_size, "%s", pg->err);
    html_discard(pg);
    return rc;
}
