/*
 * Replica views of the topology. A view is what one GeoDB replica says
 * about sites and backends; it is reloaded from the file after every doveadm
 * command that changed it, and it decides where that replica's proxies send
 * users. Physical backends and sites are created the first time any replica
 * mentions their id, so an index means the same machine everywhere.
 */
#include "sim/world/world_topo.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/world/replication.h"

/* Backend sizes when a backend is added by a doveadm command and the
 * scenario does not describe it. */
#define DEFAULT_CPU_CORES 16.0
#define DEFAULT_MEMORY_GB 64.0
#define DEFAULT_METACACHE_GB 256.0

int world_site_by_id(const struct world *w, const char *id)
{
    for (int s = 0; s < w->nsites; s++) {
        if (strcmp(w->sites[s].id, id) == 0)
            return s;
    }
    return -1;
}

int world_backend_by_id(const struct world *w, const char *id)
{
    for (int b = 0; b < w->nbackends; b++) {
        if (strcmp(w->backends[b].id, id) == 0)
            return b;
    }
    return -1;
}

int world_site_by_name(const struct world *w, const char *name)
{
    for (int s = 0; s < w->nsites; s++) {
        if (strcmp(w->sites[s].name, name) == 0)
            return s;
    }
    return -1;
}

int world_backend_by_name(const struct world *w, const char *name)
{
    for (int b = 0; b < w->nbackends; b++) {
        if (strcmp(w->backends[b].name, name) == 0)
            return b;
    }
    return -1;
}

/* The scenario's description of a backend name, if any. */
static const struct scn_backend_group *scenario_group_of(const struct scenario *scn,
                                                         const char *name, int site)
{
    char expanded[CLUSTER_NAME_SIZE];
    const struct scn_backend_group *fallback = NULL;
    for (int s = 0; s < scn->nsites; s++) {
        for (int g = 0; g < scn->sites[s].ngroups; g++) {
            const struct scn_backend_group *group = &scn->sites[s].groups[g];
            if (s == site && fallback == NULL)
                fallback = group;
            for (int i = 0; i < group->count; i++) {
                scenario_backend_name(group, i, expanded, sizeof(expanded));
                if (strcmp(expanded, name) == 0)
                    return group;
            }
        }
    }
    return fallback;
}

/* Creates the physical site of a GeoDB site seen for the first time (see
 * world_topo.h). */
int topo_site_adopt(struct world *w, const struct geodb_site *gs, int replica)
{
    if (w->nsites >= CLUSTER_SITES_MAX) {
        world_fail(w, "more than %d sites", CLUSTER_SITES_MAX);
        return -1;
    }
    struct world_site *site = &w->sites[w->nsites];
    memset(site, 0, sizeof(*site));
    snprintf(site->name, sizeof(site->name), "%s", gs->name);
    snprintf(site->id, sizeof(site->id), "%s", gs->id);
    site->key = placement_key(gs->id);
    site->replica = replica;
    site->proxies = 2;
    site->user_share = 0.0;
    for (int r = 0; r < w->nreplicas; r++)
        w->replicas[r].users.writer_keys[w->nsites] = geodb_writer_key(gs->id);
    return w->nsites++;
}

/* Creates the physical machine behind a GeoDB backend seen the first time. */
int topo_backend_adopt(struct world *w, const struct geodb_backend *gb, int site)
{
    if (w->nbackends >= CLUSTER_BACKENDS_MAX) {
        world_fail(w, "more than %d backends", CLUSTER_BACKENDS_MAX);
        return -1;
    }
    int b = w->nbackends;
    struct world_backend *backend = &w->backends[b];
    memset(backend, 0, sizeof(*backend));
    snprintf(backend->name, sizeof(backend->name), "%s", gb->name);
    snprintf(backend->id, sizeof(backend->id), "%s", gb->id);
    backend->key = placement_key(gb->id);
    backend->site = site;
    backend->slow = 1.0;
    const struct scn_backend_group *group = scenario_group_of(w->scn, gb->name, site);
    backend->cpu_cores = group ? group->cpu_cores : DEFAULT_CPU_CORES;
    backend->memory_gb = group ? group->memory_gb : DEFAULT_MEMORY_GB;
    backend->metacache_gb = group ? group->metacache_gb : DEFAULT_METACACHE_GB;
    char stream[RNG_NAME_SIZE];
    snprintf(stream, sizeof(stream), "backend.%s.noise", gb->name);
    if (rng_init(&backend->noise, w->seed, stream) != 0 || prom_grow(&w->prom, b + 1) != 0) {
        world_fail(w, "out of memory creating backend %s", gb->name);
        return -1;
    }
    w->nbackends++;
    return b;
}

/* Force-move destinations as indices, unknown ids dropped. */
static int resolve_dest(const struct world *w, const struct geodb_fm *fm, bool sites,
                        int16_t *out)
{
    int n = 0;
    for (int i = 0; fm->active && i < fm->ndest && i < CLUSTER_FM_DEST_MAX; i++) {
        int idx = sites ? world_site_by_id(w, fm->dest[i]) : world_backend_by_id(w, fm->dest[i]);
        if (idx >= 0)
            out[n++] = (int16_t)idx;
    }
    return n;
}

static int reload_sites(struct world *w, int r, struct geodb_site *sites, int n)
{
    struct replica *rep = &w->replicas[r];
    for (int s = 0; s < CLUSTER_SITES_MAX; s++)
        rep->sites[s].live = false;
    for (int i = 0; i < n; i++) {
        int s = world_site_by_id(w, sites[i].id);
        if (s < 0 && (s = topo_site_adopt(w, &sites[i], r)) < 0)
            return -1;
        struct view_site *v = &rep->sites[s];
        v->live = true;
        v->status = sites[i].status;
        v->fm = sites[i].fm;
        v->recover_active = sites[i].recover_active;
        snprintf(v->recover_id, sizeof(v->recover_id), "%s", sites[i].recover_id);
        v->recover_pct = sites[i].recover_pct;
    }
    /* Destinations may name sites adopted later in the list. */
    for (int i = 0; i < n; i++) {
        struct view_site *v = &rep->sites[world_site_by_id(w, sites[i].id)];
        v->fm_ndest = resolve_dest(w, &v->fm, true, v->fm_dest);
    }
    return 0;
}

_Static_assert(CLUSTER_SITES_MAX <= INT8_MAX, "replica.live_site holds a site in an int8_t");

static int reload_backends(struct world *w, int r, struct geodb_backend *backends, int n)
{
    struct replica *rep = &w->replicas[r];
    /* Indexes past nbackends were never adopted, so never live. */
    for (int b = 0; b < w->nbackends; b++) {
        rep->backends[b].live = false;
        rep->live_site[b] = -1;
    }
    for (int i = 0; i < n; i++) {
        int site = world_site_by_id(w, backends[i].site_id);
        if (site < 0)
            continue; /* a backend of a removed site carries nobody */
        int b = world_backend_by_id(w, backends[i].id);
        if (b < 0 && (b = topo_backend_adopt(w, &backends[i], site)) < 0)
            return -1;
        struct view_backend *v = &rep->backends[b];
        v->live = true;
        v->status = backends[i].status;
        v->load_factor = backends[i].load_factor;
        v->site = site;
        rep->live_site[b] = (int8_t)site;
        v->fm = backends[i].fm;
    }
    for (int b = 0; b < w->nbackends; b++) {
        struct view_backend *v = &rep->backends[b];
        v->fm_ndest = v->live ? resolve_dest(w, &v->fm, false, v->fm_dest) : 0;
    }
    return 0;
}

/* Whether logins must be checked for force-moves, recovery or evacuation. */
static bool any_login_moves(const struct world *w, const struct replica *rep)
{
    for (int s = 0; s < w->nsites; s++) {
        const struct view_site *v = &rep->sites[s];
        if (v->live && (v->fm.active || v->recover_active || v->status == SITE_EVACUATE))
            return true;
    }
    for (int b = 0; b < w->nbackends; b++) {
        if (rep->backends[b].live && rep->backends[b].fm.active)
            return true;
    }
    return false;
}

/* Placement candidates per site: live, online backends with load factor
 * above zero, in physical order (a stable order for the tie-break). */
static void build_candidates(struct world *w, struct replica *rep)
{
    for (int s = 0; s < CLUSTER_SITES_MAX; s++)
        rep->cands[s].n = 0;
    for (int b = 0; b < w->nbackends; b++) {
        const struct view_backend *v = &rep->backends[b];
        if (!v->live || v->status != BACKEND_ONLINE || v->load_factor <= 0)
            continue;
        struct view_candidates *c = &rep->cands[v->site];
        c->backend[c->n] = (uint16_t)b;
        c->cand[c->n].key = w->backends[b].key;
        c->cand[c->n].weight = v->load_factor;
        c->n++;
    }
}

int topo_reload(struct world *w, int r)
{
    struct replica *rep = &w->replicas[r];
    if (w->reload_sites == NULL)
        w->reload_sites = malloc(sizeof(*w->reload_sites) * CLUSTER_SITES_MAX);
    if (w->reload_backends == NULL)
        w->reload_backends = malloc(sizeof(*w->reload_backends) * CLUSTER_BACKENDS_MAX);
    struct geodb_site *sites = w->reload_sites;
    struct geodb_backend *backends = w->reload_backends;
    int nsites = 0, nbackends = 0, rc = -1;
    if (sites == NULL || backends == NULL) {
        world_fail(w, "out of memory reloading the topology");
    } else if (geodb_site_list(rep->db, sites, CLUSTER_SITES_MAX, &nsites) != GEODB_OK ||
               geodb_backend_list(rep->db, NULL, backends, CLUSTER_BACKENDS_MAX, &nbackends) !=
                   GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(rep->db));
    } else if (reload_sites(w, r, sites, nsites) == 0 &&
               reload_backends(w, r, backends, nbackends) == 0) {
        build_candidates(w, rep);
        rep->login_moves = any_login_moves(w, rep);
        topo_doors_update(w);
        rc = 0;
    }
    return rc;
}

void topo_doors_update(struct world *w)
{
    for (int s = 0; s < w->nsites; s++) {
        const struct replica *own = world_replica_of_site(w, s);
        w->door_open[s] = !w->site_down[s] && topo_site_accepts(own, s);
    }
}

int topo_reload_settings(struct world *w, int r)
{
    struct replica *rep = &w->replicas[r];
    rep->settings_table = geodb_has_settings_table(rep->db);
    int max = (CLUSTER_SITES_MAX + CLUSTER_BACKENDS_MAX + 1) * FEATURE_COUNT;
    if (geodb_setting_list(rep->db, rep->settings, max, &rep->nsettings) != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(rep->db));
        return -1;
    }
    return 0;
}

bool topo_backend_usable(const struct replica *rep, int backend)
{
    if (backend < 0 || backend >= CLUSTER_BACKENDS_MAX)
        return false;
    const struct view_backend *v = &rep->backends[backend];
    return v->live && v->status == BACKEND_ONLINE && rep->sites[v->site].live &&
           rep->sites[v->site].status != SITE_OFFLINE && rep->sites[v->site].status != SITE_STANDBY;
}

bool topo_backend_takes_users(const struct replica *rep, int backend)
{
    return topo_backend_usable(rep, backend) && rep->backends[backend].load_factor > 0;
}

bool topo_site_accepts(const struct replica *rep, int site)
{
    const struct view_site *v = &rep->sites[site];
    return v->live && (v->status == SITE_ONLINE || v->status == SITE_EVACUATE);
}

int topo_place(const struct world *w, const struct replica *rep, int site, uint64_t user_key,
               int exclude_backend, int *second)
{
    const struct view_candidates *c = &rep->cands[site];
    int exclude = -1;
    for (int i = 0; i < c->n; i++) {
        if (c->backend[i] == exclude_backend)
            exclude = i;
    }
    int runner = -1;
    int best = placement_choose(user_key, c->cand, c->n, exclude, &runner);
    (void)w;
    if (second != NULL)
        *second = runner >= 0 ? c->backend[runner] : -1;
    return best >= 0 ? c->backend[best] : -1;
}

/* The usable backend of the site with the fewest users per load factor in
 * rep's view (-1: none), skipping exclude. */
static int least_loaded(const struct world *w, const struct replica *rep, int site, int exclude)
{
    const struct view_candidates *c = &rep->cands[site];
    int best = -1;
    (void)w;
    for (int i = 0; i < c->n; i++) {
        int b = c->backend[i];
        if (b == exclude)
            continue;
        /* users/weight compared by cross-multiplication; ties: lower index */
        if (best < 0 || (int64_t)rep->users.count[b] * rep->backends[best].load_factor <
                            (int64_t)rep->users.count[best] * rep->backends[b].load_factor)
            best = b;
    }
    return best;
}

int topo_target(const struct world *w, const struct replica *rep, int site, uint64_t user_key,
                int exclude)
{
    if (w->params.failover_target == TARGET_LEAST_LOADED)
        return least_loaded(w, rep, site, exclude);
    return topo_place(w, rep, site, user_key, exclude, NULL);
}

int topo_site_by_hash(const struct world *w, uint64_t user_key, const int *sites, int n)
{
    assert(n >= 0 && n <= CLUSTER_SITES_MAX);
    struct placement_candidate cand[CLUSTER_SITES_MAX];
    for (int i = 0; i < n; i++) {
        assert(sites[i] >= 0 && sites[i] < w->nsites);
        cand[i] = (struct placement_candidate){w->sites[sites[i]].key, PLACEMENT_WEIGHT_MAX};
    }
    int best = placement_choose(user_key, cand, n, -1, NULL);
    return best >= 0 ? sites[best] : -1;
}

/* A site that can take the user: online in rep's view, with a backend to
 * place on, its load balancer reachable from the acting site. */
static bool site_takes_users(const struct world *w, const struct replica *rep, int acting,
                             int site)
{
    return rep->sites[site].live && rep->sites[site].status == SITE_ONLINE &&
           rep->cands[site].n > 0 && repl_reachable(w, acting, site);
}

int topo_pick_site(const struct world *w, const struct replica *rep, int acting,
                   uint64_t user_key, int exclude, int prefer)
{
    if (prefer >= 0 && prefer != exclude && site_takes_users(w, rep, acting, prefer))
        return prefer;
    int sites[CLUSTER_SITES_MAX], n = 0;
    for (int s = 0; s < w->nsites; s++) {
        if (s != exclude && site_takes_users(w, rep, acting, s))
            sites[n++] = s;
    }
    return topo_site_by_hash(w, user_key, sites, n);
}

/* ---- feature flags ---- */

void topo_flags_load(const struct world *w, const struct replica *rep, struct flags *flags,
                     struct flag_row *rows)
{
    int n = 0;
    for (int i = 0; i < rep->nsettings && n < TOPO_FLAG_ROWS_MAX; i++) {
        const struct geodb_setting *s = &rep->settings[i];
        int handle = -1;
        if (s->scope == SCOPE_SITE)
            handle = world_site_by_id(w, s->scope_id);
        else if (s->scope == SCOPE_BACKEND)
            handle = world_backend_by_id(w, s->scope_id);
        if (s->scope != SCOPE_GLOBAL && handle < 0)
            continue; /* a row of a removed site or backend */
        rows[n++] = (struct flag_row){s->scope, handle, s->feature, s->state};
    }
    *flags = (struct flags){.table_present = rep->settings_table, .nrows = n, .rows = rows};
    flags_index(flags);
}

enum feature_state topo_feature(struct world *w, int site, int backend, enum feature feature)
{
    struct flags flags;
    topo_flags_load(w, world_replica_of_site(w, site), &flags, w->flag_rows);
    return flags_effective(&flags, feature, site, backend);
}

/* ---- typed status changes ---- */

static int status_write(struct geodb *db, int64_t ts_us, const char *writer_site_id,
                        const char *name, enum backend_status status)
{
    int rc = geodb_tx_begin(db);
    if (rc != GEODB_OK)
        return rc;
    geodb_clock_set(db, ts_us);
    struct geodb_backend backend;
    rc = geodb_writer_set(db, writer_site_id);
    if (rc == GEODB_OK)
        rc = geodb_backend_get(db, name, &backend);
    if (rc == GEODB_OK)
        rc = geodb_backend_set_status(db, backend.id, status);
    return geodb_tx_end(db, rc);
}

int topo_set_backend_status(struct world *w, int site, int backend, enum backend_status status,
                            char *err, size_t err_size)
{
    assert(site >= 0 && site < w->nsites);
    assert(backend >= 0 && backend < w->nbackends);
    int r = w->sites[site].replica;
    struct geodb *db = w->replicas[r].db;
    err[0] = '\0';
    /* Dirty users first, as before any command on the file. */
    if (world_flush(w, r) != 0) {
        snprintf(err, err_size, "%s", w->error);
        return -1;
    }
    const char *name = w->backends[backend].name;
    int rc = status_write(db, world_ts_us(w, site), w->sites[site].id, name, status);
    if (rc != GEODB_OK) {
        snprintf(err, err_size, "%s",
                 rc == GEODB_NOTFOUND ? "Backend doesn't exist" : geodb_errmsg(db));
        return -1;
    }
    topo_reload(w, r);
    repl_db_written(w, r, GEODB_T_TOPOLOGY);
    return 0;
}

