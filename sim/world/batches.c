/*
 * Batch moves in the simulation (see batches.h). A batch lives in a slot
 * while it runs; its users carry the slot in slot_of so that completions
 * are counted without searching, and a user the batch no longer owns
 * (finished at a login, cancelled, overwritten by a merge) is noticed when
 * the batch gets to it.
 */
#include "sim/world/batches.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/geodb/geodb_users.h"
#include "sim/world/moves.h"
#include "sim/world/world.h"
#include "sim/world/world_topo.h"
#include "sim/world/replication.h"

#define ROWS_MAX 4096
#define TICK_MS 1000

static int site_of_replica(const struct world *w, int r)
{
    return r < w->nsites ? r : 0;
}

/* Ids of a comma-separated list as physical indices; unknown ids dropped. */
static int parse_ids(const struct world *w, const char *list, bool sites, int *out)
{
    char copy[GEODB_MOVE_DEST_SIZE];
    snprintf(copy, sizeof(copy), "%s", list);
    int n = 0;
    char *save = NULL;
    for (char *id = strtok_r(copy, ",", &save); id != NULL && n < CLUSTER_FM_DEST_MAX;
         id = strtok_r(NULL, ",", &save)) {
        int idx = sites ? world_site_by_id(w, id) : world_backend_by_id(w, id);
        if (idx >= 0)
            out[n++] = idx;
    }
    return n;
}

static int write_state(struct world *w, struct batch *b, enum geodb_move_state state)
{
    struct geodb *db = w->replicas[b->replica].db;
    int site = site_of_replica(w, b->replica);
    int rc = geodb_tx_begin(db);
    if (rc == GEODB_OK) {
        geodb_clock_set(db, world_ts_us(w, site));
        rc = geodb_writer_set(db, w->sites[site].id);
        if (rc == GEODB_OK)
            rc = geodb_move_set_state(db, b->id, state, (int)b->moved);
        rc = geodb_tx_end(db, rc);
    }
    if (rc != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(db));
        return -1;
    }
    b->written_moved = b->moved;
    repl_db_written(w, b->replica, GEODB_T_MOVES);
    return 0;
}

static bool pickable(const struct world *w, const struct usercache *uc, uint32_t u,
                     int64_t min_last_moved)
{
    if (usercache_route(uc, u)->moving != REASON_NONE)
        return false;
    int64_t now_s = w->engine.now_ms / 1000;
    int32_t last_moved_s = usercache_last_moved(uc, u);
    return min_last_moved < 0 || last_moved_s < 0 || now_s - last_moved_s >= min_last_moved;
}

static void mark(struct world *w, struct batch *b, int slot, uint32_t u, int to_backend,
                 int to_site)
{
    if (!moves_request(w, b->replica, site_of_replica(w, b->replica), u, to_backend, to_site,
                       REASON_BATCH))
        return;
    b->users[b->marked++] = u;
    w->batches->slot_of[u] = (uint8_t)(slot + 1);
}

/* A source backend's users in arrival order, over the usable destinations
 * in turn. */
static void select_backend(struct world *w, struct batch *b, int slot, const struct geodb_move *m,
                           uint32_t limit)
{
    const struct replica *rep = &w->replicas[b->replica];
    int ids[CLUSTER_FM_DEST_MAX], dests[CLUSTER_FM_DEST_MAX], n = 0;
    int nids = parse_ids(w, m->dest_backends, false, ids);
    for (int i = 0; i < nids; i++) {
        if (topo_backend_takes_users(rep, ids[i]))
            dests[n++] = ids[i];
    }
    int src = world_backend_by_id(w, m->src_backend_id);
    if (src < 0 || n == 0)
        return;
    const struct usercache *uc = &rep->users;
    uint32_t u = usercache_first(uc, (uint16_t)src);
    while (u != UC_NO_USER && b->marked < limit) {
        uint32_t next = usercache_next(uc, u);
        if (pickable(w, uc, u, m->min_last_moved_s))
            mark(w, b, slot, u, dests[b->marked % (uint32_t)n], -1);
        u = next;
    }
}

/* A source site's users, backend by backend, each to a destination site
 * chosen by the user's hash among those that take users. */
static void select_site(struct world *w, struct batch *b, int slot, const struct geodb_move *m,
                        uint32_t limit)
{
    const struct replica *rep = &w->replicas[b->replica];
    int ids[CLUSTER_FM_DEST_MAX];
    int dests[CLUSTER_FM_DEST_MAX], n = 0;
    int nids = parse_ids(w, m->dest_sites, true, ids);
    for (int i = 0; i < nids; i++) {
        const struct view_site *v = &rep->sites[ids[i]];
        if (v->live && v->status == SITE_ONLINE && rep->cands[ids[i]].n > 0)
            dests[n++] = ids[i];
    }
    int src = world_site_by_id(w, m->src_site_id);
    if (src < 0 || n == 0)
        return;
    const struct usercache *uc = &rep->users;
    for (int be = 0; be < w->nbackends && b->marked < limit; be++) {
        if (!rep->backends[be].live || rep->backends[be].site != src)
            continue;
        uint32_t u = usercache_first(uc, (uint16_t)be);
        while (u != UC_NO_USER && b->marked < limit) {
            uint32_t next = usercache_next(uc, u);
            if (pickable(w, uc, u, m->min_last_moved_s))
                mark(w, b, slot, u, -1, topo_site_by_hash(w, w->users.state[u].key, dests, n));
            u = next;
        }
    }
}

static void schedule_tick(struct world *w)
{
    if (w->batches->tick_scheduled)
        return;
    if (engine_push(&w->engine, w->engine.now_ms, EV_BATCH, 0) != 0) {
        world_fail(w, "event queue full (%u events)", w->engine.capacity);
        return;
    }
    w->batches->tick_scheduled = true;
}

static int free_slot(struct world *w)
{
    for (int i = 0; i < BATCHES_MAX; i++) {
        struct batch *b = &w->batches->slots[i];
        if (!b->used || (b->finished && b->next == b->marked)) {
            for (uint32_t k = 0; b->used && k < b->marked; k++) {
                if (w->batches->slot_of[b->users[k]] == i + 1)
                    w->batches->slot_of[b->users[k]] = 0; /* a move still finishing */
            }
            free(b->users);
            memset(b, 0, sizeof(*b));
            return i;
        }
    }
    return -1;
}

static int start(struct world *w, int r, const struct geodb_move *m)
{
    int slot = free_slot(w);
    if (slot < 0) {
        world_fail(w, "more than %d batch moves at once", BATCHES_MAX);
        return -1;
    }
    struct batch *b = &w->batches->slots[slot];
    uint32_t limit = m->count > 0 && (uint32_t)m->count < w->users.n ? (uint32_t)m->count
                                                                       : w->users.n;
    b->users = malloc((limit ? limit : 1) * sizeof(uint32_t));
    if (b->users == NULL) {
        world_fail(w, "out of memory for a batch move");
        return -1;
    }
    b->used = true;
    b->replica = r;
    snprintf(b->id, sizeof(b->id), "%s", m->id);
    if (m->src_backend_id[0] != '\0')
        select_backend(w, b, slot, m, limit);
    else
        select_site(w, b, slot, m, limit);
    char detail[160];
    snprintf(detail, sizeof(detail), "batch move %s: %u users marked", b->id, b->marked);
    world_event(w, site_of_replica(w, r), -1, EVK_BATCH, "doveadm", b->id, detail);
    if (b->marked == 0) {
        b->finished = true; /* nothing to move, or nowhere to move it */
        return write_state(w, b, MOVE_DONE);
    }
    schedule_tick(w);
    return write_state(w, b, MOVE_RUNNING);
}

/* Cancels the moves not triggered yet: their records stop saying moving. */
static void stop(struct world *w, struct batch *b, int slot)
{
    struct usercache *uc = &w->replicas[b->replica].users;
    int site = site_of_replica(w, b->replica);
    for (; b->next < b->marked; b->next++) {
        uint32_t u = b->users[b->next];
        if (w->batches->slot_of[u] != slot + 1)
            continue;
        w->batches->slot_of[u] = 0;
        b->dropped++;
        struct uc_route route = usercache_get(uc, u);
        if (route.moving != REASON_BATCH || w->users.state[u].inflight != UC_NO_USER)
            continue;
        int alt = topo_place(w, &w->replicas[b->replica], route.site, w->users.state[u].key,
                             route.backend, NULL);
        route.moving = REASON_NONE;
        route.alt = alt >= 0 && w->params.failover_target == TARGET_STORED ? (uint16_t)alt
                                                                            : UC_NO_BACKEND;
        route.dest_site = UC_NO_SITE;
        route.ts_us = world_ts_us(w, site);
        route.writer = (uint8_t)site;
        repl_put_route(w, b->replica, u, &route);
    }
    b->finished = true;
}

static struct batch *find(struct world *w, const char *id, int *slot)
{
    for (int i = 0; i < BATCHES_MAX; i++) {
        if (w->batches->slots[i].used && strcmp(w->batches->slots[i].id, id) == 0) {
            *slot = i;
            return &w->batches->slots[i];
        }
    }
    return NULL;
}

int batches_sync(struct world *w, int r, int site)
{
    (void)site;
    if (w->batches->slot_of == NULL) {
        w->batches->slot_of = calloc(w->users.n ? w->users.n : 1, 1);
        if (w->batches->slot_of == NULL) {
            world_fail(w, "out of memory for batch moves");
            return -1;
        }
    }
    struct geodb_move *rows = malloc(sizeof(*rows) * ROWS_MAX);
    int n = 0, rc = 0;
    if (rows == NULL || geodb_move_list(w->replicas[r].db, false, rows, ROWS_MAX, &n) != GEODB_OK) {
        free(rows);
        world_fail(w, "cannot read batch moves from %s", w->replicas[r].path);
        return -1;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        int slot = -1;
        struct batch *b = rows[i].batch ? find(w, rows[i].id, &slot) : NULL;
        if (rows[i].batch && b == NULL && rows[i].state == MOVE_QUEUED)
            rc = start(w, r, &rows[i]);
        else if (b != NULL && !b->finished && rows[i].state == MOVE_STOPPED)
            stop(w, b, slot);
    }
    free(rows);
    return rc;
}

/* Users of a fully triggered batch whose moves will never be counted (the
 * record was overwritten while the source was finishing). */
static void reconcile(struct world *w, struct batch *b, int slot)
{
    const struct usercache *uc = &w->replicas[b->replica].users;
    for (uint32_t i = 0; i < b->marked; i++) {
        uint32_t u = b->users[i];
        if (w->batches->slot_of[u] == slot + 1 && w->users.state[u].inflight == UC_NO_USER &&
            usercache_route(uc, u)->moving != REASON_BATCH) {
            w->batches->slot_of[u] = 0;
            b->dropped++;
        }
    }
}

static bool tick_one(struct world *w, struct batch *b, int slot)
{
    const struct usercache *uc = &w->replicas[b->replica].users;
    int64_t budget = w->params.batch_moves_per_s;
    while (budget > 0 && b->next < b->marked) {
        uint32_t u = b->users[b->next++];
        if (w->batches->slot_of[u] != slot + 1)
            continue; /* already finished at a login */
        if (usercache_route(uc, u)->moving != REASON_BATCH) {
            w->batches->slot_of[u] = 0;
            b->dropped++;
            continue;
        }
        if (w->users.state[u].inflight == UC_NO_USER)
            moves_on_access(w, b->replica, u, COMPLETION_TRIGGER);
        budget--;
    }
    if (b->next == b->marked && b->moved + b->dropped < b->marked)
        reconcile(w, b, slot);
    if (b->next == b->marked && b->moved + b->dropped >= b->marked) {
        b->finished = true;
        write_state(w, b, MOVE_DONE);
        return false;
    }
    if (b->moved != b->written_moved)
        write_state(w, b, MOVE_RUNNING);
    return true;
}

void batches_tick(struct world *w)
{
    w->batches->tick_scheduled = false;
    bool again = false;
    for (int i = 0; i < BATCHES_MAX && !w->error[0]; i++) {
        struct batch *b = &w->batches->slots[i];
        if (b->used && !b->finished)
            again |= tick_one(w, b, i);
    }
    if (again && engine_push(&w->engine, w->engine.now_ms + TICK_MS, EV_BATCH, 0) == 0)
        w->batches->tick_scheduled = true;
}

void batches_moved(struct world *w, uint32_t user)
{
    if (w->batches->slot_of == NULL || w->batches->slot_of[user] == 0)
        return;
    w->batches->slots[w->batches->slot_of[user] - 1].moved++;
    w->batches->slot_of[user] = 0;
}

void batches_free(struct world *w)
{
    if (w->batches == NULL)
        return; /* the world failed before building it */
    for (int i = 0; i < BATCHES_MAX; i++)
        free(w->batches->slots[i].users);
    free(w->batches->slot_of);
    memset(w->batches, 0, sizeof(*w->batches));
}
