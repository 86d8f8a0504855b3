/*
 * One Cluster Controller per site, wired to the simulated world: its store
 * is the site's GeoDB replica (and its user cache), its metrics source the
 * synthetic Prometheus, its actions the move protocol and doveadm commands
 * run as the site, its clock the engine's.
 */
#ifndef CTL_ADAPTER_H
#define CTL_ADAPTER_H

#include "core/controller.h"
#include "sim/world/world.h"

/* The last backend's gauge averages (see metrics_gauge). */
struct gauge_memo {
    bool valid;
    int backend;
    int64_t now_ms;
    int64_t window_ms;
    int samples;
    double avg[GAUGE_COUNT];
};

struct site_controller {
    struct world *w;
    int site;
    struct gauge_memo memo;
    struct controller ctl;
    /* Critical evacuation, per backend, as the world sees it (for the
     * 20 % invariant): the round's time and users asked to move so far,
     * and the most users it had at the start of a critical round. */
    int64_t crit_round_ms[CLUSTER_BACKENDS_MAX];
    uint32_t crit_round_moved[CLUSTER_BACKENDS_MAX];
    uint32_t crit_users_max[CLUSTER_BACKENDS_MAX];
};

/* Creates the controllers of every site, binds them to the world
 * (w->controllers) and schedules their tasks; nothing in director mode.
 * Call right after loop_init. Returns 0, or -1 with w->error set. */
int ctl_adapter_init(struct world *w);
/* Unbinds and frees them (before loop_free). */
void ctl_adapter_free(struct world *w);

#endif
