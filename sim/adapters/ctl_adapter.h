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
};

/* Creates the controllers of every site and schedules their tasks.
 * Returns 0, or -1 with w->error set. */
int ctl_adapter_init(struct world *w);
void ctl_adapter_free(struct world *w);

/* EV_CTL_TASK: arg is site << 8 | task. */
void ctl_adapter_run(struct world *w, uint32_t arg);

/* The controller's view of a backend, for the reports (NULL when the
 * backend's site has no controller). */
const struct ctl_backend_state *ctl_adapter_state(const struct world *w, int backend);

/* The effective state of a feature for a backend (-1: the site itself), as
 * its site's replica says. */
enum feature_state ctl_adapter_feature(struct world *w, int site, int backend,
                                       enum feature feature);

#endif
