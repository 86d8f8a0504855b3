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

/* The i-th newest sample (0 = newest); i < len. */
static const struct prom_sample *nth_newest(const struct prom *p, const struct prom_series *s,
                                            uint32_t i)
{
    assert(i < s->len);
    uint32_t idx = (s->head + p->capacity - 1 - i) % p->capacity;
    return &s->ring[idx];
}

void prom_scrape(struct prom *p, int backend, const struct prom_sample *sample)
{
    assert(backend >= 0 && backend < p->nbackends);
    struct prom_series *s = &p->series[backend];
    if (s->len > 0)
        assert(sample->time_ms > nth_newest(p, s, 0)->time_ms);
    s->ring[s->head] = *sample;
    s->head = (s->head + 1) % p->capacity;
    if (s->len < p->capacity)
        s->len++;
    if (sample->gauges_valid)
        s->gauge_samples++;
}

int prom_gauges_avg(const struct prom *p, int backend, int64_t now_ms, int64_t window_ms,
                    double out[GAUGE_COUNT])
{
    const struct prom_series *s = &p->series[backend];
    double sum[GAUGE_COUNT] = {0};
    int n = 0;
    for (uint32_t i = 0; i < s->len; i++) {
        const struct prom_sample *x = nth_newest(p, s, i);
        if (x->time_ms <= now_ms - window_ms)
            break;
        if (x->time_ms > now_ms || !x->gauges_valid)
            continue;
        for (int g = 0; g < GAUGE_COUNT; g++)
            sum[g] += x->gauges[g];
        n++;
    }
    for (int g = 0; n > 0 && g < GAUGE_COUNT; g++)
        out[g] = sum[g] / n;
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
    uint32_t last = 0;
    while (last < s->len && nth_newest(p, s, last)->time_ms > now_ms)
        last++;
    if (last >= s->len)
        return;
    uint32_t first = last;
    while (first + 1 < s->len && nth_newest(p, s, first)->time_ms > now_ms - window_ms)
        first++;
    for (int c = 0; c < COUNTER_COUNT; c++) {
        int64_t delta = nth_newest(p, s, last)->counters[c] - nth_newest(p, s, first)->counters[c];
        out[c] = delta > 0 ? delta : 0;
    }
}

uint64_t prom_samples(const struct prom *p, int backend)
{
    return p->series[backend].gauge_samples;
}
