/*
 * ddmin over a failing run's timeline entries, then smaller numbers (see
 * shrink.h). Candidates that do not load (a removed backend still named
 * by an entry, an entry after the new end) fail to run with exit 2 and
 * are simply not kept.
 */
#include "sim/explore/shrink.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/explore/runner.h"

#define PATH_SIZE 4096
#define MIN_MS (60 * 1000)
#define USERS_MIN 100

struct shrinker {
    const char *key, *bin, *dir;
    int max_runs;
    struct shrink_stats *st;
};

/* Whether candidate c still fails the key; false once the bound is hit. */
static bool still_fails(struct shrinker *s, const struct draw_run *c)
{
    if (s->st->runs >= s->max_runs) {
        s->st->budget_hit = 1;
        return false;
    }
    char file[PATH_SIZE], out[PATH_SIZE], report[PATH_SIZE];
    snprintf(file, sizeof(file), "%s/candidate.json", s->dir);
    snprintf(out, sizeof(out), "%s/candidate.out", s->dir);
    snprintf(report, sizeof(report), "%s/candidate", s->dir);
    if (draw_write(c, file) != 0)
        return false;
    s->st->runs++;
    struct runner_result res;
    runner_run(s->bin, file, report, out, &res);
    return runner_same_failure(&res, out, s->key);
}

/* cur without the entries [from, to). */
static int without(const struct draw_run *cur, int from, int to, struct draw_run *out)
{
    if (draw_copy(cur, out) != 0)
        return -1;
    for (int i = to - 1; i >= from; i--)
        draw_remove(out, i);
    return 0;
}

/* Replaces *cur by *next. */
static void keep(struct draw_run *cur, struct draw_run *next)
{
    draw_free(cur);
    *cur = *next;
    memset(next, 0, sizeof(*next));
}

/* ddmin, complements only: remove one of n chunks at a time; on success
 * go on with n - 1 chunks, else with twice as many, until single entries
 * cannot be removed. */
static int ddmin(struct shrinker *s, struct draw_run *cur)
{
    int n = 2;
    while (cur->nentries >= 1 && !s->st->budget_hit) {
        int len = cur->nentries;
        if (n > len)
            n = len;
        bool removed = false;
        for (int k = 0; k < n && !removed; k++) {
            int from = (int)((long)len * k / n), to = (int)((long)len * (k + 1) / n);
            struct draw_run next;
            if (without(cur, from, to, &next) != 0)
                return -1;
            if (still_fails(s, &next)) {
                keep(cur, &next);
                removed = true;
            } else {
                draw_free(&next);
            }
        }
        if (removed) {
            n = n > 2 ? n - 1 : 2;
        } else if (n >= len) {
            break;
        } else {
            n = 2 * n < len ? 2 * n : len;
        }
    }
    return 0;
}

/* Tries cur with one number changed by change(); keeps it when it fails
 * the same way. Returns 1 kept, 0 not, -1 out of memory. */
static int try_change(struct shrinker *s, struct draw_run *cur,
                      bool (*change)(struct draw_run *, int), int arg)
{
    struct draw_run next;
    if (draw_copy(cur, &next) != 0)
        return -1;
    if (!change(&next, arg) || !still_fails(s, &next)) {
        draw_free(&next);
        return 0;
    }
    keep(cur, &next);
    return 1;
}

static bool halve_users(struct draw_run *r, int unused)
{
    (void)unused;
    if (r->users / 2 < USERS_MIN)
        return false;
    r->users /= 2;
    return true;
}

static bool fewer_backends(struct draw_run *r, int site)
{
    int n = r->backends[site];
    if (n <= 1)
        return false;
    r->backends[site] = n / 2 > 1 ? n / 2 : 1;
    return true;
}

static bool one_backend_less(struct draw_run *r, int site)
{
    if (r->backends[site] <= 1)
        return false;
    r->backends[site]--;
    return true;
}

static bool last_site_gone(struct draw_run *r, int unused)
{
    (void)unused;
    if (r->nsites <= 1)
        return false;
    r->nsites--;
    return true;
}

/* The fault phase ends a minute after its last entry (a spike's end:
 * a spike running into the quiet phase would be a new fault there). */
static bool shorter(struct draw_run *r, int unused)
{
    (void)unused;
    int64_t last = 0;
    for (int i = 0; i < r->nentries; i++)
        last = r->entries[i].until_ms > last ? r->entries[i].until_ms : last;
    int64_t want = (last / MIN_MS + 1) * MIN_MS;
    if (want >= r->fault_ms)
        return false;
    r->fault_ms = want;
    return true;
}

static int numbers(struct shrinker *s, struct draw_run *cur)
{
    if (try_change(s, cur, shorter, 0) < 0)
        return -1;
    if (cur->base != NULL)
        return 0; /* the base fixes the topology */
    int rc;
    while ((rc = try_change(s, cur, halve_users, 0)) == 1)
        ;
    if (rc < 0)
        return -1;
    while ((rc = try_change(s, cur, last_site_gone, 0)) == 1)
        ;
    for (int site = 0; rc >= 0 && site < cur->nsites; site++) {
        while ((rc = try_change(s, cur, fewer_backends, site)) == 1)
            ;
        while (rc >= 0 && (rc = try_change(s, cur, one_backend_less, site)) == 1)
            ;
    }
    return rc < 0 ? -1 : 0;
}

int shrink_run(const struct draw_run *failing, const char *key, const char *bin,
               const char *dir, int max_runs, struct draw_run *minimal, struct shrink_stats *st)
{
    memset(st, 0, sizeof(*st));
    struct shrinker s = {key, bin, dir, max_runs, st};
    if (draw_copy(failing, minimal) != 0)
        return -1;
    if (ddmin(&s, minimal) != 0 || numbers(&s, minimal) != 0) {
        draw_free(minimal);
        return -1;
    }
    return 0;
}
