/*
 * The world's shared state helpers: failing a run, virtual timestamps,
 * user names, residency, last-write-wins writes of routing records, the
 * events log, and flushing a replica's user cache to its GeoDB file.
 *
 * Every world module may call these; this file calls no world module
 * above it (loop.c builds the world and runs its event loop).
 */
#include "sim/world/world.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/autoscale.h"
#include "sim/base/report.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_users.h"
#include "core/controller.h"

static const char *const event_kind_names[EVK_COUNT] = {
    "doveadm", "doveadm_failed", "fault", "note", "expect_failed", "partition", "heal",
    "converged", "batch", "dovemon_down", "dovemon_up", "proxy_offline", "proxy_online",
};

static const char *event_kind_name(enum event_kind kind)
{
    assert(kind < EVK_COUNT);
    if (kind >= EVK_CTL_FIRST)
        return ctl_event_name((enum ctl_event)(kind - EVK_CTL_FIRST));
    return event_kind_names[kind];
}

int event_kind_parse(const char *name)
{
    for (int k = 0; k < EVK_COUNT; k++) {
        if (strcmp(event_kind_name((enum event_kind)k), name) == 0)
            return k;
    }
    return -1;
}

void world_fail(struct world *w, const char *fmt, ...)
{
    if (w->error[0] != '\0')
        return; /* keep the first cause */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof(w->error), fmt, ap);
    va_end(ap);
}

void world_violation(struct world *w, enum world_invariant inv, const char *fmt, ...)
{
    assert(inv < WI_COUNT);
    struct world_violations *v = &w->violations;
    if (v->count[inv]++ > 0)
        return;
    v->first_s[inv] = w->engine.now_ms / 1000;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->first[inv], sizeof(v->first[inv]), fmt, ap);
    va_end(ap);
}

void world_fail_ring_push(struct world *w)
{
    int64_t failed = 0;
    for (int s = 0; s < w->nsites; s++)
        failed += w->sites[s].access[ACCESS_LOGIN_FAIL];
    int i = w->fail_ring_n++ % WORLD_FAIL_RING;
    w->fail_ring[i] = failed;
    w->fail_ring_ms[i] = w->engine.now_ms;
}

int64_t world_logins_failed_recent(const struct world *w, int64_t window_ms)
{
    int64_t now = 0;
    for (int s = 0; s < w->nsites; s++)
        now += w->sites[s].access[ACCESS_LOGIN_FAIL];
    /* The newest sample at least window_ms old; none that old: since the
     * start while the ring has not wrapped, else since the oldest kept (a
     * shorter window when samples are more often than window_ms / 16). */
    int kept = w->fail_ring_n < WORLD_FAIL_RING ? w->fail_ring_n : WORLD_FAIL_RING;
    for (int k = 0; k < kept; k++) {
        int i = (w->fail_ring_n - 1 - k) % WORLD_FAIL_RING;
        if (w->engine.now_ms - w->fail_ring_ms[i] >= window_ms)
            return now - w->fail_ring[i];
    }
    return kept < WORLD_FAIL_RING ? now : now - w->fail_ring[w->fail_ring_n % WORLD_FAIL_RING];
}

int64_t world_ts_us(const struct world *w, int site)
{
    int64_t skew = (site >= 0 && site < w->nsites) ? w->sites[site].skew_ms : 0;
    return WORLD_TS_ORIGIN_US + (w->engine.now_ms + skew) * 1000;
}

struct replica *world_replica_of_site(struct world *w, int site)
{
    assert(site >= 0 && site < w->nsites);
    return &w->replicas[w->sites[site].replica];
}

void world_username(const struct world *w, uint32_t user, char *out, size_t size)
{
    scenario_name_format(&w->user_format, user, out, size);
}

void world_set_resident(struct world *w, uint32_t user, int backend)
{
    uint16_t old = w->users.state[user].resident;
    if (old == backend)
        return;
    float weight = w->users.cold[user].weight;
    if (old != UC_NO_BACKEND) {
        w->backends[old].resident--;
        w->backends[old].resident_weight -= weight;
    }
    w->users.state[user].resident = (uint16_t)backend;
    w->backends[backend].resident++;
    w->backends[backend].resident_weight += weight;
}

static void event_row(struct world *w, int site, int backend, enum event_kind kind,
                      const char *source, const char *subject, bool dryrun, const char *detail)
{
    w->events_cluster[kind]++;
    if (site >= 0)
        w->events_site[kind][site]++;
    if (backend >= 0)
        w->events_backend[kind][backend]++;
    report_event(w->report, w->engine.now_ms, site >= 0 ? w->sites[site].name : "", source,
                 event_kind_name(kind), subject, dryrun, detail);
}

void world_event(struct world *w, int site, int backend, enum event_kind kind, const char *source,
                 const char *subject, const char *detail)
{
    event_row(w, site, backend, kind, source, subject, false, detail);
}

void world_event_dryrun(struct world *w, int site, int backend, enum event_kind kind,
                        const char *source, const char *subject, const char *detail)
{
    event_row(w, site, backend, kind, source, subject, true, detail);
}

/* ---- GeoDB flush ---- */

/* The sites and backends of a pending row, by index: their refs keys are
 * looked up just before the row is written (resolve_keys). */
struct cell_refs {
    uint8_t site, dest_site, pref_site;
    uint16_t backend, alt;
};

/* Users are written GEODB_CELLS_BATCH per statement; the strings of a
 * pending batch live here until it is written. gen tells this flush's
 * remembered keys (the replica's ref_memo) from earlier flushes'. */
struct flush_ctx {
    struct world *w;
    struct replica *rep;
    uint64_t gen;
    int n;
    char names[GEODB_CELLS_BATCH][CLUSTER_USERNAME_SIZE];
    struct cell_refs refs[GEODB_CELLS_BATCH];
    struct geodb_route_cells cells[GEODB_CELLS_BATCH];
};

/* The refs key of id, remembered in memo slot for the rest of this flush:
 * within one transaction a key never changes, and the GeoDB's own lookup
 * (hashing the id) was a tenth of writing a million users. */
static int ref_key(struct flush_ctx *ctx, size_t slot, const char *id, int64_t *key)
{
    assert(ctx->rep->ref_memo != NULL); /* allocated with the replica's views */
    struct ref_memo *m = &ctx->rep->ref_memo[slot];
    if (m->gen == ctx->gen) {
        *key = m->key;
        return 0;
    }
    if (geodb_ref_key(ctx->rep->db, id, key) != GEODB_OK)
        return -1;
    *m = (struct ref_memo){.gen = ctx->gen, .key = *key};
    return 0;
}

static int site_key(struct flush_ctx *ctx, uint8_t site, int64_t *key)
{
    *key = 0;
    return site == UC_NO_SITE ? 0 : ref_key(ctx, site, ctx->w->sites[site].id, key);
}

static int backend_key(struct flush_ctx *ctx, uint16_t backend, int64_t *key)
{
    *key = 0;
    return backend == UC_NO_BACKEND
               ? 0
               : ref_key(ctx, CLUSTER_SITES_MAX + (size_t)backend, ctx->w->backends[backend].id,
                         key);
}

/* The keys of rows [from, from + n), row by row in column order: the order
 * in which binding the ids looked them up, so that keys first handed out
 * here are handed out in the same order (and the file's bytes stay). */
static int resolve_keys(struct flush_ctx *ctx, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        const struct cell_refs *r = &ctx->refs[i];
        struct geodb_route_cells *c = &ctx->cells[i];
        if (site_key(ctx, r->site, &c->site_k) != 0 ||
            backend_key(ctx, r->backend, &c->backend_k) != 0 ||
            backend_key(ctx, r->alt, &c->alt_backend_k) != 0 ||
            site_key(ctx, r->dest_site, &c->dest_site_k) != 0 ||
            site_key(ctx, r->pref_site, &c->pref_site_k) != 0)
            return -1;
    }
    return 0;
}

static int flush_user(void *arg, uint32_t user)
{
    struct flush_ctx *ctx = arg;
    const struct world *w = ctx->w;
    const struct usercache *uc = &ctx->rep->users;
    const struct uc_route route = usercache_get(uc, user);
    char *name = ctx->names[ctx->n];
    world_username(w, user, name, CLUSTER_USERNAME_SIZE);
    if (route.backend == UC_NO_BACKEND) {
        /* A deleted user: its tombstone, not a routing record, so that every
         * replica's file says the same as the one the command ran on. */
        return geodb_user_put_tombstone(ctx->rep->db, name, route.ts_us,
                                        uc->writer_keys[route.writer]) == GEODB_OK ? 0 : -1;
    }
    ctx->refs[ctx->n] = (struct cell_refs){
        .site = route.site, .dest_site = route.dest_site, .pref_site = uc->pref_site[user],
        .backend = route.backend, .alt = route.alt};
    ctx->cells[ctx->n++] = (struct geodb_route_cells){
        .username = name,
        .moving = route.moving ? move_reason_name((enum move_reason)route.moving) : NULL,
        .last_moved_s = route.last_moved_s,
        .route_ts = route.ts_us,
        .route_w = uc->writer_keys[route.writer],
        .pref_ts = uc->pref_ts_us[user],
        .pref_w = uc->writer_keys[uc->pref_writer[user]],
    };
    if (ctx->n < GEODB_CELLS_BATCH)
        return 0;
    ctx->n = 0;
    if (resolve_keys(ctx, 0, GEODB_CELLS_BATCH) != 0)
        return -1;
    return geodb_user_put_cells_batch(ctx->rep->db, ctx->cells) == GEODB_OK ? 0 : -1;
}

static int flush_rest(struct flush_ctx *ctx)
{
    for (int i = 0; i < ctx->n; i++) {
        if (resolve_keys(ctx, i, 1) != 0 ||
            geodb_user_put_cells(ctx->rep->db, &ctx->cells[i]) != GEODB_OK)
            return -1;
    }
    ctx->n = 0;
    return 0;
}

/* A flush's transaction on replica r at the current time; NULL when out
 * of memory or the transaction cannot begin. */
static struct flush_ctx *flush_open(struct world *w, int r)
{
    struct replica *rep = &w->replicas[r];
    struct flush_ctx *ctx = malloc(sizeof(*ctx));
    if (ctx == NULL || geodb_tx_begin(rep->db) != GEODB_OK) {
        free(ctx);
        return NULL;
    }
    ctx->w = w;
    ctx->rep = rep;
    ctx->gen = ++rep->ref_gen;
    ctx->n = 0;
    geodb_clock_set(rep->db, world_ts_us(w, -1));
    return ctx;
}

/* Writes the batch left (when rc is 0) and ends the transaction, rolled
 * back when anything failed; frees ctx. 0, or -1 with the GeoDB's message
 * kept (rc is -1 only when a GeoDB write failed, whose message is kept). */
static int flush_close(struct flush_ctx *ctx, int rc)
{
    struct geodb *db = ctx->rep->db;
    if (rc == 0)
        rc = flush_rest(ctx);
    free(ctx);
    return geodb_tx_end(db, rc == 0 ? GEODB_OK : GEODB_IO) == GEODB_OK ? 0 : -1;
}

int world_flush(struct world *w, int r)
{
    struct replica *rep = &w->replicas[r];
    if (rep->users.ndirty == 0)
        return 0;
    struct flush_ctx *ctx = flush_open(w, r);
    if (ctx == NULL) {
        world_fail(w, "cannot flush users to %s", rep->path);
        return -1;
    }
    if (flush_close(ctx, usercache_flush(&rep->users, flush_user, ctx)) != 0) {
        world_fail(w, "%s", geodb_errmsg(rep->db));
        return -1;
    }
    return 0;
}

void world_bulk_init(struct world_bulk *b, struct world *w, int r)
{
    *b = (struct world_bulk){.w = w, .r = r};
}

int world_bulk_write(struct world_bulk *b, uint32_t upto)
{
    /* Not uc->ndirty: the filling thread is still appending to the list
     * past upto. world_bulk_forget checks that every entry was written. */
    const struct usercache *uc = &b->w->replicas[b->r].users;
    assert(b->written <= upto);
    if (b->written == upto)
        return 0;
    if (b->ctx == NULL && (b->ctx = flush_open(b->w, b->r)) == NULL) {
        b->open_failed = true;
        return -1;
    }
    for (; b->written < upto; b->written++) {
        if (flush_user(b->ctx, uc->dirty_list[b->written]) != 0)
            return -1;
    }
    return 0;
}

int world_bulk_close(struct world_bulk *b, int rc)
{
    if (b->ctx == NULL)
        return rc;
    rc = flush_close(b->ctx, rc);
    b->ctx = NULL;
    return rc;
}

/* usercache_flush's callback for users written already. */
static int written_already(void *arg, uint32_t user)
{
    (void)arg;
    (void)user;
    return 0;
}

void world_bulk_forget(struct world_bulk *b)
{
    struct usercache *uc = &b->w->replicas[b->r].users;
    assert(uc->ndirty == b->written); /* every entry was written */
    (void)usercache_flush(uc, written_already, NULL);
}

int world_desired_backends(struct world *w, int s)
{
    struct replica *rep = world_replica_of_site(w, s);
    int backends = 0;
    for (int b = 0; b < w->nbackends; b++)
        backends += rep->backends[b].live && rep->backends[b].site == s;
    const struct scn_site *scn = w->sites[s].scn;
    struct autoscale_point points[SCN_CURVE_MAX];
    int npoints = scn ? scn->ncurve : 0;
    for (int i = 0; i < npoints; i++)
        points[i] = (struct autoscale_point){scn->curve[i].at_ms, scn->curve[i].value};
    return autoscale_desired(points, npoints, w->engine.now_ms, backends);
}
