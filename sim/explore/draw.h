/*
 * One exploration run drawn from its seed (docs/explore.md): a small
 * topology (unless a base scenario fixes it), a swarm-style schedule of
 * faults and operator commands, and a quiet phase in which every fault is
 * healed. The run is kept as data (struct draw_run) so that the shrinker
 * can remove entries and lower numbers, and written as an ordinary
 * scenario file that `clustersim run` replays.
 */
#ifndef DRAW_H
#define DRAW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DRAW_SITES_MAX 16
#define DRAW_NAME_SIZE 128
#define DRAW_KINDS 18
#define DRAW_QUIET_MS (30 * 60 * 1000)
/* Liveness (docs/explore.md): every login succeeds from 20 minutes after
 * the last heal (checked over minutes 20..30 of the quiet phase); when
 * balancing can run, the quiet phase is 90 minutes and at its end each
 * site's max/mean users per load factor is at most DRAW_IMBALANCE_MAX
 * (balancing's one-hour cool time holds recently moved users, and it
 * moves at most 500 users per cycle). */
#define DRAW_LOGIN_LIVENESS_MS (30 * 60 * 1000)
#define DRAW_QUIET_BALANCE_MS (90 * 60 * 1000)
#define DRAW_IMBALANCE_MAX 2.0

/* The fault and command kinds a run may enable (swarm testing: each run
 * enables a random subset at random rates). */
enum draw_kind {
    DK_CRASH, DK_DEGRADED, DK_CRITICAL, DK_DOVEADM_DOWN, DK_SITE_CRASH, DK_PARTITION,
    DK_PROMETHEUS, DK_FORCE_MOVE, DK_STATUS, DK_LOAD_FACTOR, DK_BATCH, DK_FEATURE,
    DK_CTL_FORCE_MOVE, DK_CTL_REBALANCE, DK_SWIZZLE,
    /* Drawn after the others, so that adding them kept every earlier draw. */
    DK_LOAD_SPIKE, DK_REPL_SPIKE, DK_CLOCK_STEP,
};
#define DRAW_KINDS_FIRST_WAVE DK_LOAD_SPIKE

struct draw_entry {
    int64_t at_ms;
    int64_t until_ms; /* a spike's end (at + for); at_ms for other entries */
    enum draw_kind kind;
    json_t *action; /* the entry's keys other than "at" */
};

struct draw_run {
    uint64_t seed;
    json_t *base; /* the base scenario (NULL: none); fixes the topology */
    int nsites;
    int backends[DRAW_SITES_MAX]; /* per site */
    char sites[DRAW_SITES_MAX][DRAW_NAME_SIZE];
    char (*base_names)[DRAW_NAME_SIZE]; /* a base's backends, site by site; NULL: drawn */
    int64_t users;
    int min_samples;  /* HOST_LOAD_BALANCE_MIN_SAMPLES (no base): when balancing may start */
    int64_t skew_ms[DRAW_SITES_MAX]; /* each site's clock skew (no base) */
    int64_t repl_delay_ms;           /* the GeoDB replication delay (no base) */
    int logins_per_day, deliveries_per_day; /* per user: the load level (no base) */
    int64_t fault_ms; /* the fault phase; the quiet phase follows */
    int64_t quiet_ms;
    unsigned kinds;   /* bit per enum draw_kind: enabled */
    int rate[DRAW_KINDS]; /* entries per hour of each enabled kind */
    int nentries;
    struct draw_entry *entries;
};

/* The seed of run `index` of an exploration with seed `seed`. */
uint64_t draw_run_seed(uint64_t seed, int index);
/* Draws a run. base: a parsed base scenario or NULL (borrowed: a reference
 * is taken). 0, or -1 with err set. */
int draw_run(uint64_t seed, json_t *base, struct draw_run *r, char *err, size_t err_size);
/* A deep copy (for the shrinker). 0 or -1 (out of memory). */
int draw_copy(const struct draw_run *from, struct draw_run *to);
void draw_free(struct draw_run *r);
/* Removes entry i (its action is released). */
void draw_remove(struct draw_run *r, int i);
/* Writes the scenario file. 0, or -1 (errno set). */
int draw_write(const struct draw_run *r, const char *path);
/* Every drawn parameter, one "key=value" line each, VOPR style. */
void draw_print(const struct draw_run *r, FILE *out);
/* "crash+partition+..." of the enabled kinds. */
void draw_kinds_text(const struct draw_run *r, char *out, size_t size);
const char *draw_kind_name(enum draw_kind k);
/* The total backends. */
int draw_backends(const struct draw_run *r);
/* The name of backend i (0-based, counted over every site) and its site. */
void draw_backend_name(const struct draw_run *r, int i, char *out, size_t size, int *site);

#endif
