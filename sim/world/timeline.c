/*
 * Running timeline entries. A doveadm command sees the replica as the
 * operator would: the user cache is flushed to the file first, and the
 * caches are refreshed from the file after, according to what the command
 * says it changed.
 */
#include "sim/world/timeline.h"

#include <stdio.h>
#include <string.h>

#include "core/settings.h"
#include "sim/world/checks.h"
#include "sim/world/dirmode.h"
#include "sim/doveadm/doveadm.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_ctlreq.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/geodb/geodb_users.h"
#include "sim/base/report.h"
#include "sim/world/traffic.h"
#include "sim/world/world_topo.h"
#include "sim/world/replication.h"
#include "sim/world/batches.h"

#define DOVEADM_OUT_SIZE 65536
#define DOVEADM_ERR_SIZE 1024

struct reload_ctx {
    struct world *w;
    int r;
    struct usercache *uc;
    int writer;
    int unknown;
};

/* The simulated user called name, by its key (doveadm user commands name
 * users; the cache indexes them). */
static int64_t user_index(const struct world *w, const char *name)
{
    uint64_t key = placement_key(name);
    char candidate[CLUSTER_USERNAME_SIZE];
    for (uint32_t u = 0; u < w->users.n; u++) {
        if (w->users.state[u].key != key)
            continue;
        world_username(w, u, candidate, sizeof(candidate));
        if (strcmp(candidate, name) == 0)
            return u;
    }
    return -1;
}

/* `user access` in a simulation: the proxies route an access of the user
 * from its home site (placing it, starting or finishing its move). */
static int live_access(void *ctx, const char *user, char *backend, size_t size)
{
    struct world *w = ctx;
    int64_t u = user_index(w, user);
    int b = u >= 0 ? traffic_route(w, (uint32_t)u) : -1;
    if (b < 0)
        return -1;
    snprintf(backend, size, "%s", w->backends[b].name);
    return 0;
}

/* `kick` in a simulation: the user's sessions end; clients reconnect at
 * their next login. */
static int live_kick(void *ctx, const char *user)
{
    struct world *w = ctx;
    int64_t u = user_index(w, user);
    return u >= 0 ? (int)sessions_kick_user(&w->sessions, (uint32_t)u) : 0;
}

/* `doveadm director` resolves host names; the scenario's backends are the
 * simulation's DNS. */
static int live_resolve(void *ctx, const char *name, char *ip, size_t size)
{
    struct world *w = ctx;
    return w->dir != NULL ? dirmode_resolve(w, name, ip, size) : -1;
}

void timeline_init(struct world *w)
{
    w->live = (struct doveadm_live){w, live_access, live_kick, live_resolve};
}

static bool is_director_command(const char *line)
{
    line += strspn(line, " \t");
    return strncmp(line, "director", 8) == 0 && (line[8] == ' ' || line[8] == '\t' || !line[8]);
}

static enum move_reason reason_parse(const char *text)
{
    if (text[0] == '\0')
        return REASON_NONE;
    for (int r = 1; r < REASON_COUNT; r++) {
        if (strcmp(move_reason_name((enum move_reason)r), text) == 0)
            return (enum move_reason)r;
    }
    return REASON_MANUAL;
}

static int reload_user(void *arg, const struct geodb_user *gu)
{
    struct reload_ctx *ctx = arg;
    const struct world *w = ctx->w;
    int64_t u = user_index(w, gu->username);
    if (u < 0) {
        ctx->unknown++;
        return 0;
    }
    int site = gu->site_id[0] ? world_site_by_id(w, gu->site_id) : -1;
    int backend = gu->backend_id[0] ? world_backend_by_id(w, gu->backend_id) : -1;
    int alt = gu->alt_backend_id[0] ? world_backend_by_id(w, gu->alt_backend_id) : -1;
    int dest = gu->dest_site_id[0] ? world_site_by_id(w, gu->dest_site_id) : -1;
    struct uc_route route = {
        .ts_us = gu->deleted ? gu->del_ts_us : gu->route_ts_us,
        .last_moved_s = (int32_t)gu->last_moved_s,
        .backend = (backend >= 0 && !gu->deleted) ? (uint16_t)backend : UC_NO_BACKEND,
        .alt = alt >= 0 ? (uint16_t)alt : UC_NO_BACKEND,
        .site = (site >= 0 && !gu->deleted) ? (uint8_t)site : UC_NO_SITE,
        .dest_site = dest >= 0 ? (uint8_t)dest : UC_NO_SITE,
        .moving = gu->deleted ? REASON_NONE : (uint8_t)reason_parse(gu->moving),
        .writer = (uint8_t)ctx->writer};
    if (!usercache_put(ctx->uc, (uint32_t)u, &route))
        return 0;
    repl_user_written(ctx->w, ctx->r, (uint32_t)u);
    if (route.moving != REASON_NONE)
        ctx->w->users.requested_s[u] = (int32_t)(ctx->w->engine.now_ms / 1000);
    return 0;
}

/* Reloads the users of replica r written at exactly ts (after a doveadm
 * command touched users). */
static int reload_users(struct world *w, int r, int64_t ts, int writer_site)
{
    struct reload_ctx ctx = {.w = w, .r = r, .uc = &w->replicas[r].users, .writer = writer_site};
    if (geodb_user_each_at(w->replicas[r].db, ts, reload_user, &ctx) != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(w->replicas[r].db));
        return -1;
    }
    return 0;
}

/* Applies what a command changed to the caches of replica r. */
static void refresh_after(struct world *w, int r, unsigned changed, int64_t ts, int site)
{
    if (changed & (DOVEADM_CHANGED_TOPOLOGY | DOVEADM_CHANGED_REFRESH))
        topo_reload(w, r);
    if (changed & (DOVEADM_CHANGED_SETTINGS | DOVEADM_CHANGED_REFRESH))
        topo_reload_settings(w, r);
    if (changed & (DOVEADM_CHANGED_USERS | DOVEADM_CHANGED_MOVES))
        reload_users(w, r, ts, site);
    if (changed & DOVEADM_CHANGED_MOVES)
        batches_sync(w, r, site);
    repl_db_written(w, r,
                    (changed & DOVEADM_CHANGED_TOPOLOGY ? GEODB_T_TOPOLOGY : 0u) |
                        (changed & DOVEADM_CHANGED_SETTINGS ? GEODB_T_SETTINGS : 0u) |
                        (changed & DOVEADM_CHANGED_MOVES ? GEODB_T_MOVES : 0u));
}

static void first_line(char *text)
{
    text[strcspn(text, "\n")] = '\0';
}

/* Asks site's controller for a manual operation (enum scn_ctl_action;
 * backend and pct for a force move) and logs it as the operator's, with
 * fail_kind when the controller did not answer. Returns 0 or -1. */
static int controller_ask(struct world *w, int site, int action, int backend, int pct,
                          enum event_kind fail_kind)
{
    bool force = action == SCN_CTL_FORCE_MOVE;
    char detail[CLUSTER_NAME_SIZE + 64];
    snprintf(detail, sizeof(detail), force ? "force-move %d%% of %s" : "rebalance",
             force ? pct : 0, force ? w->backends[backend].name : "");
    const struct world_controllers *wc = &w->controllers;
    int rc = wc->request != NULL && site >= 0 ? wc->request(wc->ctx, site, action, backend, pct)
                                              : -1;
    if (rc != 0)
        strncat(detail, ": the controller did not answer", sizeof(detail) - strlen(detail) - 1);
    world_event(w, site, backend, rc == 0 ? EVK_NOTE : fail_kind, "operator",
                force ? w->backends[backend].name : (site >= 0 ? w->sites[site].name : ""),
                detail);
    return rc;
}

/* Writes the controller's answer to request id into replica r. */
static int request_answer(struct world *w, int r, int64_t id, bool ok, int64_t now_us,
                          const char *result)
{
    struct geodb *db = w->replicas[r].db;
    int rc = geodb_tx_begin(db);
    if (rc == GEODB_OK)
        rc = geodb_tx_end(db, geodb_ctl_request_finish(db, id, ok, now_us, result));
    if (rc != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(db));
        return -1;
    }
    return 0;
}

/* A controller request that `cluster controller ...` queued in replica r:
 * the site's controller takes it at once, through the same API as a
 * timeline `controller` entry, and its answer is written to the row. With
 * no controller at all (director mode) it stays queued, as on the command
 * line; a controller that does not answer (its site is down) or cannot do
 * it fails it, and the command exits 75 as the API call would. */
static int request_dispatch(struct world *w, int r, int64_t id, int64_t now_us, char *err,
                            size_t err_size)
{
    struct geodb_ctl_request req;
    if (geodb_ctl_request_get(w->replicas[r].db, id, &req) != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(w->replicas[r].db));
        return DOVEADM_EX_TEMPFAIL;
    }
    if (w->controllers.request == NULL)
        return DOVEADM_EX_OK;
    bool force = req.action == GEODB_CTL_FORCE_MOVE;
    int site = world_site_by_id(w, req.site_id);
    int backend = force ? world_backend_by_id(w, req.backend_id) : -1;
    char result[GEODB_CTL_RESULT_SIZE];
    int rc = -1;
    if (site < 0 || (force && backend < 0)) {
        snprintf(result, sizeof(result), "the %s is not one of the simulation's",
                 site < 0 ? "site" : "backend");
    } else {
        int64_t before = w->stats.moves_requested;
        rc = controller_ask(w, site, force ? SCN_CTL_FORCE_MOVE : SCN_CTL_REBALANCE, backend,
                            req.percent, EVK_NOTE);
        if (rc == 0)
            snprintf(result, sizeof(result), "%lld moves requested",
                     (long long)(w->stats.moves_requested - before));
        else if (w->site_down[site])
            snprintf(result, sizeof(result), "the controller of %s did not answer (site down)",
                     w->sites[site].name);
        else
            snprintf(result, sizeof(result),
                     "the controller of %s could not carry it out (see events.csv)",
                     w->sites[site].name);
    }
    if (request_answer(w, r, id, rc == 0, now_us, result) != 0)
        return DOVEADM_EX_TEMPFAIL;
    if (rc == 0)
        return DOVEADM_EX_OK;
    snprintf(err, err_size, "Error: controller request %lld: %s", (long long)id, result);
    return DOVEADM_EX_TEMPFAIL;
}

int timeline_doveadm(struct world *w, int site, const char *line, char *err, size_t err_size)
{
    int r = w->sites[site].replica;
    err[0] = '\0';
    if (world_flush(w, r) != 0)
        return DOVEADM_EX_TEMPFAIL;
    char out[DOVEADM_OUT_SIZE];
    struct doveadm_ctx ctx;
    doveadm_ctx_init(&ctx);
    ctx.db = w->replicas[r].db;
    ctx.now_us = world_ts_us(w, site);
    snprintf(ctx.writer_site_id, sizeof(ctx.writer_site_id), "%s", w->sites[site].id);
    ctx.live = &w->live;
    ctx.out = fmemopen(out, sizeof(out) - 1, "w");
    ctx.err = fmemopen(err, err_size - 1, "w");
    if (ctx.out == NULL || ctx.err == NULL) {
        if (ctx.out != NULL)
            fclose(ctx.out);
        if (ctx.err != NULL)
            fclose(ctx.err);
        world_fail(w, "cannot capture doveadm output");
        return DOVEADM_EX_TEMPFAIL;
    }
    bool director = w->dir != NULL && is_director_command(line);
    int rc = director && dirmode_before_command(w) != 0 ? DOVEADM_EX_TEMPFAIL
                                                          : doveadm_run_line(&ctx, line);
    fclose(ctx.out);
    fclose(ctx.err);
    first_line(err);
    if (director && dirmode_after_command(w, line) != 0)
        return DOVEADM_EX_TEMPFAIL;
    if (rc == DOVEADM_EX_OK)
        refresh_after(w, r, ctx.changed, ctx.now_us, site);
    if (rc == DOVEADM_EX_OK && (ctx.changed & DOVEADM_CHANGED_CONTROLLER))
        rc = request_dispatch(w, r, ctx.ctl_request_id, ctx.now_us, err, err_size);
    return rc;
}

static void run_doveadm(struct world *w, const struct scn_entry *e)
{
    int site = e->site[0] ? world_site_by_name(w, e->site) : 0;
    if (site < 0) {
        world_fail(w, "%s:%d: no site %s", w->scn->path, e->pos.line, e->site);
        return;
    }
    char err[DOVEADM_ERR_SIZE];
    int rc = timeline_doveadm(w, site, e->text, err, sizeof(err));
    char detail[SCN_TEXT_SIZE + DOVEADM_ERR_SIZE + 32];
    snprintf(detail, sizeof(detail), "%s -> exit %d%s%s", e->text, rc, err[0] ? ": " : "", err);
    world_event(w, site, -1, EVK_DOVEADM, "timeline", w->sites[site].name, detail);
    if (rc != e->expect_rc) {
        world_event(w, site, -1, EVK_DOVEADM_FAILED, "timeline", w->sites[site].name, detail);
        checks_record(w, e, "doveadm", e->text, e->expect_rc, rc, err);
    }
}

static void apply_fault(struct world *w, int backend, const struct scn_fault *f)
{
    struct world_backend *b = &w->backends[backend];
    /* A crash drops every connection; clients log in again elsewhere. */
    if (f->crash == 1 && !b->crashed)
        sessions_kick_backend(&w->sessions, (uint16_t)backend);
    if (f->recover) {
        b->login_fail_ppm = 0;
        b->delivery_fail_ppm = 0;
        b->crashed = false;
        b->slow = 1.0;
        b->doveadm_down = false;
    }
    if (f->login_failure_ppm >= 0)
        b->login_fail_ppm = f->login_failure_ppm;
    if (f->delivery_failure_ppm >= 0)
        b->delivery_fail_ppm = f->delivery_failure_ppm;
    if (f->crash >= 0)
        b->crashed = f->crash != 0;
    if (f->slow > 0)
        b->slow = f->slow;
    if (f->doveadm_down >= 0)
        b->doveadm_down = f->doveadm_down != 0;
}

static void describe_fault(const struct scn_fault *f, char *out, size_t size)
{
    char login[24] = "", delivery[24] = "";
    const struct setting_def ratio = {.type = SETTING_RATIO};
    if (f->login_failure_ppm >= 0)
        settings_format_value(&ratio, f->login_failure_ppm, login, sizeof(login));
    if (f->delivery_failure_ppm >= 0)
        settings_format_value(&ratio, f->delivery_failure_ppm, delivery, sizeof(delivery));
    char skew[48] = "", span[32];
    if (f->skew_set) {
        scenario_duration_format(f->clock_skew_ms, span, sizeof(span));
        snprintf(skew, sizeof(skew), " clock_skew=%s", span);
    }
    snprintf(out, size, "%s%s%s%s%s%s%s%s%s%s", f->recover ? "recover " : "",
             login[0] ? "login_failure_ratio=" : "", login,
             delivery[0] ? " delivery_failure_ratio=" : "", delivery,
             f->crash < 0 ? "" : (f->crash ? " crash" : " uncrash"), f->slow > 0 ? " slow" : "",
             f->prometheus_down < 0 ? "" : (f->prometheus_down ? " prometheus down" : " prometheus up"),
             f->doveadm_down < 0 ? "" : (f->doveadm_down ? " doveadm down" : " doveadm up"),
             skew);
}

static void run_fault(struct world *w, const struct scn_entry *e)
{
    const struct scn_fault *f = &e->fault;
    char detail[256];
    describe_fault(f, detail, sizeof(detail));
    if (f->backend[0] != '\0') {
        int b = world_backend_by_name(w, f->backend);
        if (b < 0) {
            world_fail(w, "%s:%d: fault on backend %s, which does not exist at %lld ms",
                       w->scn->path, e->pos.line, f->backend, (long long)w->engine.now_ms);
            return;
        }
        apply_fault(w, b, f);
        world_event(w, w->backends[b].site, b, EVK_FAULT, "timeline", f->backend, detail);
        return;
    }
    int site = world_site_by_name(w, f->site);
    for (int b = 0; site >= 0 && b < w->nbackends; b++) {
        if (w->backends[b].site == site)
            apply_fault(w, b, f);
    }
    if (site >= 0 && f->recover) {
        w->prometheus_down[site] = false;
        w->sites[site].skew_ms = site < w->scn->nsites ? w->scn->sites[site].clock_skew_ms : 0;
    }
    if (site >= 0 && f->skew_set)
        w->sites[site].skew_ms = f->clock_skew_ms;
    if (site >= 0 && f->prometheus_down >= 0)
        w->prometheus_down[site] = f->prometheus_down == 1;
    /* A crashed site loses its front door, load balancer and GeoDB node
     * too: clients go elsewhere, replication to it waits. */
    bool down = site >= 0 && w->site_down[site];
    if (site >= 0 && f->recover)
        down = false;
    if (site >= 0 && f->crash >= 0)
        down = f->crash == 1;
    world_event(w, site, -1, EVK_FAULT, "timeline", f->site, detail);
    if (site >= 0 && down != w->site_down[site]) {
        w->site_down[site] = down;
        topo_doors_update(w);
        repl_layout_changed(w);
    }
}

/* A manual operation through the controller's API (seed 004); director
 * mode has no controller. */
static void run_controller(struct world *w, const struct scn_entry *e)
{
    bool force = e->ctl_action == SCN_CTL_FORCE_MOVE;
    int backend = force ? world_backend_by_name(w, e->backend) : -1;
    int site = force ? (backend >= 0 ? w->backends[backend].site : -1)
                     : (e->site[0] ? world_site_by_name(w, e->site) : 0);
    if (force && backend < 0) {
        world_fail(w, "%s:%d: force-move of backend %s, which does not exist at %lld ms",
                   w->scn->path, e->pos.line, e->backend, (long long)w->engine.now_ms);
        return;
    }
    controller_ask(w, site, e->ctl_action, backend, e->ctl_percent, EVK_DOVEADM_FAILED);
}

static void run_partition(struct world *w, const struct scn_entry *e)
{
    char detail[CLUSTER_SITES_MAX * (CLUSTER_NAME_SIZE + 3)];
    size_t used = 0;
    detail[0] = '\0';
    for (int g = 0; g < e->ngroups; g++) {
        for (int s = 0; s < w->nsites && used < sizeof(detail); s++) {
            if (e->group_of_site[s] == g)
                used += (size_t)snprintf(detail + used, sizeof(detail) - used, "%s%s",
                                         used == 0 || detail[used - 1] == ' ' ? "" : " ",
                                         w->sites[s].name);
        }
        if (g + 1 < e->ngroups && used < sizeof(detail))
            used += (size_t)snprintf(detail + used, sizeof(detail) - used, " | ");
    }
    /* The loader accepts only partitions of two or more groups of sites,
     * and every site has its own replica then. */
    if (repl_partition(w, e->group_of_site) != 0)
        return;
    world_event(w, -1, -1, EVK_PARTITION, "timeline", "", detail);
}

/* ---- spikes ---- */

/* Whether spike entry e runs at now: from its time until its time plus
 * "for" (an end at now has run, so spikes ending and starting in the same
 * millisecond do not overlap). */
static bool spike_running(const struct scn_entry *e, int64_t now_ms)
{
    return e->kind == SCN_SPIKE && e->at_ms != SCN_AT_END && e->at_ms <= now_ms &&
           now_ms < e->at_ms + e->spike.for_ms;
}

/* The load multiplier and replication delay of the spikes running now:
 * loads multiply, and the longest delay wins over the scenario's. */
static void spikes_apply(struct world *w)
{
    double load = 1.0;
    int64_t delay_ms = w->scn->replication_delay_ms;
    for (int i = 0; i < w->scn->nentries; i++) {
        const struct scn_entry *e = &w->scn->entries[i];
        if (!spike_running(e, w->engine.now_ms))
            continue;
        if (e->spike.load > 0)
            load *= e->spike.load;
        if (e->spike.repl_delay_ms > delay_ms)
            delay_ms = e->spike.repl_delay_ms;
    }
    w->load_multiplier = load;
    repl_set_delay(w, delay_ms);
}

static void spike_describe(const struct scn_spike *sp, const char *what, char *out, size_t size)
{
    char delay[32] = "", span[32];
    if (sp->repl_delay_ms >= 0)
        scenario_duration_format(sp->repl_delay_ms, delay, sizeof(delay));
    scenario_duration_format(sp->for_ms, span, sizeof(span));
    int n = snprintf(out, size, "%s spike", what);
    if (sp->load > 0 && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, " load x%g", sp->load);
    if (delay[0] && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, " replication_delay %s", delay);
    if (n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, " for %s", span);
}

static void spike_start(struct world *w, const struct scn_entry *e)
{
    int i = (int)(e - w->scn->entries);
    if (engine_push(&w->engine, e->at_ms + e->spike.for_ms, EV_TIMELINE,
                    (uint32_t)i | TIMELINE_SPIKE_END) != 0) {
        world_fail(w, "event queue full (%u events)", w->engine.capacity);
        return;
    }
    spikes_apply(w);
    char detail[160];
    spike_describe(&e->spike, "start of", detail, sizeof(detail));
    world_event(w, -1, -1, EVK_FAULT, "timeline", "", detail);
}

static void spike_end(struct world *w, int i)
{
    spikes_apply(w);
    char detail[160];
    spike_describe(&w->scn->entries[i].spike, "end of", detail, sizeof(detail));
    world_event(w, -1, -1, EVK_HEAL, "timeline", "", detail);
}

static void run_entry(struct world *w, const struct scn_entry *e)
{
    switch (e->kind) {
    case SCN_DOVEADM:
        run_doveadm(w, e);
        break;
    case SCN_FAULT:
        run_fault(w, e);
        break;
    case SCN_EXPECT:
        checks_run(w, e);
        break;
    case SCN_NOTE:
        world_event(w, -1, -1, EVK_NOTE, "timeline", "", e->text);
        break;
    case SCN_PARTITION:
        run_partition(w, e);
        break;
    case SCN_HEAL:
        if (repl_heal(w) == 0)
            world_event(w, -1, -1, EVK_HEAL, "timeline", "", "every site reaches every other");
        break;
    case SCN_CONTROLLER:
        run_controller(w, e);
        break;
    case SCN_SPIKE:
        spike_start(w, e);
        break;
    }
}

void timeline_run_event(struct world *w, uint32_t arg)
{
    if (arg & TIMELINE_SPIKE_END)
        spike_end(w, (int)(arg & ~TIMELINE_SPIKE_END));
    else
        run_entry(w, &w->scn->entries[arg]);
}

void timeline_run_end(struct world *w)
{
    for (int i = 0; i < w->scn->nentries && !w->error[0]; i++) {
        if (w->scn->entries[i].at_ms == SCN_AT_END)
            run_entry(w, &w->scn->entries[i]);
    }
}
