/*
 * Building the world from a scenario and running its event loop.
 *
 * The cluster is provisioned through the same doveadm interpreter that
 * timeline commands use, at virtual time 0, so that a scenario's starting
 * GeoDB is exactly what an operator would have typed. Periodic events
 * (workload ticks, scrapes, samples, GeoDB flushes) reschedule themselves;
 * timeline entries are scheduled first, so that an entry and a periodic
 * event due at the same millisecond run entry first.
 *
 * This is the top of world/: it may call every world module, and wires
 * the callbacks through which lower modules report upward (batch hooks).
 * The controllers are bound from above through w->controllers.
 */
#include "sim/world/loop.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/controller.h"
#include "core/hash.h"
#include "sim/base/bigmem.h"
#include "sim/base/filecopy.h"
#include "sim/base/report.h"
#include "sim/base/split.h"
#include "sim/doveadm/doveadm.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/geodb/geodb_users.h"
#include "sim/world/backend.h"
#include "sim/world/batches.h"
#include "sim/world/checks.h"
#include "sim/world/dirmode.h"
#include "sim/world/moves.h"
#include "sim/world/probes.h"
#include "sim/world/replication.h"
#include "sim/world/timeline.h"
#include "sim/world/traffic.h"
#include "sim/world/workload.h"
#include "sim/world/world_topo.h"

#define INFLIGHT_MAX (1u << 16)
/* Director mode: dovemon's clock (its polls are due on whole seconds). */
#define DOVEMON_TICK_MS 1000

/* ---- provisioning ---- */

static int provision_cmd(struct world *w, struct doveadm_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int provision_cmd(struct world *w, struct doveadm_ctx *ctx, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    char err[1024] = "";
    FILE *errf = fmemopen(err, sizeof(err) - 1, "w");
    ctx->err = errf ? errf : stderr;
    int rc = doveadm_run_line(ctx, line);
    if (errf != NULL)
        fclose(errf);
    if (rc != 0)
        world_fail(w, "provisioning '%s' failed: %s", line, err);
    return rc;
}

static int provision_site(struct world *w, struct doveadm_ctx *ctx, const struct scn_site *s)
{
    char tag_opt[CLUSTER_NAME_SIZE + 8] = "";
    if (s->tag[0] != '\0') {
        struct geodb_tag tag;
        if (geodb_tag_get(ctx->db, s->tag, &tag) != GEODB_OK &&
            provision_cmd(w, ctx, "cluster tag create %s", s->tag) != 0)
            return -1;
        snprintf(tag_opt, sizeof(tag_opt), "--tag %s ", s->tag);
    }
    if (provision_cmd(w, ctx, "cluster site add %s--load-balancer %s %s", tag_opt,
                      s->load_balancer, s->name) != 0)
        return -1;
    if (s->status != SITE_ONLINE &&
        provision_cmd(w, ctx, "cluster site update --status %s %s", site_status_name(s->status),
                      s->name) != 0)
        return -1;
    char name[CLUSTER_NAME_SIZE];
    for (int g = 0; g < s->ngroups; g++) {
        const struct scn_backend_group *group = &s->groups[g];
        for (int i = 0; i < group->count; i++) {
            scenario_backend_name(group, i, name, sizeof(name));
            if (provision_cmd(w, ctx, "cluster backend add --site %s %s", s->name, name) != 0 ||
                provision_cmd(w, ctx, "cluster backend update --status %s --load-factor %d %s",
                              backend_status_name(group->status), group->load_factor,
                              name) != 0)
                return -1;
        }
    }
    return 0;
}

static int provision(struct world *w, struct replica *rep)
{
    struct doveadm_ctx ctx;
    doveadm_ctx_init(&ctx);
    ctx.db = rep->db;
    ctx.now_us = world_ts_us(w, -1);
    FILE *devnull = fopen("/dev/null", "w");
    ctx.out = devnull ? devnull : stdout;
    int rc = 0;
    for (int s = 0; rc == 0 && s < w->scn->nsites; s++)
        rc = provision_site(w, &ctx, &w->scn->sites[s]);
    for (int f = 0; rc == 0 && f < FEATURE_COUNT && rep->settings_table; f++) {
        if (w->scn->feature_set[f])
            rc = provision_cmd(w, &ctx, "cluster feature set %s %s",
                               feature_name((enum feature)f),
                               feature_state_name(w->scn->features[f]));
    }
    if (devnull != NULL)
        fclose(devnull);
    return rc;
}

/* Physical sites and backends in scenario order (the GeoDB lists them by
 * name), so that indices and report rows follow the scenario. */
static int adopt_scenario_topology(struct world *w, struct replica *rep)
{
    char name[CLUSTER_NAME_SIZE];
    for (int s = 0; s < w->scn->nsites; s++) {
        const struct scn_site *ss = &w->scn->sites[s];
        struct geodb_site gs;
        if (geodb_site_get(rep->db, ss->name, &gs) != GEODB_OK || topo_site_adopt(w, &gs, 0) < 0)
            return -1;
        struct world_site *site = &w->sites[s];
        site->scn = ss;
        site->proxies = ss->proxies;
        site->skew_ms = ss->clock_skew_ms;
        int nbackends = 0;
        for (int g = 0; g < ss->ngroups; g++) {
            for (int i = 0; i < ss->groups[g].count; i++, nbackends++) {
                struct geodb_backend gb;
                scenario_backend_name(&ss->groups[g], i, name, sizeof(name));
                if (geodb_backend_get(rep->db, name, &gb) != GEODB_OK ||
                    topo_backend_adopt(w, &gb, s) < 0)
                    return -1;
            }
        }
        site->user_share = ss->user_share > 0 ? ss->user_share : nbackends;
    }
    return 0;
}

/* ---- users ---- */

/* The largest product of the load spikes running at one time (1: none);
 * a product of intervals is largest at one of their starts. */
static double spike_load_max(const struct scenario *scn)
{
    double most = 1.0;
    for (int i = 0; i < scn->nentries; i++) {
        const struct scn_entry *a = &scn->entries[i];
        if (a->kind != SCN_SPIKE || a->spike.load <= 0)
            continue;
        double product = 1.0;
        for (int j = 0; j < scn->nentries; j++) {
            const struct scn_entry *b = &scn->entries[j];
            if (b->kind == SCN_SPIKE && b->spike.load > 0 && b->at_ms <= a->at_ms &&
                a->at_ms < b->at_ms + b->spike.for_ms)
                product *= b->spike.load;
        }
        most = product > most ? product : most;
    }
    return most;
}

/* Session pool: four times the expected concurrent sessions at the
 * diurnal peak (and the worst load spike), which the Poisson tail never
 * reaches. */
static uint32_t session_capacity(const struct world *w)
{
    const struct scn_workload *wl = &w->scn->workload;
    double mean_ms = wl->session_median_ms * exp(wl->session_sigma * wl->session_sigma / 2.0);
    if (mean_ms > wl->session_max_ms)
        mean_ms = (double)wl->session_max_ms;
    double peak = w->users.n * wl->logins_per_user_day * mean_ms / 86400000.0 *
                  (1.0 + wl->diurnal_amplitude) * spike_load_max(w->scn);
    double cap = 4.0 * peak + 4096.0;
    double most = (double)w->users.n * (double)w->params.sessions_per_user_max + 1.0;
    if (cap > most)
        cap = most;
    return cap > 4e9 ? 4000000000u : (uint32_t)cap;
}

/* Whether users are placed at t = 0: then their records (in the world and
 * the first replica's cache) are started a step at a time as they are
 * placed, so that the writer starts on the first step's users at once, and
 * their activity is drawn while it writes (placement never reads it). */
static bool placed_at_start(const struct world *w)
{
    return w->scn->mode == SCN_PALOMAR && w->scn->users.preplaced;
}

/* Where preplacement puts a user: its backend and failover target (-1:
 * the user stays unplaced). */
struct first_place {
    int16_t backend;
    int16_t alt;
};

struct place_job {
    struct world *w;
    uint32_t base;          /* the first user of the step */
    struct first_place *out; /* out[i]: user base + i */
};

/* Users [base + from, base + to)'s first placement: reads the replica's
 * view only, writes each user's own slot. */
static void place_range(void *ctx, uint32_t from, uint32_t to)
{
    struct place_job *job = ctx;
    const struct world *w = job->w;
    const struct replica *rep = &w->replicas[0];
    for (uint32_t i = from; i < to; i++) {
        uint32_t u = job->base + i;
        int site = w->users.state[u].home_site, alt = -1, b = -1;
        if (topo_site_accepts(rep, site) && rep->sites[site].status == SITE_ONLINE)
            b = topo_place(w, rep, site, w->users.state[u].key, -1, &alt);
        job->out[i] = (struct first_place){(int16_t)b, (int16_t)(b >= 0 ? alt : -1)};
    }
}

/* The first replica's initial write runs on the second thread while this
 * one places users: its dirty list is handed over a step of users at a
 * time (entries this thread no longer changes), and it is written as one
 * flush of the whole list would be (world_bulk_write), in bulk mode. */
struct initial_flush {
    struct world_bulk bulk;
    pthread_mutex_t lock;
    pthread_cond_t more;
    uint32_t published; /* under lock: dirty-list entries handed over */
    bool done;          /* under lock: no more will be */
    bool threaded;      /* the writer runs on its own thread */
    int rc;             /* the writer's result, once it returned */
};

static void initial_publish(struct initial_flush *f, uint32_t upto, bool done)
{
    pthread_mutex_lock(&f->lock);
    f->published = upto;
    f->done = done;
    pthread_cond_signal(&f->more);
    pthread_mutex_unlock(&f->lock);
}

static void initial_write(void *arg)
{
    struct initial_flush *f = arg;
    struct geodb *db = f->bulk.w->replicas[f->bulk.r].db;
    int rc = geodb_bulk_begin(db) == GEODB_OK ? 0 : -1;
    for (bool done = false; rc == 0 && !done;) {
        pthread_mutex_lock(&f->lock);
        while (f->published == f->bulk.written && !f->done)
            pthread_cond_wait(&f->more, &f->lock);
        uint32_t upto = f->published;
        done = f->done;
        pthread_mutex_unlock(&f->lock);
        rc = world_bulk_write(&f->bulk, upto);
    }
    rc = world_bulk_close(&f->bulk, rc);
    if (rc == 0 && geodb_bulk_end(db) != GEODB_OK)
        rc = -1;
    f->rc = rc;
}

/* Below this many users the first replica is written after placement on
 * this thread, placed on both cores: a run that small (a few hundredths of
 * a second) gains nothing from a writer, and sweeps of small runs already
 * keep both cores busy. CLUSTERSIM_WRITER_THREAD_USERS moves the bound
 * (tests/writer-thread.sh writes small runs both ways and compares). */
#define WRITER_THREAD_USERS 65536u

/* Users placed per step: the writer starts on the first step's users
 * while the rest are placed (16,384 take about 3 ms at 40 backends). */
#define PLACE_STEP_USERS 16384u

/* Users placed at t = 0, in the first replica (the others start as copies
 * of it), in user order, each step handed to the writer. Placed on this
 * thread: the writer has the second core (below its bound a step is too
 * small for split_run to split anyway). Their residency waits for their
 * activity weights (settle_residents). */
static void preplace_users(struct world *w, struct initial_flush *f)
{
    struct replica *rep = &w->replicas[0];
    struct first_place *place = malloc(PLACE_STEP_USERS * sizeof(*place));
    if (place == NULL) {
        world_fail(w, "out of memory placing %u users", w->users.n);
        return;
    }
    for (uint32_t base = 0; base < w->users.n; base += PLACE_STEP_USERS) {
        uint32_t n = w->users.n - base < PLACE_STEP_USERS ? w->users.n - base : PLACE_STEP_USERS;
        struct place_job job = {w, base, place};
        workload_identify(w, base, base + n);
        usercache_init_users(&rep->users, base, base + n);
        place_range(&job, 0, n);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t u = base + i;
            int site = w->users.state[u].home_site, b = place[i].backend, alt = place[i].alt;
            if (b < 0)
                continue;
            struct uc_route route = {
                .ts_us = world_ts_us(w, site), .last_moved_s = -1, .backend = (uint16_t)b,
                .alt = alt >= 0 ? (uint16_t)alt : UC_NO_BACKEND, .site = (uint8_t)site,
                .dest_site = UC_NO_SITE, .moving = REASON_NONE, .writer = (uint8_t)site};
            usercache_put(&rep->users, u, &route);
            usercache_put_pref(&rep->users, u, (uint8_t)site, route.ts_us, (uint8_t)site);
        }
        initial_publish(f, rep->users.ndirty, false);
    }
    free(place);
}

/* The users placed at t = 0 hold their backends' metacache, each in
 * proportion to its activity weight, in user order as they were placed. */
static void settle_residents(struct world *w)
{
    const struct usercache *uc = &w->replicas[0].users;
    for (uint32_t u = 0; u < w->users.n; u++) {
        uint16_t b = usercache_route(uc, u)->backend;
        if (b != UC_NO_BACKEND)
            world_set_resident(w, u, b);
    }
}

/* ---- init ---- */

/* The file name of a site's replica: geodb.sqlite when there is one site,
 * geodb-SITE.sqlite (unsafe characters replaced) otherwise. */
static void replica_name(const struct world *w, int site, char *out, size_t size)
{
    if (w->scn->nsites <= 1) {
        snprintf(out, size, "geodb.sqlite");
        return;
    }
    snprintf(out, size, "geodb-%.40s.sqlite", w->scn->sites[site].name);
    for (char *p = out + 6; *p != '\0' && strcmp(p, ".sqlite") != 0; p++) {
        bool safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
        if (!safe)
            *p = '_';
    }
}

/* A replica's views hold every possible backend; calloc leaves the pages
 * past the real count untouched, so they cost address space only. */
static int replica_views(struct replica *rep)
{
    rep->backends = calloc(CLUSTER_BACKENDS_MAX, sizeof(*rep->backends));
    rep->live_site = malloc(CLUSTER_BACKENDS_MAX * sizeof(*rep->live_site));
    if (rep->backends == NULL || rep->live_site == NULL)
        return -1;
    memset(rep->live_site, -1, CLUSTER_BACKENDS_MAX * sizeof(*rep->live_site));
    for (int s = 0; s < CLUSTER_SITES_MAX; s++) {
        struct view_candidates *c = &rep->cands[s];
        c->backend = calloc(CLUSTER_BACKENDS_MAX, sizeof(*c->backend));
        c->cand = calloc(CLUSTER_BACKENDS_MAX, sizeof(*c->cand));
        if (c->backend == NULL || c->cand == NULL)
            return -1;
    }
    return 0;
}

static void replica_views_free(struct replica *rep)
{
    free(rep->backends);
    free(rep->live_site);
    rep->backends = NULL;
    rep->live_site = NULL;
    for (int s = 0; s < CLUSTER_SITES_MAX; s++) {
        free(rep->cands[s].backend);
        free(rep->cands[s].cand);
        rep->cands[s].backend = NULL;
        rep->cands[s].cand = NULL;
    }
}

/* The first replica's user cache: every user unplaced, or, when users are
 * placed at start, each started as placement reaches it (preplace_users). */
static int first_cache(const struct world *w, struct usercache *uc)
{
    uint32_t n = (uint32_t)w->scn->users.count;
    return placed_at_start(w) ? usercache_alloc(uc, n) : usercache_init(uc, n);
}

/* users_ready: the user cache was built already (prepare_site_caches). */
static int replica_caches(struct world *w, struct replica *rep, bool users_ready)
{
    rep->settings = malloc(sizeof(*rep->settings) *
                           (CLUSTER_SITES_MAX + CLUSTER_BACKENDS_MAX + 1) * FEATURE_COUNT);
    rep->ref_memo = calloc(CLUSTER_SITES_MAX + CLUSTER_BACKENDS_MAX, sizeof(*rep->ref_memo));
    if (rep->settings == NULL || rep->ref_memo == NULL || replica_views(rep) != 0 ||
        (!users_ready && first_cache(w, &rep->users) != 0)) {
        world_fail(w, "out of memory for the user cache");
        return -1;
    }
    rep->settings_table = geodb_has_settings_table(rep->db);
    rep->users.writer_keys[UC_WRITER_ADMIN] = 0;
    return 0;
}

static int register_replica(struct world *w, int r)
{
    char name[80];
    replica_name(w, r, name, sizeof(name));
    if (report_register(w->report, name, w->replicas[r].path, sizeof(w->replicas[r].path)) != 0) {
        world_fail(w, "too many report files");
        return -1;
    }
    return 0;
}

static int open_file(struct world *w, struct replica *rep)
{
    char err[GEODB_ERRMSG_SIZE];
    struct geodb_options opts = {
        .create = true, .fast = true, .no_cluster_settings = !w->scn->cluster_settings_table,
        .uuid_seed = hash_str64(w->seed, "geodb")};
    if (geodb_open(rep->path, &opts, &rep->db, err, sizeof(err)) != GEODB_OK) {
        world_fail(w, "%s", err);
        return -1;
    }
    return 0;
}

/* The first replica: a new file, provisioned by the caller. */
static int open_first_replica(struct world *w)
{
    if (register_replica(w, 0) != 0 || open_file(w, &w->replicas[0]) != 0)
        return -1;
    return replica_caches(w, &w->replicas[0], false);
}

/* The other sites' user caches start as copies of the first's. Built on
 * this thread while the second writes the first replica's file, the
 * longest step of start-up (about 7 s at 10 M users): the writer reads the
 * first cache's records and the dirty list, which copying only reads. */
struct site_caches_job {
    struct world *w;
    bool failed;
};

static void prepare_site_caches(void *arg)
{
    struct site_caches_job *job = arg;
    struct world *w = job->w;
    for (int s = 1; s < w->scn->nsites; s++) {
        struct usercache *uc = &w->replicas[s].users;
        if (usercache_alloc(uc, (uint32_t)w->scn->users.count) != 0) {
            job->failed = true;
            return;
        }
        usercache_copy(uc, &w->replicas[0].users);
    }
}

/* One replica per site: byte copies of the first file (and its cache),
 * taken after provisioning and the initial placement so that every site
 * starts from the same state. The first file is closed while it is copied:
 * another descriptor on an open SQLite file would drop its locks. Each copy
 * gets its own UUID stream. */
/* Copies of the first replica's file for replicas [from, to); the first
 * failure stops them and is kept (its index and errno). */
struct copy_job {
    const struct world *w;
    int from, to;
    int failed; /* the replica whose copy failed, or 0 */
    int err;
};

static void copy_replica_files(void *arg)
{
    struct copy_job *job = arg;
    const struct replica *reps = job->w->replicas;
    for (int r = job->from; r < job->to && job->failed == 0; r++) {
        if (filecopy(reps[0].path, reps[r].path) != 0) {
            job->failed = r;
            job->err = errno;
        }
    }
}

/* Every other site's file, copied from the first: the later half on the
 * second core (each copy is the kernel's memory copy of the whole file,
 * 82 MB at a million users). The lowest failing replica is reported, as
 * copying them in order would. */
static int copy_site_files(struct world *w)
{
    int n = w->scn->nsites, mid = 1 + n / 2;
    struct copy_job mine = {.w = w, .from = 1, .to = mid};
    struct copy_job theirs = {.w = w, .from = mid, .to = n};
    struct split_task task;
    if (theirs.from < theirs.to)
        split_start(&task, copy_replica_files, &theirs);
    copy_replica_files(&mine);
    if (theirs.from < theirs.to)
        split_join(&task);
    const struct copy_job *bad = mine.failed != 0 ? &mine : theirs.failed != 0 ? &theirs : NULL;
    if (bad != NULL) {
        world_fail(w, "cannot copy %s to %s: %s", w->replicas[0].path,
                   w->replicas[bad->failed].path, strerror(bad->err));
        return -1;
    }
    return 0;
}

static int open_site_replicas(struct world *w)
{
    struct replica *first = &w->replicas[0];
    if (w->scn->nsites > 1) {
        geodb_close(first->db);
        first->db = NULL;
    }
    for (int s = 1; s < w->scn->nsites; s++) {
        if (register_replica(w, s) != 0)
            return -1;
    }
    if (copy_site_files(w) != 0)
        return -1;
    for (int s = 1; s < w->scn->nsites; s++) {
        struct replica *rep = &w->replicas[s];
        if (open_file(w, rep) != 0 || replica_caches(w, rep, true) != 0)
            return -1;
        if (geodb_uuid_reseed(rep->db, hash_str64(w->seed ^ (uint64_t)s, "geodb")) != GEODB_OK) {
            world_fail(w, "%s", geodb_errmsg(rep->db));
            return -1;
        }
        w->nreplicas = s + 1;
        w->sites[s].replica = s;
        if (topo_reload(w, s) != 0 || topo_reload_settings(w, s) != 0)
            return -1;
    }
    if (first->db == NULL && open_file(w, first) != 0)
        return -1;
    return repl_init(w);
}

/* Another replica's small tables were merged into replica r: the views
 * of what changed are reloaded, and batch requests or stops recorded
 * elsewhere are picked up. */
static void tables_merged(struct world *w, int r, unsigned tables)
{
    if (tables & GEODB_T_TOPOLOGY)
        topo_reload(w, r);
    if (tables & GEODB_T_SETTINGS)
        topo_reload_settings(w, r);
    if (tables & GEODB_T_MOVES)
        batches_sync(w, r, r);
}

static int init_models(struct world *w)
{
    uint32_t history = (uint32_t)(w->params.prom_retention_s * 1000 /
                                  w->scn->scrape_interval_ms) + 2;
    if (engine_init(&w->engine, WORLD_EVENTS_MAX) != 0 || prom_init(&w->prom, history) != 0 ||
        rng_init(&w->rng_arrivals, w->seed, "workload.arrivals") != 0 ||
        rng_init(&w->rng_sessions, w->seed, "workload.sessions") != 0 ||
        rng_init(&w->rng_faults, w->seed, "faults") != 0 ||
        rng_init(&w->rng_probes, w->seed, "probes") != 0 ||
        rng_init(&w->rng_roaming, w->seed, "workload.roaming") != 0 ||
        moves_init(w, INFLIGHT_MAX) != 0) {
        world_fail(w, "out of memory");
        return -1;
    }
    w->repl = calloc(1, sizeof(*w->repl));
    w->batches = calloc(1, sizeof(*w->batches));
    w->flag_rows = malloc(sizeof(*w->flag_rows) * TOPO_FLAG_ROWS_MAX);
    if (w->repl == NULL || w->batches == NULL || w->flag_rows == NULL) {
        world_fail(w, "out of memory");
        return -1;
    }
    w->hooks = (struct world_hooks){.batch_user_moved = batches_moved,
                                    .tables_merged = tables_merged,
                                    .user_relocated = moves_relocated};
    return 0;
}

/* The first placement, the session pool, the sessions in progress at
 * t = 0 and the other sites' caches on this thread, while the second
 * writes the users placed into the first replica's file in one bulk load
 * (the other files are copies of it). Every path here joins the writer
 * before it returns. */
static int place_and_write(struct world *w)
{
    assert(w->nreplicas == 1);
    struct initial_flush f = {0};
    world_bulk_init(&f.bulk, w, 0);
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.more, NULL);
    struct split_task writer;
    f.threaded = w->users.n >= split_threshold("CLUSTERSIM_WRITER_THREAD_USERS",
                                               WRITER_THREAD_USERS) &&
                 split_spawn(&writer, initial_write, &f);
    w->writer_threaded = f.threaded;
    if (placed_at_start(w)) {
        preplace_users(w, &f);
        if (w->error[0] == '\0' && workload_init_activity(w) == 0)
            settle_residents(w);
    }
    initial_publish(&f, w->replicas[0].users.ndirty, true);
    /* The session pool is first used by the sessions in progress. */
    if (w->error[0] == '\0' && sessions_init(&w->sessions, w->users.n, session_capacity(w),
                                             w->scn->workload.session_max_ms) != 0)
        world_fail(w, "out of memory for sessions");
    struct site_caches_job job = {.w = w};
    if (w->error[0] == '\0') {
        workload_warm_start(w);
        prepare_site_caches(&job);
    }
    if (f.threaded)
        split_join(&writer);
    else
        initial_write(&f);
    pthread_mutex_destroy(&f.lock);
    pthread_cond_destroy(&f.more);
    if (w->error[0])
        return -1;
    if (job.failed) {
        world_fail(w, "out of memory for the user cache");
        return -1;
    }
    const struct replica *rep = &w->replicas[0];
    if (f.rc != 0) {
        if (f.bulk.open_failed)
            world_fail(w, "cannot flush users to %s", rep->path);
        else
            world_fail(w, "%s", geodb_errmsg(rep->db));
        return -1;
    }
    world_bulk_forget(&f.bulk);
    return 0;
}

static int schedule_start(struct world *w)
{
    const struct scenario *scn = w->scn;
    int rc = 0;
    for (int i = 0; i < scn->nentries; i++) {
        if (scn->entries[i].at_ms != SCN_AT_END)
            rc |= engine_push(&w->engine, scn->entries[i].at_ms, EV_TIMELINE, (uint32_t)i);
    }
    rc |= engine_push(&w->engine, scn->duration_ms, EV_END, 0);
    rc |= engine_push(&w->engine, 0, EV_FLUSH, 0);
    rc |= engine_push(&w->engine, 0, EV_SCRAPE, 0);
    rc |= engine_push(&w->engine, 0, EV_SAMPLE, 0);
    rc |= engine_push(&w->engine, 0, EV_WORKLOAD, 0);
    rc |= engine_push(&w->engine, w->params.proxy_stats_interval_ms, EV_PROXY_STATS, 0);
    if (w->dir == NULL) {
        rc |= engine_push(&w->engine, w->params.proxy_check_interval_ms, EV_PROBE, 0);
    } else {
        if (scn->director.dovemon)
            rc |= engine_push(&w->engine, DOVEMON_TICK_MS, EV_DOVEMON, 0);
        rc |= engine_push(&w->engine, scn->director.user_expire_ms / 2, EV_DIR_NOTIFY, 0);
    }
    if (rc != 0)
        world_fail(w, "more than %u timeline entries and events", w->engine.capacity);
    return rc ? -1 : 0;
}

int loop_init(struct world *w, const struct scenario *scn, uint64_t seed,
               const struct ctl_settings *ctl, const struct sim_params *params,
               const char *out_dir, struct report *report)
{
    (void)out_dir;
    memset(w, 0, sizeof(*w));
    memset(w->reach_seen, -1, sizeof(w->reach_seen));
    w->scn = scn;
    w->seed = seed;
    w->ctl = *ctl;
    w->params = *params;
    w->report = report;
    w->nreplicas = 1;
    scenario_name_format_init(&w->user_format, scn->users.name);
    timeline_init(w);
    if (init_models(w) != 0 || open_first_replica(w) != 0)
        return -1;
    if (provision(w, &w->replicas[0]) != 0 || adopt_scenario_topology(w, &w->replicas[0]) != 0 ||
        topo_reload(w, 0) != 0 || topo_reload_settings(w, 0) != 0)
        return -1;
    if (workload_init(w) != 0 || traffic_init(w) != 0)
        return -1;
    if (!placed_at_start(w)) {
        workload_identify_all(w);
        if (workload_init_activity(w) != 0)
            return -1;
    }
    /* Director mode: the director places users; no controller runs. */
    if (scn->mode == SCN_DIRECTOR && dirmode_init(w) != 0)
        return -1;
    if (place_and_write(w) != 0 || open_site_replicas(w) != 0 || schedule_start(w) != 0)
        return -1;
    return 0;
}

void loop_free(struct world *w)
{
    free(w->reload_sites);
    free(w->reload_backends);
    w->reload_sites = NULL;
    w->reload_backends = NULL;
    repl_free(w); /* its links hold statements on the replicas' connections */
    batches_free(w);
    dirmode_free(w);
    for (int r = 0; r < w->nreplicas; r++) {
        struct replica *rep = &w->replicas[r];
        geodb_close(rep->db);
        rep->db = NULL;
        free(rep->settings);
        rep->settings = NULL;
        free(rep->ref_memo);
        rep->ref_memo = NULL;
        replica_views_free(rep);
    }
    /* Caches are built before their replicas open (prepare_site_caches). */
    for (int r = 0; r < WORLD_REPLICAS_MAX; r++)
        usercache_free(&w->replicas[r].users);
    for (int b = 0; b < w->nbackends; b++)
        rng_free(&w->backends[b].noise);
    traffic_free(w);
    workload_free(w);
    sessions_free(&w->sessions);
    moves_free(w);
    prom_free(&w->prom);
    rng_free(&w->rng_arrivals);
    rng_free(&w->rng_sessions);
    rng_free(&w->rng_faults);
    rng_free(&w->rng_probes);
    rng_free(&w->rng_roaming);
    engine_free(&w->engine);
    free(w->repl);
    free(w->batches);
    free(w->flag_rows);
    w->repl = NULL;
    w->batches = NULL;
    w->flag_rows = NULL;
}

/* ---- periodic events ---- */

static void scrape(struct world *w)
{
    int64_t now = w->engine.now_ms;
    double interval_s = w->scn->scrape_interval_ms / 1000.0;
    for (int b = 0; b < w->nbackends; b++) {
        struct world_backend *backend = &w->backends[b];
        int64_t delivered = backend->counters[COUNTER_DELIVERY_OK] +
                            backend->counters[COUNTER_DELIVERY_FAIL];
        double rate = (delivered - backend->deliveries_at_scrape) / interval_s;
        backend->deliveries_at_scrape = delivered;
        double handovers_per_s = (backend->handovers - backend->handovers_at_scrape) / interval_s;
        backend->handovers_at_scrape = backend->handovers;
        struct prom_sample sample = {.time_ms = now};
        backend_measure(backend, w->sessions.per_backend[b], rate, handovers_per_s, &w->params,
                        &sample);
        memcpy(sample.counters, backend->counters, sizeof(sample.counters));
        /* A site's Prometheus that is down scrapes nothing: no samples
         * accumulate towards HOST_LOAD_BALANCE_MIN_SAMPLES meanwhile. */
        if (!w->prometheus_down[backend->site])
            prom_scrape(&w->prom, b, &sample);
    }
}

static int64_t sum_reasons(const int64_t *by_reason)
{
    int64_t total = 0;
    for (int r = 0; r < REASON_COUNT; r++)
        total += by_reason[r];
    return total;
}

/* The controller's view of a backend for its timeseries row. */
static void sample_controller(struct world *w, int b, struct report_backend_row *row)
{
    const struct world_controllers *wc = &w->controllers;
    const struct ctl_backend_state *st =
        wc->backend_state != NULL ? wc->backend_state(wc->ctx, b) : NULL;
    int site = w->backends[b].site;
    bool exported = topo_feature(w, site, b, FEATURE_METRICS_EXPORT) != FEATURE_OFF;
    row->health = st ? ctl_health_name(st->health) : "unknown";
    row->failure_ratio_ppm = st ? st->failure_ratio_ppm : -1;
    row->scored = st && st->scored;
    row->score = st ? st->score : 0.0;
    row->host_users = exported ? row->users : -1;
    int64_t checks[3] = {st ? st->checks_online : 0, st ? st->checks_offline : 0,
                         st ? st->check_failures : 0};
    row->checks_online = checks[0] - w->sample_checks[b][0];
    row->checks_offline = checks[1] - w->sample_checks[b][1];
    row->check_failures = checks[2] - w->sample_checks[b][2];
    memcpy(w->sample_checks[b], checks, sizeof(checks));
}

/* Director mode: the director's view of the host instead of the GeoDB's,
 * and no controller. */
static void sample_director(struct world *w, int b, struct report_backend_row *row)
{
    struct dirmode_view v;
    dirmode_view(w, b, &v);
    row->status = !v.present ? "absent" : v.down ? "down" : "up";
    row->load_factor = (int)v.vhosts;
    row->users = v.users;
    row->health = "unknown";
    row->failure_ratio_ppm = -1;
    row->host_users = -1;
}

static void sample_backend(struct world *w, int b)
{
    struct world_backend *backend = &w->backends[b];
    struct replica *rep = world_replica_of_site(w, backend->site);
    const struct view_backend *view = &rep->backends[b];
    int64_t *base = w->sample_base[b];
    int64_t in = sum_reasons(backend->moves_in), out = sum_reasons(backend->moves_out);
    struct report_backend_row row = {
        .time_ms = w->engine.now_ms, .site = w->sites[backend->site].name,
        .backend = backend->name,
        .status = view->live ? backend_status_name(view->status) : "removed",
        .load_factor = view->live ? view->load_factor : 0, .users = rep->users.count[b],
        .sessions = w->sessions.per_backend[b], .resident = backend->resident,
        .cpu = backend->cpu, .memory = backend->memory, .metacache = backend->metacache,
        .logins_ok = backend->counters[COUNTER_LOGIN_OK] - base[COUNTER_LOGIN_OK],
        .logins_failed = backend->counters[COUNTER_LOGIN_FAIL] - base[COUNTER_LOGIN_FAIL],
        .deliveries_ok = backend->counters[COUNTER_DELIVERY_OK] - base[COUNTER_DELIVERY_OK],
        .deliveries_failed = backend->counters[COUNTER_DELIVERY_FAIL] - base[COUNTER_DELIVERY_FAIL],
        .redirects = backend->counters[COUNTER_REDIRECT] - base[COUNTER_REDIRECT],
        .moves_in = in - w->sample_moves_in[b], .moves_out = out - w->sample_moves_out[b]};
    if (w->dir != NULL)
        sample_director(w, b, &row);
    else
        sample_controller(w, b, &row);
    report_backend(w->report, &row);
    memcpy(base, backend->counters, sizeof(backend->counters));
    w->sample_moves_in[b] = in;
    w->sample_moves_out[b] = out;
}

static void sample_site(struct world *w, int s)
{
    struct replica *rep = world_replica_of_site(w, s);
    int backends = 0, online = 0;
    int64_t users = 0, sessions = 0;
    for (int b = 0; b < w->nbackends; b++) {
        const struct view_backend *v = &rep->backends[b];
        if (!v->live || v->site != s)
            continue;
        backends++;
        sessions += w->sessions.per_backend[b];
        if (w->dir != NULL) { /* the director's hosts */
            struct dirmode_view dv;
            dirmode_view(w, b, &dv);
            online += dv.present && !dv.down;
            users += dv.users;
            continue;
        }
        online += v->status == BACKEND_ONLINE;
        users += rep->users.count[b];
    }
    const struct world_controllers *wc = &w->controllers;
    struct report_site_row row = {
        .time_ms = w->engine.now_ms, .site = w->sites[s].name,
        .status = rep->sites[s].live ? site_status_name(rep->sites[s].status) : "removed",
        .backends = backends, .online = online, .users = users, .sessions = sessions,
        .desired_backends = world_desired_backends(w, s),
        .imbalance = checks_imbalance(w, w->sites[s].replica, s),
        .catastrophe = wc->catastrophe != NULL && wc->catastrophe(wc->ctx, s)};
    int64_t *access = w->sites[s].access, *base = w->sites[s].sample_access;
    row.logins = access[ACCESS_LOGIN] - base[ACCESS_LOGIN];
    row.logins_failed = access[ACCESS_LOGIN_FAIL] - base[ACCESS_LOGIN_FAIL];
    row.deliveries = access[ACCESS_DELIVERY] - base[ACCESS_DELIVERY];
    row.deliveries_failed = access[ACCESS_DELIVERY_FAIL] - base[ACCESS_DELIVERY_FAIL];
    memcpy(base, access, sizeof(w->sites[s].access));
    report_site(w->report, &row);
}

/* The sites a site's proxies last found unreachable, space-separated. */
static void unreachable_names(const struct world *w, int s, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int d = 0; d < w->nsites && used < size; d++) {
        if (w->reach_seen[s][d] == 0)
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? " " : "",
                                     w->sites[d].name);
    }
}

static void sample_replica(struct world *w, int r)
{
    const struct replication *rp = w->repl;
    const struct replica *rep = &w->replicas[r];
    int site = r < w->nsites ? r : 0;
    char unreachable[512];
    unreachable_names(w, site, unreachable, sizeof(unreachable));
    struct report_replica_row row = {
        .time_ms = w->engine.now_ms, .replica = w->sites[site].name,
        .group = rp->partitioned ? rp->group[r] : 0, .users = rep->users.placed,
        .moving = rep->users.moving_count, .stale = rp->enabled ? rp->nstale[r] : 0,
        .hinted = rp->enabled ? rp->nhints[r] : 0, .in_flight = rp->enabled ? rp->in_flight[r] : 0,
        .unreachable = unreachable};
    report_replica(w->report, &row);
}

static void sample(struct world *w)
{
    for (int b = 0; b < w->nbackends; b++)
        sample_backend(w, b);
    for (int s = 0; s < w->nsites; s++)
        sample_site(w, s);
    for (int r = 0; r < w->nreplicas; r++)
        sample_replica(w, r);
    world_fail_ring_push(w);
}

static void flush_all(struct world *w)
{
    for (int r = 0; r < w->nreplicas && !w->error[0]; r++)
        world_flush(w, r);
}

/* Reschedules a periodic event unless its next time is at or past the
 * end (the end event takes the final scrape, sample and flush). */
static void again(struct world *w, enum world_event_kind kind, int64_t period_ms)
{
    int64_t next = w->engine.now_ms + period_ms;
    if (next < w->scn->duration_ms && engine_push(&w->engine, next, kind, 0) != 0)
        world_fail(w, "event queue full (%u events)", w->engine.capacity);
}

static void finish(struct world *w)
{
    scrape(w);
    sample(w);
    traffic_write_proxy_stats(w);
    repl_settle(w);
    flush_all(w);
    timeline_run_end(w);
    checks_invariants(w);
    flush_all(w);
}

static void dispatch(struct world *w, const struct event *ev)
{
    int64_t now = w->engine.now_ms;
    switch ((enum world_event_kind)ev->kind) {
    case EV_TIMELINE:
        timeline_run_event(w, ev->arg);
        break;
    case EV_WORKLOAD: {
        int64_t end = now + w->params.workload_tick_ms;
        workload_tick(w, now, end < w->scn->duration_ms ? end : w->scn->duration_ms);
        again(w, EV_WORKLOAD, w->params.workload_tick_ms);
        break;
    }
    case EV_SCRAPE:
        scrape(w);
        again(w, EV_SCRAPE, w->scn->scrape_interval_ms);
        break;
    case EV_SAMPLE:
        sample(w);
        if (w->progress != NULL)
            w->progress(w->progress_ctx, now, w->scn->duration_ms);
        again(w, EV_SAMPLE, w->scn->sample_interval_ms);
        break;
    case EV_FLUSH:
        flush_all(w);
        again(w, EV_FLUSH, w->params.flush_interval_ms);
        break;
    case EV_MOVE_DONE:
        moves_finish_inflight(w, ev->arg);
        break;
    case EV_CTL_TASK:
        assert(w->controllers.run_task != NULL);
        w->controllers.run_task(w->controllers.ctx, ev->arg);
        break;
    case EV_PROBE:
        probes_run(w);
        again(w, EV_PROBE, w->params.proxy_check_interval_ms);
        break;
    case EV_PROXY_STATS:
        traffic_write_proxy_stats(w);
        again(w, EV_PROXY_STATS, w->params.proxy_stats_interval_ms);
        break;
    case EV_REPLICATE:
        repl_deliver_due(w);
        break;
    case EV_REPL_DB:
        repl_db_deliver(w, (int)ev->arg);
        break;
    case EV_REPAIR:
        repl_repair_tick(w);
        break;
    case EV_BATCH:
        batches_tick(w);
        break;
    case EV_DOVEMON:
        dirmode_dovemon_tick(w);
        again(w, EV_DOVEMON, DOVEMON_TICK_MS);
        break;
    case EV_DIR_NOTIFY:
        dirmode_notify(w);
        again(w, EV_DIR_NOTIFY, w->scn->director.user_expire_ms / 2);
        break;
    case EV_END:
        finish(w);
        break;
    case EV_KIND_COUNT:
        assert(0);
    }
}

int loop_run(struct world *w)
{
    struct event ev;
    while (w->error[0] == '\0' && engine_pop(&w->engine, &ev)) {
        dispatch(w, &ev);
        if (ev.kind == EV_END)
            break;
    }
    return w->error[0] ? -1 : 0;
}
