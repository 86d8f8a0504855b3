/*
 * One ring of samples per backend; all of a backend's series are scraped at
 * the same instant, so they share timestamps and one ring.
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
    for (int b = 0; b < p->nbackends; b++)
        free(p->series[b].ring);
    memset(p, 0, sizeof(*p));
}

int prom_grow(struct prom *p, int n)
{
    assert(n <= CLUSTER_BACKENDS_MAX);
    for (int b = p->nbackends; b < n; b++) {
        p->series[b].ring = calloc(p->capacity, sizeof(struct prom_sample));
        if (p->series[b].ring == NULL)
            return -1;
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

/* The smallest i in [lo, len) whose sample is at or before t_ms, or len if
 * none: samples get older as i grows, so a binary search finds it. */
static uint32_t first_at_or_before(const struct prom *p, const struct prom_series *s, uint32_t lo,
                                   int64_t t_ms)
{
    uint32_t hi = s->len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (nth_newest(p, s, mid)->time_ms <= t_ms)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void prom_scrape(struct prom *p, int backend, const struct prom_sample *sample)
{
    assert(backend >= 0 && backend < p->nbackends);
    struct prom_series *s = &p->series[backend];
    if (s->len > 0)
        assert(sample->time_ms > nth_newest(p, s, 0)->time_ms);
    s->ring[s->head] = *sample;
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
    /* The window holds the samples [newest, oldest) counted from the newest. */
    uint32_t newest = first_at_or_before(p, s, 0, now_ms);
    uint32_t oldest = first_at_or_before(p, s, newest, now_ms - window_ms);
    if (newest >= oldest)
        return 0;
    struct prom_avg_memo *m = &s->memo;
    uint64_t newest_seq = s->scraped - 1 - newest, oldest_seq = s->scraped - oldest;
    if (m->n > 0 && m->window_ms == window_ms && m->newest_seq == newest_seq &&
        m->oldest_seq == oldest_seq) {
        memcpy(out, m->avg, sizeof(m->avg));
        return m->n;
    }
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
    if (n == 0)
        return 0;
    *m = (struct prom_avg_memo){.window_ms = window_ms, .newest_seq = newest_seq,
                                .oldest_seq = oldest_seq, .n = n};
    for (int g = 0; g < GAUGE_COUNT; g++)
        m->avg[g] = out[g] = sum[g] / n;
    return n;
}

void prom_increases(const struct prom *p, int backend, int64_t now_ms, int64_t window_ms,
                    int64_t out[COUNTER_COUNT])
{
    const struct prom_series *s = &p->series[backend];
    for (int c = 0; c < COUNTER_COUNT; c++)
        out[c] = 0;
    if (s->len < 2)
        return;
    uint32_t last = first_at_or_before(p, s, 0, now_ms);
    if (last >= s->len)
        return;
    /* The newest sample at or before the window start, or the oldest held. */
    uint32_t first = first_at_or_before(p, s, last, now_ms - window_ms);
    if (first >= s->len)
        first = s->len - 1;
    const struct prom_sample *a = nth_newest(p, s, last), *z = nth_newest(p, s, first);
    for (int c = 0; c < COUNTER_COUNT; c++) {
        int64_t delta = a->counters[c] - z->counters[c];
        out[c] = delta > 0 ? delta : 0;
    }
}

uint64_t prom_samples(const struct prom *p, int backend)
{
    return p->series[backend].gauge_samples;
}
