/*
 * A check is PROXY_PROBES_PER_CHECK probe logins; it succeeds when the
 * backend is reachable and every probe login succeeds (each fails with the
 * backend's login failure ratio). Proxies act on reachability only: a
 * backend that answers but fails logins is the controller's to judge from
 * failure ratios, as Palomar divides the work.
 */
#include "sim/world/probes.h"

#include <stdio.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/geodb/geodb_users.h"
#include "sim/world/world_topo.h"
#include "sim/world/replication.h"

static bool check_backend(struct world *w, struct world_backend *b)
{
    if (b->crashed)
        return false;
    for (int64_t i = 0; i < w->params.probes_per_check; i++) {
        if (rng_chance_ppm(&w->rng_probes, b->login_fail_ppm))
            return false;
    }
    return true;
}

/* The proxies of the backend's site set its status (as doveadm would). */
/* Returns 0, or -1 when the status could not be set (tried again at the
 * next check). */
static int proxies_set(struct world *w, int b, enum backend_status status, enum event_kind kind)
{
    struct world_backend *backend = &w->backends[b];
    char err[256];
    int rc = topo_set_backend_status(w, backend->site, b, status, err, sizeof(err));
    char detail[400];
    if (kind == EVK_PROXY_OFFLINE)
        snprintf(detail, sizeof(detail), "unreachable for %d checks: set offline%s%s",
                 backend->unreachable_streak, rc ? ": " : "", rc ? err : "");
    else
        snprintf(detail, sizeof(detail), "reachable again: set online%s%s", rc ? ": " : "",
                 rc ? err : "");
    world_event(w, backend->site, b, kind, "proxy", backend->name, detail);
    return rc;
}

/* The site's proxies check every other site's load balancer and write what
 * changed to site_reachability in their replica (check_site_reachability
 * reports it; nothing acts on it). */
static void probe_sites(struct world *w, int s)
{
    struct geodb *db = world_replica_of_site(w, s)->db;
    bool open = false;
    int rc = GEODB_OK;
    for (int d = 0; d < w->nsites && rc == GEODB_OK; d++) {
        int8_t now = repl_reachable(w, s, d) ? 1 : 0;
        if (d == s || w->reach_seen[s][d] == now)
            continue;
        if (!open) {
            rc = geodb_tx_begin(db);
            geodb_clock_set(db, world_ts_us(w, s));
            if (rc == GEODB_OK)
                rc = geodb_writer_set(db, w->sites[s].id);
            open = true;
        }
        if (rc == GEODB_OK)
            rc = geodb_reachability_put(db, w->sites[s].id, w->sites[d].id, now == 1);
        w->reach_seen[s][d] = now;
    }
    if (!open)
        return;
    if (geodb_in_tx(db))
        rc = geodb_tx_end(db, rc);
    if (rc != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(db));
        return;
    }
    repl_db_written(w, w->sites[s].replica, GEODB_T_REACH);
}

void probes_run(struct world *w)
{
    for (int s = 0; s < w->nsites && w->nsites > 1 && !w->error[0]; s++) {
        if (!w->site_down[s])
            probe_sites(w, s);
    }
    for (int b = 0; b < w->nbackends && !w->error[0]; b++) {
        struct world_backend *backend = &w->backends[b];
        const struct view_backend *view = &world_replica_of_site(w, backend->site)->backends[b];
        if (!view->live || w->site_down[backend->site])
            continue; /* a crashed site's proxies check nothing */
        bool ok = check_backend(w, backend);
        backend->probes_ok += ok;
        backend->probes_failed += !ok;
        backend->probe_ok_streak = ok ? backend->probe_ok_streak + 1 : 0;
        backend->unreachable_streak = backend->crashed ? backend->unreachable_streak + 1 : 0;
        if (!w->params.proxy_check_backends)
            continue;
        if (view->status == BACKEND_ONLINE &&
            backend->unreachable_streak >= w->params.proxy_check_failures) {
            backend->offlined_by_proxy = proxies_set(w, b, BACKEND_OFFLINE, EVK_PROXY_OFFLINE) == 0;
        } else if (view->status == BACKEND_OFFLINE && backend->offlined_by_proxy &&
                   !backend->crashed) {
            backend->offlined_by_proxy = proxies_set(w, b, BACKEND_ONLINE, EVK_PROXY_ONLINE) != 0;
        }
    }
}
