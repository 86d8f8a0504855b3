/*
 * Drawing one exploration run from its seed, and writing it as a scenario
 * file (see draw.h and docs/explore.md). Every draw comes from one named
 * stream of the run's seed, in a fixed order, so a run is its seed: the
 * same seed gives the same file byte for byte.
 */
#include "sim/explore/draw.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/base/rng.h"
#include "sim/scenario/scenario.h"

#define MIN_MS (60 * 1000)
#define HOUR_MS (3600 * 1000)
#define ENTRIES_MAX 512
#define FEATURES 3

static const char *const kind_names[DRAW_KINDS] = {
    "crash", "degraded", "critical", "doveadm_down", "site_crash", "partition",
    "prometheus", "force_move", "status", "load_factor", "batch", "feature",
    "ctl_force_move", "ctl_rebalance", "swizzle", "load_spike", "repl_spike", "clock_step",
};

static const char *const features[FEATURES] = {
    "MetricsExport", "BackendHealthAutoHandling", "BackendLoadBalancing",
};

const char *draw_kind_name(enum draw_kind k)
{
    return kind_names[k];
}

/* splitmix64: run seeds spread over 64 bits, one per index. */
uint64_t draw_run_seed(uint64_t seed, int index)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(index + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (z ^ (z >> 31)) & 0x7fffffffffffffffULL; /* a scenario seed is < 2^63 */
}

int draw_backends(const struct draw_run *r)
{
    int n = 0;
    for (int s = 0; s < r->nsites; s++)
        n += r->backends[s];
    return n;
}

void draw_backend_name(const struct draw_run *r, int i, char *out, size_t size, int *site)
{
    int s = 0, k = i;
    while (s < r->nsites - 1 && k >= r->backends[s])
        k -= r->backends[s++];
    *site = s;
    if (r->base_names != NULL)
        snprintf(out, size, "%s", r->base_names[i]);
    else
        snprintf(out, size, "be%02d.dc%d.example.com", k + 1, s + 1);
}

/* ---- the entries ---- */

static int add(struct draw_run *r, int64_t at_ms, enum draw_kind kind, json_t *action)
{
    if (action == NULL || r->nentries >= ENTRIES_MAX) {
        json_decref(action);
        return action == NULL ? -1 : 0;
    }
    struct draw_entry *grown = realloc(r->entries, sizeof(*grown) * (size_t)(r->nentries + 1));
    if (grown == NULL) {
        json_decref(action);
        return -1;
    }
    r->entries = grown;
    r->entries[r->nentries++] = (struct draw_entry){at_ms, at_ms, kind, action};
    return 0;
}

/* Whole minutes as "90m", else seconds. */
static void duration_text(int64_t ms, char *out, size_t size)
{
    if (ms % MIN_MS == 0)
        snprintf(out, size, "%" PRId64 "m", ms / MIN_MS);
    else
        snprintf(out, size, "%" PRId64 "s", ms / 1000);
}

/* A time in the fault phase, whole minutes, after the first five. */
static int64_t draw_at(struct rng *g, const struct draw_run *r, int64_t after_ms)
{
    int64_t from = after_ms > 5 * MIN_MS ? after_ms : 5 * MIN_MS;
    int64_t span = (r->fault_ms - from) / MIN_MS;
    return from + (span > 1 ? (int64_t)rng_below(g, (uint32_t)span) : 0) * MIN_MS;
}

/* A ratio in [lo, hi] ppm, as a JSON number of at most 6 decimals. */
static json_t *ratio(struct rng *g, int lo_ppm, int hi_ppm)
{
    int ppm = lo_ppm + (int)rng_below(g, (uint32_t)(hi_ppm - lo_ppm + 1));
    ppm -= ppm % 10000; /* two decimals: readable files */
    return json_real(ppm / 1e6);
}

static void name_of(const struct draw_run *r, int b, char *out, int *site)
{
    draw_backend_name(r, b, out, DRAW_NAME_SIZE, site);
}

/* A backend fault and, with probability 1/2, its recovery later. */
static int draw_backend_fault(struct draw_run *r, struct rng *g, enum draw_kind k, int b)
{
    char name[DRAW_NAME_SIZE];
    int site;
    name_of(r, b, name, &site);
    int64_t at = draw_at(g, r, 0);
    json_t *f = json_pack("{s:s}", "backend", name);
    if (f == NULL)
        return -1;
    if (k == DK_CRASH) {
        json_object_set_new(f, "crash", json_true());
    } else if (k == DK_DOVEADM_DOWN) {
        json_object_set_new(f, "doveadm", json_string("down"));
    } else {
        bool critical = k == DK_CRITICAL;
        json_t *x = critical ? ratio(g, 920000, 1000000) : ratio(g, 150000, 500000);
        json_object_set(f, "login_failure_ratio", x);
        json_object_set_new(f, "delivery_failure_ratio", x);
    }
    if (add(r, at, k, json_pack("{s:o}", "fault", f)) != 0)
        return -1;
    if (rng_below(g, 2) == 0)
        return 0;
    return add(r, draw_at(g, r, at + MIN_MS), k,
               json_pack("{s:{s:s,s:b}}", "fault", "backend", name, "recover", 1));
}

/* Sites 2.. only: timeline doveadm commands run on the first site. */
static int draw_site_fault(struct draw_run *r, struct rng *g, enum draw_kind k)
{
    int s = k == DK_SITE_CRASH ? 1 + (int)rng_below(g, (uint32_t)(r->nsites - 1))
                               : (int)rng_below(g, (uint32_t)r->nsites);
    int64_t at = draw_at(g, r, 0);
    json_t *f = k == DK_SITE_CRASH ? json_pack("{s:s,s:b}", "site", r->sites[s], "crash", 1)
                                   : json_pack("{s:s,s:s}", "site", r->sites[s], "prometheus", "down");
    if (add(r, at, k, json_pack("{s:o}", "fault", f)) != 0)
        return -1;
    if (rng_below(g, 2) == 0)
        return 0;
    json_t *back = k == DK_SITE_CRASH ? json_pack("{s:s,s:b}", "site", r->sites[s], "crash", 0)
                                      : json_pack("{s:s,s:s}", "site", r->sites[s], "prometheus", "up");
    return add(r, draw_at(g, r, at + MIN_MS), k, json_pack("{s:o}", "fault", back));
}

/* A spike of the load or of the replication delay, 5 to 30 minutes long
 * and over before the quiet phase (it ends by itself). */
static int draw_spike(struct draw_run *r, struct rng *g, enum draw_kind k)
{
    int64_t at = draw_at(g, r, 0);
    int64_t for_ms = (5 + (int64_t)rng_below(g, 26)) * MIN_MS;
    if (at + for_ms > r->fault_ms)
        for_ms = r->fault_ms - at > MIN_MS ? r->fault_ms - at : MIN_MS;
    char span[32];
    duration_text(for_ms, span, sizeof(span));
    json_t *sp;
    if (k == DK_LOAD_SPIKE) {
        static const double loads[] = {0.5, 2, 3, 5};
        sp = json_pack("{s:f,s:s}", "load", loads[rng_below(g, 4)], "for", span);
    } else {
        static const char *const delays[] = {"30s", "2m", "10m"};
        sp = json_pack("{s:s,s:s}", "replication_delay", delays[rng_below(g, 3)], "for", span);
    }
    if (add(r, at, k, json_pack("{s:o}", "spike", sp)) != 0)
        return -1;
    r->entries[r->nentries - 1].until_ms = at + for_ms;
    return 0;
}

/* An NTP step of a site's clock to -10..10 s; the quiet phase's recover
 * puts the site's own skew back. */
static int draw_clock_step(struct draw_run *r, struct rng *g)
{
    int s = (int)rng_below(g, (uint32_t)r->nsites);
    int64_t skew_ms = (int64_t)rng_below(g, 20001) - 10000;
    char text[32];
    snprintf(text, sizeof(text), "%" PRId64 "ms", skew_ms);
    return add(r, draw_at(g, r, 0), DK_CLOCK_STEP,
               json_pack("{s:{s:s,s:s}}", "fault", "site", r->sites[s], "clock_skew", text));
}

/* Random groupings of the sites (at least two groups), then maybe a heal. */
static int draw_partition(struct draw_run *r, struct rng *g)
{
    int group[DRAW_SITES_MAX], ngroups = 0;
    while (ngroups < 2) {
        int used = 0;
        for (int s = 0; s < r->nsites; s++) {
            group[s] = (int)rng_below(g, (uint32_t)r->nsites);
            used |= 1 << group[s];
        }
        ngroups = __builtin_popcount((unsigned)used);
    }
    char text[DRAW_SITES_MAX * (DRAW_NAME_SIZE + 3)] = "";
    size_t len = 0;
    for (int k = 0; k < r->nsites; k++) {
        bool first = true;
        for (int s = 0; s < r->nsites; s++) {
            if (group[s] != k)
                continue;
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
                                    first ? (len ? " | " : "") : " ", r->sites[s]);
            first = false;
        }
    }
    int64_t at = draw_at(g, r, 0);
    if (add(r, at, DK_PARTITION, json_pack("{s:s}", "partition", text)) != 0)
        return -1;
    if (rng_below(g, 2) == 0)
        return 0;
    return add(r, draw_at(g, r, at + MIN_MS), DK_PARTITION, json_pack("{s:b}", "heal", 1));
}

/* "DC1 | DC3 | DC2 DC4": each clogged site alone, the others together. */
static void groups_text(const struct draw_run *r, const bool *clogged, char *text, size_t size)
{
    size_t len = 0;
    text[0] = '\0';
    for (int s = 0; s < r->nsites; s++)
        if (clogged[s])
            len += (size_t)snprintf(text + len, size - len, "%s%s", len ? " | " : "", r->sites[s]);
    bool first = true;
    for (int s = 0; s < r->nsites; s++) {
        if (clogged[s])
            continue;
        len += (size_t)snprintf(text + len, size - len, "%s%s", first ? " | " : " ", r->sites[s]);
        first = false;
    }
}

/* FoundationDB's swizzle-clogging, at the granularity the partition model
 * has (groups of sites): clog a random subset of the sites one by one,
 * then unclog them in another random order; the last unclog heals. */
static int draw_swizzle(struct draw_run *r, struct rng *g)
{
    int order[DRAW_SITES_MAX], undo[DRAW_SITES_MAX];
    bool clogged[DRAW_SITES_MAX] = {false};
    for (int s = 0; s < r->nsites; s++)
        order[s] = s;
    for (int s = r->nsites - 1; s > 0; s--) { /* Fisher-Yates */
        int k = (int)rng_below(g, (uint32_t)(s + 1)), t = order[s];
        order[s] = order[k], order[k] = t;
    }
    int n = 1 + (int)rng_below(g, (uint32_t)(r->nsites - 1));
    for (int i = 0; i < n; i++)
        undo[i] = order[i];
    for (int i = n - 1; i > 0; i--) {
        int k = (int)rng_below(g, (uint32_t)(i + 1)), t = undo[i];
        undo[i] = undo[k], undo[k] = t;
    }
    int64_t at = draw_at(g, r, 0), last = r->fault_ms - MIN_MS;
    char text[DRAW_SITES_MAX * (DRAW_NAME_SIZE + 3)];
    for (int step = 0; step < 2 * n; step++) {
        bool clog = step < n;
        clogged[clog ? order[step] : undo[step - n]] = clog;
        json_t *a = step == 2 * n - 1 ? json_pack("{s:b}", "heal", 1) : NULL;
        if (a == NULL) {
            groups_text(r, clogged, text, sizeof(text));
            a = json_pack("{s:s}", "partition", text);
        }
        if (add(r, at < last ? at : last, DK_SWIZZLE, a) != 0)
            return -1;
        at += (1 + (int64_t)rng_below(g, 5)) * MIN_MS;
    }
    return 0;
}

/* Another backend of the same site as b (b itself when it is alone). */
static int same_site_other(const struct draw_run *r, struct rng *g, int b)
{
    char name[DRAW_NAME_SIZE];
    int site, first = 0;
    name_of(r, b, name, &site);
    for (int s = 0; s < site; s++)
        first += r->backends[s];
    if (r->backends[site] < 2)
        return b;
    int k = (int)rng_below(g, (uint32_t)(r->backends[site] - 1));
    return first + k >= b ? first + k + 1 : first + k;
}

/* An operator's force-move of a backend no fault or status change touches
 * (so that its update and stop find it running): start, maybe update,
 * maybe stop. */
static int draw_force_move(struct draw_run *r, struct rng *g, int b)
{
    char name[DRAW_NAME_SIZE], dest[DRAW_NAME_SIZE];
    int site;
    name_of(r, b, name, &site);
    name_of(r, same_site_other(r, g, b), dest, &site);
    if (strcmp(name, dest) == 0)
        return 0;
    int64_t at = draw_at(g, r, 0);
    int pct = 5 + (int)rng_below(g, 46);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cluster backend force-move start %s %d %s", name, pct, dest);
    if (add(r, at, DK_FORCE_MOVE, json_pack("{s:s}", "doveadm", cmd)) != 0)
        return -1;
    if (rng_below(g, 2) == 1) {
        at = draw_at(g, r, at + MIN_MS);
        snprintf(cmd, sizeof(cmd), "cluster backend force-move update %s %d", name,
                 5 + (int)rng_below(g, 96));
        if (add(r, at, DK_FORCE_MOVE, json_pack("{s:s}", "doveadm", cmd)) != 0)
            return -1;
    }
    if (rng_below(g, 2) == 1) {
        snprintf(cmd, sizeof(cmd), "cluster backend force-move stop %s", name);
        if (add(r, draw_at(g, r, at + MIN_MS), DK_FORCE_MOVE,
                json_pack("{s:s}", "doveadm", cmd)) != 0)
            return -1;
    }
    return 0;
}

static int draw_operator(struct draw_run *r, struct rng *g, enum draw_kind k, int b)
{
    static const char *const statuses[] = {"offline", "standby", "online"};
    static const char *const states[] = {"on", "dryrun", "off"};
    static const int factors[] = {0, 25, 50, 100};
    char name[DRAW_NAME_SIZE], dest[DRAW_NAME_SIZE], cmd[512];
    int site;
    name_of(r, b, name, &site);
    int64_t at = draw_at(g, r, 0);
    json_t *a = NULL;
    switch (k) {
    case DK_STATUS:
        snprintf(cmd, sizeof(cmd), "cluster backend update --status %s %s",
                 statuses[rng_below(g, 3)], name);
        a = json_pack("{s:s}", "doveadm", cmd);
        break;
    case DK_LOAD_FACTOR:
        snprintf(cmd, sizeof(cmd), "cluster backend update --load-factor %d %s",
                 factors[rng_below(g, 4)], name);
        a = json_pack("{s:s}", "doveadm", cmd);
        break;
    case DK_BATCH:
        name_of(r, same_site_other(r, g, b), dest, &site);
        snprintf(cmd, sizeof(cmd), "cluster user batch move backend --count %d %s %s",
                 10 + (int)rng_below(g, 491), name, dest);
        a = json_pack("{s:s}", "doveadm", cmd);
        break;
    case DK_FEATURE: {
        const char *feature = features[rng_below(g, FEATURES)];
        const char *state = states[rng_below(g, 3)];
        if (rng_below(g, 2) == 0)
            snprintf(cmd, sizeof(cmd), "cluster feature set %s %s", feature, state);
        else
            snprintf(cmd, sizeof(cmd), "cluster feature set --site %s %s %s",
                     r->sites[rng_below(g, (uint32_t)r->nsites)], feature, state);
        a = json_pack("{s:s}", "doveadm", cmd);
        break;
    }
    case DK_CTL_FORCE_MOVE:
        a = json_pack("{s:s,s:s,s:i}", "controller", "force-move", "backend", name, "percent",
                      1 + (int)rng_below(g, 50));
        break;
    default:
        a = json_pack("{s:s,s:s}", "controller", "rebalance", "site",
                      r->sites[rng_below(g, (uint32_t)r->nsites)]);
        break;
    }
    return add(r, at, k, a);
}

/* ---- the run ---- */

static int base_topology(struct draw_run *r, json_t *base, char *err, size_t err_size)
{
    /* The loader expands the base's backend names and checks it. */
    char tmp[] = "/tmp/clustersim-explore-base-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0 || json_dumpfd(base, fd, 0) != 0) {
        snprintf(err, err_size, "cannot write a temporary file: %s", strerror(errno));
        if (fd >= 0)
            close(fd), remove(tmp);
        return -1;
    }
    close(fd);
    struct scenario *scn = calloc(1, sizeof(*scn));
    int rc = scn == NULL ? -1 : scenario_load(tmp, scn, err, err_size);
    remove(tmp);
    if (rc == 0 && scn->nsites > DRAW_SITES_MAX) {
        snprintf(err, err_size, "a base of at most %d sites", DRAW_SITES_MAX);
        rc = -1;
    }
    int total = 0;
    for (int s = 0; rc == 0 && s < scn->nsites; s++)
        for (int g = 0; g < scn->sites[s].ngroups; g++)
            total += scn->sites[s].groups[g].count;
    if (rc == 0)
        r->base_names = calloc((size_t)total + 1, sizeof(*r->base_names));
    if (rc == 0 && r->base_names == NULL)
        rc = -1;
    for (int s = 0, i = 0; rc == 0 && s < scn->nsites; s++) {
        snprintf(r->sites[s], DRAW_NAME_SIZE, "%s", scn->sites[s].name);
        r->backends[s] = 0;
        for (int g = 0; g < scn->sites[s].ngroups; g++)
            for (int k = 0; k < scn->sites[s].groups[g].count; k++, i++, r->backends[s]++)
                scenario_backend_name(&scn->sites[s].groups[g], k, r->base_names[i],
                                      DRAW_NAME_SIZE);
    }
    if (rc == 0) {
        r->nsites = scn->nsites;
        r->users = scn->users.count;
        r->fault_ms = scn->duration_ms;
        if (total == 0) {
            snprintf(err, err_size, "the base scenario has no backends");
            rc = -1;
        }
    }
    if (scn != NULL)
        scenario_free(scn);
    free(scn);
    return rc;
}

static int entry_order(const void *a, const void *b)
{
    const struct draw_entry *x = a, *y = b;
    if (x->at_ms != y->at_ms)
        return x->at_ms < y->at_ms ? -1 : 1;
    return 0;
}

static int draw_schedule(struct draw_run *r, struct rng *g)
{
    int nb = draw_backends(r);
    /* One backend is kept for the operator's force-moves: no fault or
     * status change touches it. */
    int reserved = (int)rng_below(g, (uint32_t)nb);
    int hours = (int)((r->fault_ms + HOUR_MS - 1) / HOUR_MS);
    for (int k = 0; k < DRAW_KINDS; k++) {
        if (!(r->kinds & (1u << k)))
            continue;
        int n = 1 + (int)rng_below(g, (uint32_t)(r->rate[k] * hours));
        for (int i = 0; i < n; i++) {
            int b = (int)rng_below(g, (uint32_t)nb);
            if (b == reserved && k != DK_FORCE_MOVE && nb > 1)
                b = (b + 1) % nb;
            int rc = 0;
            switch ((enum draw_kind)k) {
            case DK_CRASH:
            case DK_DEGRADED:
            case DK_CRITICAL:
            case DK_DOVEADM_DOWN:
                rc = draw_backend_fault(r, g, (enum draw_kind)k, b);
                break;
            case DK_SITE_CRASH:
            case DK_PROMETHEUS:
                rc = draw_site_fault(r, g, (enum draw_kind)k);
                break;
            case DK_PARTITION:
                rc = draw_partition(r, g);
                break;
            case DK_SWIZZLE:
                rc = draw_swizzle(r, g);
                break;
            case DK_FORCE_MOVE:
                rc = i == 0 ? draw_force_move(r, g, reserved) : 0;
                break;
            case DK_LOAD_SPIKE:
            case DK_REPL_SPIKE:
                rc = draw_spike(r, g, (enum draw_kind)k);
                break;
            case DK_CLOCK_STEP:
                rc = draw_clock_step(r, g);
                break;
            default:
                rc = draw_operator(r, g, (enum draw_kind)k, b);
                break;
            }
            if (rc != 0)
                return -1;
        }
    }
    /* Stable: entries at the same minute keep the order they were drawn. */
    for (int i = 1; i < r->nentries; i++)
        for (int j = i; j > 0 && entry_order(&r->entries[j - 1], &r->entries[j]) > 0; j--) {
            struct draw_entry t = r->entries[j];
            r->entries[j] = r->entries[j - 1];
            r->entries[j - 1] = t;
        }
    return 0;
}

/* Swarm testing: each kind in [from, to) enabled with probability 1/2, at
 * 1..4 entries per hour. */
static void draw_kinds(struct draw_run *r, struct rng *g, int from, int to)
{
    for (int k = from; k < to; k++) {
        if (rng_below(g, 2) == 1) {
            r->kinds |= 1u << k;
            r->rate[k] = 1 + (int)rng_below(g, 4);
        }
    }
}

int draw_run(uint64_t seed, json_t *base, struct draw_run *r, char *err, size_t err_size)
{
    memset(r, 0, sizeof(*r));
    r->seed = seed;
    r->quiet_ms = DRAW_QUIET_MS;
    struct rng g;
    if (rng_init(&g, seed, "explore.draw") != 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    /* The topology is drawn even with a base, so that a base changes only
     * what it fixes, never the schedule's draws after it. */
    r->nsites = 1 + (int)rng_below(&g, 3);
    for (int s = 0; s < r->nsites; s++) {
        r->backends[s] = 3 + (int)rng_below(&g, 10);
        snprintf(r->sites[s], DRAW_NAME_SIZE, "DC%d", s + 1);
    }
    r->users = 2000 + (int64_t)rng_below(&g, 18001);
    r->fault_ms = (60 + (int64_t)rng_below(&g, 121)) * MIN_MS - DRAW_QUIET_MS;
    /* The default (3000 samples, 12.5 h) would keep balancing off in a
     * run this short. */
    static const int min_samples[] = {20, 120, 3000};
    r->min_samples = min_samples[rng_below(&g, 3)];
    if (base == NULL && r->min_samples < 3000)
        r->quiet_ms = DRAW_QUIET_BALANCE_MS; /* long enough to balance again */
    draw_kinds(r, &g, 0, DRAW_KINDS_FIRST_WAVE);
    /* Each site's starting clock skew, the base replication delay and the
     * load level; the clock_step, repl_spike and load_spike kinds change
     * them during the run. */
    for (int s = 0; s < r->nsites; s++)
        r->skew_ms[s] = rng_below(&g, 2) == 0 ? 0 : (int64_t)rng_below(&g, 10001) - 5000;
    static const int64_t delays_ms[] = {200, 2000, 20000, 120000};
    r->repl_delay_ms = delays_ms[rng_below(&g, 4)];
    static const int logins[] = {6, 24, 96};
    r->logins_per_day = logins[rng_below(&g, 3)];
    r->deliveries_per_day = 2 * r->logins_per_day;
    draw_kinds(r, &g, DRAW_KINDS_FIRST_WAVE, DRAW_KINDS);
    int rc = 0;
    if (base != NULL) {
        r->base = json_incref(base);
        rc = base_topology(r, base, err, err_size);
    }
    if (r->nsites < 2)
        r->kinds &= ~((1u << DK_SITE_CRASH) | (1u << DK_PARTITION) | (1u << DK_SWIZZLE) |
                      (1u << DK_REPL_SPIKE));
    if (rc == 0 && draw_schedule(r, &g) != 0) {
        snprintf(err, err_size, "out of memory");
        rc = -1;
    }
    rng_free(&g);
    if (rc != 0)
        draw_free(r);
    return rc;
}

int draw_copy(const struct draw_run *from, struct draw_run *to)
{
    *to = *from;
    to->base = from->base ? json_incref(from->base) : NULL;
    to->base_names = NULL;
    to->entries = calloc((size_t)from->nentries + 1, sizeof(*to->entries));
    int total = draw_backends(from);
    if (from->base_names != NULL) {
        to->base_names = calloc((size_t)total + 1, sizeof(*to->base_names));
        if (to->base_names != NULL)
            memcpy(to->base_names, from->base_names, sizeof(*to->base_names) * (size_t)total);
    }
    if (to->entries == NULL || (from->base_names != NULL && to->base_names == NULL)) {
        to->nentries = 0;
        draw_free(to);
        return -1;
    }
    for (int i = 0; i < from->nentries; i++) {
        to->entries[i] = from->entries[i];
        json_incref(to->entries[i].action);
    }
    return 0;
}

void draw_free(struct draw_run *r)
{
    for (int i = 0; i < r->nentries; i++)
        json_decref(r->entries[i].action);
    free(r->entries);
    free(r->base_names);
    json_decref(r->base);
    memset(r, 0, sizeof(*r));
}

void draw_remove(struct draw_run *r, int i)
{
    if (i < 0 || i >= r->nentries)
        return;
    json_decref(r->entries[i].action);
    memmove(&r->entries[i], &r->entries[i + 1], sizeof(*r->entries) * (size_t)(r->nentries - i - 1));
    r->nentries--;
}

/* ---- the file ---- */

static int put_value(FILE *f, const char *key, json_t *v, const char *after)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6) | JSON_ENCODE_ANY);
    if (text == NULL)
        return -1;
    fprintf(f, "  \"%s\": %s%s\n", key, text, after);
    free(text);
    return 0;
}

static json_t *drawn_sites(const struct draw_run *r)
{
    json_t *sites = json_array();
    for (int s = 0; sites != NULL && s < r->nsites; s++) {
        char pattern[64];
        snprintf(pattern, sizeof(pattern), "be%%02d.dc%d.example.com", s + 1);
        json_t *site = json_pack("{s:s,s:{s:i,s:s}}", "name", r->sites[s], "backends", "count",
                                 r->backends[s], "name", pattern);
        if (site != NULL && r->skew_ms[s] != 0) {
            char skew[32];
            snprintf(skew, sizeof(skew), "%" PRId64 "ms", r->skew_ms[s]);
            json_object_set_new(site, "clock_skew", json_string(skew));
        }
        json_array_append_new(sites, site);
    }
    return sites;
}

/* The last word of a command (the backend an update names). */
static const char *last_word(const char *cmd)
{
    const char *sp = strrchr(cmd, ' ');
    return sp != NULL ? sp + 1 : cmd;
}

/* The quiet phase undoes the operator's changes too: every backend whose
 * status or load factor the run changed is online at 100 again, and every
 * feature the run set is on again where it was set. Liveness is then a
 * claim about the cluster, not about an operator who left a site with no
 * backend to log in to. */
static void put_operator_undo(const struct draw_run *r, FILE *f, const char *at)
{
    for (int i = 0; i < r->nentries; i++) {
        const struct draw_entry *e = &r->entries[i];
        if (e->kind != DK_STATUS && e->kind != DK_LOAD_FACTOR && e->kind != DK_FEATURE)
            continue;
        const char *cmd = json_string_value(json_object_get(e->action, "doveadm"));
        if (cmd == NULL)
            continue;
        bool seen = false; /* undone already, by an earlier entry of the same target */
        for (int j = 0; j < i && !seen; j++) {
            const char *prev = json_string_value(json_object_get(r->entries[j].action, "doveadm"));
            if (prev == NULL || r->entries[j].kind != e->kind)
                continue;
            if (e->kind == DK_FEATURE) {
                /* same scope and feature: the text before the state word */
                size_t a = (size_t)(last_word(cmd) - cmd), b = (size_t)(last_word(prev) - prev);
                seen = a == b && strncmp(cmd, prev, a) == 0;
            } else {
                seen = strcmp(last_word(cmd), last_word(prev)) == 0;
            }
        }
        if (seen)
            continue;
        if (e->kind == DK_FEATURE)
            fprintf(f, "    { \"at\": \"%s\", \"doveadm\": \"%.*son\" },\n", at,
                    (int)(last_word(cmd) - cmd), cmd);
        else
            fprintf(f, "    { \"at\": \"%s\", \"doveadm\": \"cluster backend update %s %s\" },\n",
                    at, e->kind == DK_STATUS ? "--status online" : "--load-factor 100",
                    last_word(cmd));
    }
}

static void put_expect_at(FILE *f, const char *at, const char *what, const char *desc, bool comma)
{
    fprintf(f, "    { \"at\": \"%s\", \"expect\": { %s }, \"desc\": \"explore: %s\" }%s\n", at,
            what, desc, comma ? "," : "");
}

static void put_expect(FILE *f, const char *what, const char *desc, bool comma)
{
    put_expect_at(f, "end", what, desc, comma);
}

/* The quiet phase: every site recovers (its backends' faults too), every
 * partition heals, the operator's changes are undone; then the end's
 * expectations (docs/explore.md). */
static int put_quiet_and_checks(const struct draw_run *r, FILE *f)
{
    char at[32];
    duration_text(r->fault_ms, at, sizeof(at));
    bool partitioned = false;
    for (int i = 0; i < r->nentries; i++)
        partitioned |= r->entries[i].kind == DK_PARTITION || r->entries[i].kind == DK_SWIZZLE;
    fprintf(f, "    { \"at\": \"%s\", \"note\": \"explore: quiet phase, every fault healed\" },\n", at);
    for (int s = 0; s < r->nsites; s++)
        fprintf(f, "    { \"at\": \"%s\", \"fault\": { \"site\": \"%s\", \"recover\": true } },\n",
                at, r->sites[s]);
    if (partitioned)
        fprintf(f, "    { \"at\": \"%s\", \"heal\": true },\n", at);
    put_operator_undo(r, f, at);
    char live_at[32];
    duration_text(r->fault_ms + DRAW_LOGIN_LIVENESS_MS, live_at, sizeof(live_at));
    put_expect_at(f, live_at, "\"logins_failed_recent_max\": 0",
                  "liveness: every login succeeds from 20 minutes after the last heal", true);
    char users[64];
    snprintf(users, sizeof(users), "\"users\": %" PRId64, r->users);
    put_expect(f, "\"lost_users_max\": 0", "no user lost", true);
    put_expect(f, users, "every user still has a location", true);
    put_expect(f, "\"cool_time_violations_max\": 0", "cool times respected", true);
    /* Balancing can start (its samples are few enough): every site's users
     * per load factor back under the bound by the end. */
    for (int s = 0; r->base == NULL && r->min_samples < 3000 && s < r->nsites; s++) {
        char what[160];
        snprintf(what, sizeof(what), "\"site\": \"%s\", \"imbalance_max\": %.1f", r->sites[s],
                 DRAW_IMBALANCE_MAX);
        put_expect(f, what, "liveness: balanced again 90 minutes after the last heal", true);
    }
    put_expect(f, "\"unusable_destination_moves_max\": 0",
               "no user sent to an offline, standby or load-factor-0 backend", true);
    put_expect(f, "\"catastrophe_mismatches_max\": 0",
               "catastrophe protection engaged exactly when over the threshold", true);
    put_expect(f, "\"catastrophe_evacuations_max\": 0",
               "no evacuation while catastrophe protection is engaged", true);
    put_expect(f, "\"critical_batch_excess_max\": 0",
               "critical evacuation at most 20 % of the original count per round", true);
    put_expect(f, "\"disabled_feature_actions_max\": 0", "dryrun and off change nothing",
               r->nsites > 1);
    if (r->nsites > 1)
        put_expect(f, partitioned ? "\"stale_users_max\": 0, \"converge_s_min\": 0"
                                  : "\"stale_users_max\": 0",
                   "every replica has every write after the quiet phase", false);
    return 0;
}

static int write_body(const struct draw_run *r, FILE *f)
{
    char name[64], duration[32];
    snprintf(name, sizeof(name), "explore-%" PRIu64, r->seed);
    duration_text(r->fault_ms + r->quiet_ms, duration, sizeof(duration));
    fprintf(f, "{\n  \"name\": \"%s\",\n", name);
    fprintf(f, "  \"description\": \"Drawn by clustersim explore from seed %" PRIu64
               " (docs/explore.md): faults and operator commands, then %" PRId64
               " minutes in which every fault is healed, then the invariants.\",\n",
            r->seed, r->quiet_ms / MIN_MS);
    fprintf(f, "  \"seed\": %" PRIu64 ",\n  \"duration\": \"%s\",\n", r->seed, duration);
    int rc = 0;
    if (r->base != NULL) {
        /* The base's own keys, except those the run replaces. */
        const char *key;
        json_t *v;
        json_object_foreach(r->base, key, v) {
            if (strcmp(key, "name") && strcmp(key, "description") && strcmp(key, "seed") &&
                strcmp(key, "duration") && strcmp(key, "timeline"))
                rc |= put_value(f, key, v, ",");
        }
        if (json_object_get(r->base, "users") == NULL)
            rc = -1;
    } else {
        json_t *sites = drawn_sites(r);
        rc |= sites == NULL ? -1 : put_value(f, "sites", sites, ",");
        json_decref(sites);
        fprintf(f, "  \"users\": { \"count\": %" PRId64 " },\n", r->users);
        fprintf(f, "  \"features\": { \"MetricsExport\": \"on\", \"BackendHealthAutoHandling\": "
                   "\"on\", \"BackendLoadBalancing\": \"on\" },\n");
        fprintf(f, "  \"settings\": { \"HOST_LOAD_BALANCE_MIN_SAMPLES\": %d },\n", r->min_samples);
        fprintf(f, "  \"geodb\": { \"replication_delay\": \"%" PRId64 "ms\" },\n", r->repl_delay_ms);
        fprintf(f, "  \"workload\": { \"logins_per_user_day\": %d, \"deliveries_per_user_day\": %d },\n",
                r->logins_per_day, r->deliveries_per_day);
    }
    fprintf(f, "  \"timeline\": [\n");
    for (int i = 0; rc == 0 && i < r->nentries; i++) {
        char at[32];
        duration_text(r->entries[i].at_ms, at, sizeof(at));
        char *text = json_dumps(r->entries[i].action, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        if (text == NULL)
            return -1;
        /* {"at": ..., then the action's keys} on one line */
        fprintf(f, "    { \"at\": \"%s\", %s,\n", at, text + 1);
        free(text);
    }
    if (rc == 0)
        rc = put_quiet_and_checks(r, f);
    fprintf(f, "  ]\n}\n");
    return rc;
}

int draw_write(const struct draw_run *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int rc = write_body(r, f);
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

void draw_kinds_text(const struct draw_run *r, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < DRAW_KINDS && len < size; k++)
        if (r->kinds & (1u << k))
            len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "+" : "", kind_names[k]);
}

void draw_print(const struct draw_run *r, FILE *out)
{
    fprintf(out, "  seed=%" PRIu64 "\n", r->seed);
    fprintf(out, "  sites=%d base=%s\n", r->nsites, r->base ? "yes" : "no");
    for (int s = 0; s < r->nsites; s++)
        fprintf(out, "  site.%s.backends=%d\n", r->sites[s], r->backends[s]);
    if (r->base == NULL) {
        fprintf(out, "  setting.HOST_LOAD_BALANCE_MIN_SAMPLES=%d\n", r->min_samples);
        for (int s = 0; s < r->nsites; s++)
            fprintf(out, "  site.%s.clock_skew_ms=%" PRId64 "\n", r->sites[s], r->skew_ms[s]);
        fprintf(out, "  geodb.replication_delay_ms=%" PRId64 "\n", r->repl_delay_ms);
        fprintf(out, "  workload.logins_per_user_day=%d\n  workload.deliveries_per_user_day=%d\n",
                r->logins_per_day, r->deliveries_per_day);
    }
    fprintf(out, "  users=%" PRId64 "\n  fault_phase_s=%" PRId64 "\n  quiet_phase_s=%" PRId64 "\n",
            r->users, r->fault_ms / 1000, r->quiet_ms / 1000);
    for (int k = 0; k < DRAW_KINDS; k++)
        if (r->kinds & (1u << k))
            fprintf(out, "  kind.%s=%d/h\n", kind_names[k], r->rate[k]);
    fprintf(out, "  entries=%d\n", r->nentries);
}
