/*
 * The workload's draws on a second thread, handed over through a bounded
 * ring of batches (see arrivals.h for why the result cannot depend on the
 * threads). The drawer fills the ring and sleeps; the loop wakes it only
 * when the ring has drained to a quarter, so that a wake-up (tens of
 * microseconds on these virtual machines) is paid once per 192 batches,
 * not once per batch: with a ring of 64 woken at half, 3,200 wake-ups
 * were 1% of bench-1m.
 */
#include "sim/world/arrivals.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define RING 256                /* batches drawn ahead (about 2.6 MB) */
#define RING_RESUME (RING / 4) /* a sleeping drawer is woken at this fill */

/* Where the drawing is: between two ticks, or inside one. */
struct draw_pos {
    int64_t t0, t1;
    double multiplier;
    uint64_t n;      /* the tick's arrivals */
    uint64_t logins; /* of which logins */
    uint64_t next;   /* the next to draw */
    bool in_tick;
};

/* Both streams as they were before a tick's draws. */
struct tick_start {
    struct rng_mt arrivals, sessions;
};

struct arrivals {
    struct arrivals_plan plan;
    double mu; /* log of the median session length */
    struct draw_pos pos; /* the drawer's own while its thread runs */
    struct arrival_batch *ring;
    struct tick_start *starts; /* starts[i]: before ring[i]'s tick, when ring[i].first */
    /* under lock: batches taken and drawn (tail - head <= RING) */
    uint64_t head, tail;
    bool stop, drawer_waits, taker_waits;
    bool threaded;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t drawn; /* a batch was drawn, for a waiting taker */
    pthread_cond_t taken; /* the ring drained to RING_RESUME, or stop */
    uint64_t rollbacks;
};

double arrivals_diurnal(const struct scn_workload *wl, int64_t start_s, int64_t t_ms)
{
    int64_t wall_ms = t_ms + start_s % (24 * 3600) * 1000;
    double hours = fmod((double)wall_ms / 3600000.0, 24.0);
    return 1.0 + wl->diurnal_amplitude * cos(2.0 * PI * (hours - wl->peak_hour) / 24.0);
}

static int64_t session_length_ms(struct arrivals *a)
{
    const struct scn_workload *wl = a->plan.workload;
    double ms = rng_lognormal(a->plan.sessions, a->mu, wl->session_sigma);
    if (ms > (double)wl->session_max_ms)
        ms = (double)wl->session_max_ms;
    return ms < 1000.0 ? 1000 : (int64_t)ms;
}

/* The counts are Poisson; within the tick the arrivals are spread evenly
 * and logins and deliveries interleaved evenly (integer arithmetic), which
 * keeps them in time order without sorting. Times 1.0 exactly without a
 * load spike: the same draws as before spikes existed. */
static void begin_tick(struct arrivals *a)
{
    const struct arrivals_plan *pl = &a->plan;
    struct draw_pos *p = &a->pos;
    p->t1 = p->t0 + pl->tick_ms < pl->duration_ms ? p->t0 + pl->tick_ms : pl->duration_ms;
    assert(p->t1 > p->t0);
    double factor =
        arrivals_diurnal(pl->workload, pl->start_s, (p->t0 + p->t1) / 2) * p->multiplier;
    double span = (double)(p->t1 - p->t0);
    uint64_t logins = rng_poisson(pl->arrivals, pl->login_rate_per_ms * factor * span);
    uint64_t deliveries = rng_poisson(pl->arrivals, pl->delivery_rate_per_ms * factor * span);
    p->n = pl->nusers > 0 ? logins + deliveries : 0;
    p->logins = logins;
    p->next = 0;
    p->in_tick = true;
}

/* Draws the next batch into bt; start (NULL: not kept) gets the streams
 * when the batch begins a tick. */
static void draw_batch(struct arrivals *a, struct arrival_batch *bt, struct tick_start *start)
{
    struct draw_pos *p = &a->pos;
    bt->first = !p->in_tick;
    if (!p->in_tick) {
        if (start != NULL) {
            start->arrivals = *a->plan.arrivals->mt;
            start->sessions = *a->plan.sessions->mt;
        }
        begin_tick(a);
    }
    bt->t0 = p->t0;
    bt->t1 = p->t1;
    bt->multiplier = p->multiplier;
    uint64_t left = p->n - p->next;
    bt->count = (uint32_t)(left < ARRIVALS_BATCH ? left : ARRIVALS_BATCH);
    uint64_t span = (uint64_t)(p->t1 - p->t0);
    for (uint32_t i = 0; i < bt->count; i++) {
        uint64_t k = p->next + i;
        bt->at_ms[i] = p->t0 + (int64_t)((2 * k + 1) * span / (2 * p->n));
        bool login = (k + 1) * p->logins / p->n > k * p->logins / p->n;
        bt->length_ms[i] = login ? session_length_ms(a) : -1;
    }
    uint32_t lo[ARRIVALS_BATCH];
    if (bt->count > 0) /* users: by activity (no table without users) */
        alias_draw_many(a->plan.alias, a->plan.arrivals, bt->user, lo, bt->count);
    p->next += bt->count;
    bt->last = p->next == p->n;
    if (bt->last) {
        p->in_tick = false;
        p->t0 += a->plan.tick_ms;
    }
}

/* Nothing is left to draw: the last tick is drawn. */
static bool drawn_out(const struct arrivals *a)
{
    return !a->pos.in_tick && a->pos.t0 >= a->plan.duration_ms;
}

static void *drawer(void *arg)
{
    struct arrivals *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->stop && (a->tail - a->head == RING || drawn_out(a))) {
            a->drawer_waits = true;
            pthread_cond_wait(&a->taken, &a->lock);
        }
        a->drawer_waits = false;
        if (a->stop)
            break;
        size_t slot = (size_t)(a->tail % RING);
        pthread_mutex_unlock(&a->lock);
        draw_batch(a, &a->ring[slot], &a->starts[slot]);
        pthread_mutex_lock(&a->lock);
        a->tail++;
        if (a->taker_waits)
            pthread_cond_signal(&a->drawn);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static void thread_start(struct arrivals *a)
{
    a->head = a->tail = 0;
    a->stop = a->drawer_waits = a->taker_waits = false;
    a->threaded = pthread_create(&a->thread, NULL, drawer, a) == 0;
}

static void thread_stop(struct arrivals *a)
{
    if (!a->threaded)
        return;
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_signal(&a->taken);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    a->threaded = false;
}

struct arrivals *arrivals_init(const struct arrivals_plan *plan)
{
    assert(plan->tick_ms > 0 && plan->duration_ms > 0);
    assert(plan->nusers == 0 || (plan->alias != NULL && plan->alias->n == plan->nusers));
    struct arrivals *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->plan = *plan;
    a->mu = log((double)plan->workload->session_median_ms);
    a->pos = (struct draw_pos){.t0 = 0, .multiplier = 1.0};
    a->ring = malloc(RING * sizeof(*a->ring));
    a->starts = malloc(RING * sizeof(*a->starts));
    if (a->ring == NULL || a->starts == NULL) {
        free(a->ring);
        free(a->starts);
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->drawn, NULL);
    pthread_cond_init(&a->taken, NULL);
    if (plan->thread)
        thread_start(a);
    return a;
}

void arrivals_free(struct arrivals *a)
{
    if (a == NULL)
        return;
    thread_stop(a);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->drawn);
    pthread_cond_destroy(&a->taken);
    free(a->ring);
    free(a->starts);
    free(a);
}

/* The tick was drawn with another multiplier than the loop's: both
 * streams go back to before it and the drawer starts again from it. */
static void rollback(struct arrivals *a, size_t slot, double multiplier)
{
    assert(a->threaded); /* drawing on demand uses the loop's multiplier */
    thread_stop(a);
    *a->plan.arrivals->mt = a->starts[slot].arrivals;
    *a->plan.sessions->mt = a->starts[slot].sessions;
    a->pos = (struct draw_pos){.t0 = a->ring[slot].t0, .multiplier = multiplier};
    a->rollbacks++;
    thread_start(a); /* if it cannot start, the draws go on on demand */
}

/* The ring slot of the next batch, drawn by the thread, or here. */
static size_t take(struct arrivals *a, int64_t t0, double multiplier)
{
    if (!a->threaded) {
        assert(a->pos.in_tick || a->pos.t0 == t0);
        if (!a->pos.in_tick)
            a->pos.multiplier = multiplier; /* drawn now: nothing to roll back */
        draw_batch(a, &a->ring[0], NULL);
        return 0;
    }
    pthread_mutex_lock(&a->lock);
    while (a->head == a->tail) {
        a->taker_waits = true;
        pthread_cond_wait(&a->drawn, &a->lock);
    }
    a->taker_waits = false;
    size_t slot = (size_t)(a->head % RING);
    pthread_mutex_unlock(&a->lock);
    return slot;
}

const struct arrival_batch *arrivals_next(struct arrivals *a, int64_t t0, double multiplier)
{
    assert(t0 >= 0 && t0 < a->plan.duration_ms);
    for (;;) {
        size_t slot = take(a, t0, multiplier);
        const struct arrival_batch *bt = &a->ring[slot];
        assert(bt->t0 == t0);
        if (!bt->first || bt->multiplier == multiplier)
            return bt;
        rollback(a, slot, multiplier);
    }
}

void arrivals_release(struct arrivals *a)
{
    if (!a->threaded)
        return;
    pthread_mutex_lock(&a->lock);
    a->head++;
    if (a->drawer_waits && a->tail - a->head <= RING_RESUME)
        pthread_cond_signal(&a->taken);
    pthread_mutex_unlock(&a->lock);
}

bool arrivals_threaded(const struct arrivals *a)
{
    return a->threaded;
}

uint64_t arrivals_rollbacks(const struct arrivals *a)
{
    return a->rollbacks;
}
