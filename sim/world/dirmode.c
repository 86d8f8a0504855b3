/*
 * Director mode (see dirmode.h). The director is the one in core/, driven
 * at the world's clock in whole seconds, as Dovecot's ioloop_time is.
 */
#include "sim/world/dirmode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/director.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_director.h"
#include "sim/world/moves.h"
#include "sim/base/report.h"
#include "sim/world/world.h"

/* An assignment before a command: (tag, hash) -> host. */
struct dirmode_entry {
    uint32_t hash;
    char tag[DIRRING_TAG_SIZE];
    char ip[DIRRING_IP_TEXT_SIZE];
};

static int64_t now_s(const struct world *w)
{
    return world_ts_us(w, 0) / 1000000;
}

static struct dirmode *dm(struct world *w)
{
    return w->dir;
}

static int backend_of_ip(const struct world *w, const char *ip)
{
    for (int b = 0; b < w->nbackends; b++) {
        if (strcmp(w->dir->ip[b], ip) == 0)
            return b;
    }
    return -1;
}

int dirmode_resolve(struct world *w, const char *name, char *ip, size_t size)
{
    int b = world_backend_by_name(w, name);
    if (b < 0)
        return -1;
    snprintf(ip, size, "%s", w->dir->ip[b]);
    return 0;
}

/* ---- users by hash ---- */

static const uint32_t *sort_hash; /* qsort has no context argument */

static int by_hash_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (sort_hash[x] != sort_hash[y])
        return sort_hash[x] < sort_hash[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The first position in by_hash of users with this hash. */
static uint32_t first_with_hash(const struct world *w, uint32_t hash)
{
    const struct dirmode *d = w->dir;
    uint32_t lo = 0, hi = w->users.n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (d->hash[d->by_hash[mid]] < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int hash_users(struct world *w)
{
    struct dirmode *d = dm(w);
    uint32_t n = w->users.n ? w->users.n : 1;
    d->hash = malloc(n * sizeof(*d->hash));
    d->by_hash = malloc(n * sizeof(*d->by_hash));
    d->before = malloc(n * sizeof(*d->before));
    if (d->hash == NULL || d->by_hash == NULL || d->before == NULL) {
        world_fail(w, "out of memory for the director's users");
        return -1;
    }
    char name[CLUSTER_USERNAME_SIZE];
    for (uint32_t u = 0; u < w->users.n; u++) {
        world_username(w, u, name, sizeof(name));
        if (director_hash(d->d, name, &d->hash[u]) != DIRECTOR_OK) {
            world_fail(w, "director_username_hash cannot hash user %s", name);
            return -1;
        }
        d->by_hash[u] = u;
    }
    sort_hash = d->hash;
    qsort(d->by_hash, w->users.n, sizeof(*d->by_hash), by_hash_cmp);
    sort_hash = NULL;
    return 0;
}

/* ---- setup ---- */

static int create_director(struct world *w)
{
    struct dirmode *d = dm(w);
    const struct scenario *scn = w->scn;
    char servers[CLUSTER_BACKENDS_MAX * 18] = "";
    size_t used = 0;
    for (int b = 0; b < w->nbackends; b++) {
        snprintf(d->ip[b], sizeof(d->ip[b]), "10.0.%d.%d", b / 250, b % 250 + 1);
        const struct view_backend *v = &w->replicas[0].backends[b];
        if (v->status == BACKEND_ONLINE && used < sizeof(servers))
            used += (size_t)snprintf(servers + used, sizeof(servers) - used, "%s%s",
                                     used ? " " : "", d->ip[b]);
    }
    struct director_settings set;
    director_settings_init(&set);
    set.username_hash = scn->director.username_hash;
    set.user_expire_s = scn->director.user_expire_ms / 1000;
    set.mail_servers = servers;
    set.users_max = w->users.n ? w->users.n : 1;
    enum director_result r = director_create(&set, &d->d);
    if (r != DIRECTOR_OK) {
        world_fail(w, "cannot start the director: %s", director_result_text(r));
        return -1;
    }
    director_advance(d->d, now_s(w));
    return 0;
}

/* Users in progress at t = 0 have their assignments. */
static void preassign(struct world *w)
{
    struct director_login out;
    for (uint32_t u = 0; u < w->users.n; u++) {
        if (director_login_hash(w->dir->d, w->dir->hash[u], "", now_s(w), &out) == DIRECTOR_OK) {
            int b = backend_of_ip(w, out.ip);
            if (b >= 0)
                world_set_resident(w, u, b);
        }
    }
}

static int save_state(struct world *w)
{
    struct geodb *db = w->replicas[0].db;
    int rc = geodb_tx_begin(db);
    if (rc == GEODB_OK)
        rc = geodb_tx_end(db, geodb_director_save(db, w->dir->d, now_s(w)));
    if (rc != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(db));
        return -1;
    }
    return 0;
}

int dirmode_init(struct world *w)
{
    w->dir = calloc(1, sizeof(*w->dir));
    if (w->dir == NULL) {
        world_fail(w, "out of memory for the director");
        return -1;
    }
    if (create_director(w) != 0 || hash_users(w) != 0)
        return -1;
    if (w->scn->users.preplaced)
        preassign(w);
    for (int b = 0; b < w->nbackends; b++)
        w->dir->hosts[b].next_poll_ms = w->params.dovemon_interval_ms;
    if (report_open_director(w->report) != 0) {
        world_fail(w, "cannot write director.csv");
        return -1;
    }
    return save_state(w);
}

void dirmode_free(struct world *w)
{
    if (w->dir == NULL)
        return;
    director_destroy(w->dir->d);
    free(w->dir->hash);
    free(w->dir->by_hash);
    free(w->dir->before);
    free(w->dir);
    w->dir = NULL;
}

/* ---- routing ---- */

int dirmode_route(struct world *w, uint32_t user)
{
    struct director_login out;
    enum director_result r = director_login_hash(w->dir->d, w->dir->hash[user], "", now_s(w), &out);
    if (r == DIRECTOR_WAIT) {
        /* Dovecot holds the login until the kick is over (two seconds),
         * then sends it where the move put the user. */
        w->stats.held++;
        return dirmode_assigned(w, user);
    }
    if (r != DIRECTOR_OK)
        return -1;
    int b = backend_of_ip(w, out.ip);
    if (b < 0)
        return -1; /* a host that is no machine of the scenario */
    uint16_t resident = w->users.state[user].resident;
    if (resident != UC_NO_BACKEND && resident != b)
        moves_director(w, user, resident, b, out.new_assignment);
    return b;
}

int dirmode_assigned(struct world *w, uint32_t user)
{
    char hash[16];
    snprintf(hash, sizeof(hash), "%u", w->dir->hash[user]);
    struct director_user_status st;
    if (director_user_status(w->dir->d, hash, "", now_s(w), &st) != DIRECTOR_OK ||
        st.current_ip[0] == '\0')
        return -1;
    return backend_of_ip(w, st.current_ip);
}

/* ---- dovemon ---- */

/* A poll is a login of the probe user: it fails on a crashed backend, and
 * on one failing logins as often as it fails them. */
static bool poll_ok(struct world *w, int b)
{
    const struct world_backend *backend = &w->backends[b];
    return !backend->crashed && !rng_chance_ppm(&w->rng_probes, backend->login_fail_ppm);
}

static void dovemon_mark(struct world *w, int b, bool down)
{
    struct dirmode *d = dm(w);
    int64_t t = now_s(w);
    enum director_result r = down ? director_host_down(d->d, d->ip[b], t)
                                  : director_host_up(d->d, d->ip[b], t);
    if (r == DIRECTOR_OK && down)
        r = director_flush(d->d, d->ip[b], t);
    d->hosts[b].down_by_dovemon = down;
    char detail[160];
    snprintf(detail, sizeof(detail), "%s (%s): %s", w->backends[b].name, d->ip[b],
             down ? "7 of 10 rapid polls failed: marked down and flushed"
                  : "a poll succeeded: marked up");
    world_event(w, 0, b, down ? EVK_DOVEMON_DOWN : EVK_DOVEMON_UP, "dovemon", w->backends[b].name,
                detail);
}

static void dovemon_poll(struct world *w, int b)
{
    struct dirmode_host *h = &w->dir->hosts[b];
    const struct sim_params *p = &w->params;
    bool ok = poll_ok(w, b);
    if (h->rapid_left > 0) {
        h->rapid_failures += !ok;
        if (--h->rapid_left == 0) {
            if (h->rapid_failures >= p->dovemon_rapid_failures && !h->down_by_dovemon)
                dovemon_mark(w, b, true);
            h->fail_streak = 0;
        }
        h->next_poll_ms = w->engine.now_ms + (h->rapid_left > 0 ? p->dovemon_rapid_interval_ms
                                                                : p->dovemon_interval_ms);
        return;
    }
    if (ok) {
        h->fail_streak = 0;
        if (h->down_by_dovemon)
            dovemon_mark(w, b, false);
    } else if (++h->fail_streak >= p->dovemon_failures && !h->down_by_dovemon) {
        h->rapid_left = (int)p->dovemon_rapid_polls;
        h->rapid_failures = 0;
        h->next_poll_ms = w->engine.now_ms + p->dovemon_rapid_interval_ms;
        return;
    }
    h->next_poll_ms = w->engine.now_ms + p->dovemon_interval_ms;
}

void dirmode_dovemon_tick(struct world *w)
{
    /* dovemon's second starts with the director's: its expiry timers fire
     * before the polls (the views below only read). */
    director_advance(w->dir->d, now_s(w));
    for (int b = 0; b < w->nbackends; b++) {
        struct dirmode_view v;
        dirmode_view(w, b, &v);
        if (v.present && w->dir->hosts[b].next_poll_ms <= w->engine.now_ms)
            dovemon_poll(w, b);
    }
}

void dirmode_notify(struct world *w)
{
    for (uint32_t u = 0; u < w->users.n; u++) {
        if (sessions_of_user(&w->sessions, u) > 0)
            director_notify_hash(w->dir->d, w->dir->hash[u], now_s(w));
    }
}

/* ---- timeline commands ---- */

static int entry_cmp(const void *a, const void *b)
{
    const struct dirmode_entry *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return strcmp(x->tag, y->tag);
}

int dirmode_before_command(struct world *w)
{
    struct dirmode *d = dm(w);
    struct director_user_iter it;
    struct director_user_row row;
    d->nbefore = 0;
    director_user_iter_init(d->d, &it);
    while (d->nbefore < w->users.n && director_user_iter_next(d->d, &it, &row)) {
        struct dirmode_entry *e = &d->before[d->nbefore++];
        e->hash = row.hash;
        snprintf(e->tag, sizeof(e->tag), "%s", row.tag);
        snprintf(e->ip, sizeof(e->ip), "%s", row.ip);
    }
    qsort(d->before, d->nbefore, sizeof(*d->before), entry_cmp);
    return save_state(w);
}

/* The director kicks a user whose assignment a command moved. */
static void kick_moved(struct world *w, const struct director_user_row *row)
{
    struct dirmode *d = dm(w);
    struct dirmode_entry key = {.hash = row->hash};
    snprintf(key.tag, sizeof(key.tag), "%s", row->tag);
    const struct dirmode_entry *old = bsearch(&key, d->before, d->nbefore, sizeof(*d->before),
                                              entry_cmp);
    if (old == NULL || strcmp(old->ip, row->ip) == 0)
        return;
    for (uint32_t i = first_with_hash(w, row->hash);
         i < w->users.n && d->hash[d->by_hash[i]] == row->hash; i++)
        sessions_kick_user(&w->sessions, d->by_hash[i]);
}

static void write_hosts(struct world *w, const char *command)
{
    struct dirmode *d = dm(w);
    for (size_t i = 0; i < director_host_count(d->d); i++) {
        struct director_host_row h;
        director_host_row(d->d, i, &h);
        int b = backend_of_ip(w, h.ip);
        report_director(w->report, w->engine.now_ms, command, h.ip, b >= 0 ? w->backends[b].name : "",
                        h.tag, h.vhost_count, h.down, h.user_count);
    }
}

int dirmode_after_command(struct world *w, const char *command)
{
    struct dirmode *d = dm(w);
    int64_t clock_s = 0;
    char err[256];
    struct director *fresh = NULL;
    if (geodb_director_load(w->replicas[0].db, &fresh, &clock_s, err, sizeof(err)) != GEODB_OK) {
        world_fail(w, "cannot reload the director: %s", err[0] ? err : geodb_errmsg(w->replicas[0].db));
        return -1;
    }
    director_destroy(d->d);
    d->d = fresh;
    director_advance(d->d, now_s(w));
    struct director_user_iter it;
    struct director_user_row row;
    director_user_iter_init(d->d, &it);
    while (director_user_iter_next(d->d, &it, &row))
        kick_moved(w, &row);
    write_hosts(w, command);
    return 0;
}

/* ---- views ---- */

/* The views read the director as it stands once its clock reaches now
 * (expiry timers due by now counted as fired) without advancing it:
 * observing must not change the model. */

void dirmode_view(const struct world *w, int backend, struct dirmode_view *out)
{
    const struct director *d = w->dir->d;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < director_host_count(d); i++) {
        struct director_host_row h;
        director_host_row(d, i, &h);
        if (strcmp(h.ip, w->dir->ip[backend]) == 0) {
            director_host_row_at(d, i, now_s(w), &h);
            *out = (struct dirmode_view){true, h.down, h.vhost_count, h.user_count};
            return;
        }
    }
}

double dirmode_imbalance(const struct world *w)
{
    const struct director *d = w->dir->d;
    double max = 0.0, sum = 0.0;
    int n = 0;
    for (size_t i = 0; i < director_host_count(d); i++) {
        struct director_host_row h;
        director_host_row_at(d, i, now_s(w), &h);
        if (h.down || h.vhost_count == 0)
            continue;
        double per = h.user_count * 100.0 / h.vhost_count;
        max = per > max ? per : max;
        sum += per;
        n++;
    }
    return (n == 0 || sum <= 0.0) ? 0.0 : max / (sum / n);
}

uint32_t dirmode_misplaced(const struct world *w)
{
    return director_misplaced(w->dir->d, now_s(w));
}
