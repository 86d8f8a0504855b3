/*
 * One ring of samples per backend; all of a backend's series are scraped at
 * the same instant, so they share timestamps and one ring.
 *
 * The controller asks every backend's window averages and counter increases
 * every 5 s (up to four increase windows while the failure window doubles),
 * and scrapes arrive every 15 s. Each answer is remembered with the clock
 * range over which the same samples stay in its window, so most asks read
 * nothing of the ring; a window's ends are found in a packed copy of the
 * sample times, galloping from the newest sample.
 */
#include "sim/world/prom.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int prom_init(struct prom *p, uint32_t capacity)
{
    memset(p, 0, sizeof(*p));
    assert(capacity >= 2);
    p->capacity = capacity;
    return 0;
}

void prom_free(struct prom *p)
{
    for (int b = 0; b < p->nbackends; b++) {
        free(p->series[b].ring);
        free(p->series[b].times_ms);
    }
    free(p->series);
    memset(p, 0, sizeof(*p));
}

static int reserve(struct prom *p, int n)
{
    if (n <= p->allocated)
        return 0;
    int want = p->allocated > 0 ? p->allocated : 16;
    while (want < n)
        want *= 2;
    if (want > CLUSTER_BACKENDS_MAX)
        want = CLUSTER_BACKENDS_MAX;
    struct prom_series *grown = realloc(p->series, sizeof(*grown) * (size_t)want);
    if (grown == NULL)
        return -1;
    memset(grown + p->allocated, 0, sizeof(*grown) * (size_t)(want - p->allocated));
    p->series = grown;
    p->allocated = want;
    return 0;
}

int prom_grow(struct prom *p, int n)
{
    assert(n <= CLUSTER_BACKENDS_MAX);
    if (reserve(p, n) != 0)
        return -1;
    for (int b = p->nbackends; b < n; b++) {
        struct prom_series *s = &p->series[b];
        s->ring = calloc(p->capacity, sizeof(*s->ring));
        s->times_ms = calloc(p->capacity, sizeof(*s->times_ms));
        if (s->ring == NULL || s->times_ms == NULL) {
            free(s->ring);
            free(s->times_ms);
            memset(s, 0, sizeof(*s));
            return -1;
        }
        p->nbackends = b + 1;
    }
    return 0;
}

/* Ring index of the i-th newest sample (0 = newest); i < len. */
static uint32_t newest_index(const struct prom *p, const struct prom_series *s, uint32_t i)
{
    assert(i < s->len);
    uint32_t back = i + 1;
    return s->head >= back ? s->head - back : s->head + p->capacity - back;
}

static const struct prom_sample *nth_newest(const struct prom *p, const struct prom_series *s,
                                            uint32_t i)
{
    return &s->ring[newest_index(p, s, i)];
}

static int64_t nth_newest_time(const struct prom *p, const struct prom_series *s, uint32_t i)
{
    return s->times_ms[newest_index(p, s, i)];
}

/* Scrapes come at a steady interval, so the answer below is usually where
 * the gap between the samples lo and lo + 1 says it is: checked with two
 * reads, it saves the search's dozen. 0: no answer (search); sample lo is
 * later than t_ms. */
static uint32_t guess_at_or_before(const struct prom *p, const struct prom_series *s, uint32_t lo,
                                   int64_t t_ms)
{
    if (lo + 1 >= s->len)
        return 0;
    int64_t newer = nth_newest_time(p, s, lo);
    int64_t gap = newer - nth_newest_time(p, s, lo + 1);
    assert(gap > 0 && newer > t_ms);
    int64_t steps = (newer - t_ms + gap - 1) / gap;
    if (steps >= (int64_t)(s->len - lo))
        return 0;
    uint32_t g = lo + (uint32_t)steps; /* > lo */
    if (nth_newest_time(p, s, g) <= t_ms && nth_newest_time(p, s, g - 1) > t_ms)
        return g;
    return 0;
}

/* The smallest i in [lo, len) whose sample is at or before t_ms, or len if
 * none. Samples get older as i grows and the answer is usually a few
 * samples past lo (a window of minutes), so the search gallops from lo
 * (steps 1, 2, 4, ...) and then halves the last step. */
static uint32_t first_at_or_before(const struct prom *p, const struct prom_series *s, uint32_t lo,
                                   int64_t t_ms)
{
    if (lo >= s->len || nth_newest_time(p, s, lo) <= t_ms)
        return lo;
    uint32_t guess = guess_at_or_before(p, s, lo, t_ms);
    if (guess != 0)
        return guess;
    uint32_t after = lo, hi = s->len, step = 1; /* after: a sample later than t_ms */
    while (step < s->len - after) {
        uint32_t probe = after + step;
        if (nth_newest_time(p, s, probe) <= t_ms) {
            hi = probe;
            break;
        }
        after = probe;
        step *= 2;
    }
    lo = after + 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (nth_newest_time(p, s, mid) <= t_ms)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Until when (exclusive) a window of window_ms asked at now_ms keeps the
 * samples [newest, oldest) found for it, while no sample arrives: until
 * the sample before newest is no longer in the future, or the one before
 * oldest enters the window. */
static int64_t window_until(const struct prom *p, const struct prom_series *s, uint32_t newest,
                            uint32_t oldest, int64_t window_ms)
{
    int64_t until = INT64_MAX;
    if (newest > 0)
        until = nth_newest_time(p, s, newest - 1);
    if (oldest > newest) {
        int64_t enters = nth_newest_time(p, s, oldest - 1) + window_ms;
        if (enters < until)
            until = enters;
    }
    return until;
}

static bool memo_holds(const struct prom_memo_key *k, const struct prom_series *s, int64_t now_ms,
                       int64_t window_ms)
{
    return k->used && k->window_ms == window_ms && k->scraped == s->scraped &&
           now_ms >= k->from_ms && now_ms < k->until_ms;
}

void prom_scrape(struct prom *p, int backend, const struct prom_sample *sample)
{
    assert(backend >= 0 && backend < p->nbackends);
    struct prom_series *s = &p->series[backend];
    if (s->len > 0)
        assert(sample->time_ms > nth_newest_time(p, s, 0));
    s->ring[s->head] = *sample;
    s->times_ms[s->head] = sample->time_ms;
    s->head = s->head + 1 == p->capacity ? 0 : s->head + 1;
    if (s->len < p->capacity)
        s->len++;
    s->scraped++;
    if (sample->gauges_valid)
        s->gauge_samples++;
}

int prom_gauges_avg(struct prom *p, int backend, int64_t now_ms, int64_t window_ms,
                    double out[GAUGE_COUNT])
{
    struct prom_series *s = &p->series[backend];
    if (window_ms <= 0)
        return 0; /* (now - window, now] is empty */
    struct prom_avg_memo *m = &s->avg_memo;
    if (memo_holds(&m->key, s, now_ms, window_ms)) {
        if (m->n > 0)
            memcpy(out, m->avg, sizeof(m->avg));
        return m->n;
    }
    /* The window holds the samples [newest, oldest) counted from the newest. */
    uint32_t newest = first_at_or_before(p, s, 0, now_ms);
    uint32_t oldest = first_at_or_before(p, s, newest, now_ms - window_ms);
    double sum[GAUGE_COUNT] = {0};
    int n = 0;
    for (uint32_t i = newest; i < oldest; i++) {
        const struct prom_sample *x = nth_newest(p, s, i);
        if (!x->gauges_valid)
            continue;
        for (int g = 0; g < GAUGE_COUNT; g++)
            sum[g] += x->gauges[g];
        n++;
    }
    *m = (struct prom_avg_memo){
        .key = {.used = true, .window_ms = window_ms, .scraped = s->scraped, .from_ms = now_ms,
                .until_ms = window_until(p, s, newest, oldest, window_ms)},
        .n = n};
    for (int g = 0; n > 0 && g < GAUGE_COUNT; g++)
        m->avg[g] = out[g] = sum[g] / n;
    return n;
}

static void increases(const struct prom *p, const struct prom_series *s, int64_t now_ms,
                      int64_t window_ms, struct prom_inc_memo *m)
{
    memset(m->inc, 0, sizeof(m->inc));
    m->key.until_ms = INT64_MAX;
    if (s->len < 2)
        return;
    uint32_t last = first_at_or_before(p, s, 0, now_ms);
    /* The newest sample at or before the window start, or the oldest held. */
    uint32_t first = first_at_or_before(p, s, last, now_ms - window_ms);
    m->key.until_ms = window_until(p, s, last, first, window_ms);
    if (last >= s->len)
        return;
    if (first >= s->len)
        first = s->len - 1;
    const struct prom_sample *a = nth_newest(p, s, last), *z = nth_newest(p, s, first);
    for (int c = 0; c < COUNTER_COUNT; c++) {
        int64_t delta = a->counters[c] - z->counters[c];
        m->inc[c] = delta > 0 ? delta : 0;
    }
}

void prom_increases(struct prom *p, int backend, int64_t now_ms, int64_t window_ms,
                    int64_t out[COUNTER_COUNT])
{
    struct prom_series *s = &p->series[backend];
    struct prom_inc_memo *m = NULL;
    for (int i = 0; i < PROM_INC_MEMOS && m == NULL; i++) {
        if (memo_holds(&s->inc_memo[i].key, s, now_ms, window_ms))
            m = &s->inc_memo[i];
    }
    if (m == NULL) {
        m = &s->inc_memo[s->inc_next];
        s->inc_next = (s->inc_next + 1) % PROM_INC_MEMOS;
        m->key = (struct prom_memo_key){
            .used = true, .window_ms = window_ms, .scraped = s->scraped, .from_ms = now_ms};
        increases(p, s, now_ms, window_ms, m);
    }
    memcpy(out, m->inc, sizeof(m->inc));
}

uint64_t prom_samples(const struct prom *p, int backend)
{
    return p->series[backend].gauge_samples;
}
