/*
 * A synthetic Prometheus: scrapes every backend's gauges (CPU, memory,
 * metacache, from the backend's exporter) and the proxies' per-destination
 * counters (proxy_session_*, lmtp_rcpt_finished_*, redirects) every scrape
 * interval, keeps a bounded history per backend, and answers what the
 * controller asks: an average or last value over a window, the increase of
 * a counter over a window, and the number of samples a series has.
 */
#ifndef PROM_H
#define PROM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cluster.h"

enum prom_gauge {
    GAUGE_CPU = 0,
    GAUGE_MEMORY,
    GAUGE_METACACHE,
    GAUGE_COUNT
};

enum prom_counter {
    COUNTER_LOGIN_OK = 0,   /* proxy_session_success */
    COUNTER_LOGIN_FAIL,     /* proxy_session_failure */
    COUNTER_DELIVERY_OK,    /* lmtp_rcpt_finished_success */
    COUNTER_DELIVERY_FAIL,  /* lmtp_rcpt_finished_failure */
    COUNTER_REDIRECT,       /* proxy_dest_redirected: not failures */
    COUNTER_COUNT
};

struct prom_sample {
    int64_t time_ms;
    bool gauges_valid; /* false when the backend's exporter did not answer */
    double gauges[GAUGE_COUNT];
    int64_t counters[COUNTER_COUNT];
};

/* A remembered answer holds for one window length while no sample arrives
 * and the clock stays in [from, until): the controller asks every 5 s,
 * scrapes arrive every 15 s, so two asks in three get the same samples. */
struct prom_memo_key {
    bool used;
    int64_t window_ms;
    uint64_t scraped; /* the series' scraped count when it was computed */
    int64_t from_ms;
    int64_t until_ms;
};

struct prom_avg_memo {
    struct prom_memo_key key;
    int n;
    double avg[GAUGE_COUNT];
};

/* The failure window doubles from 120 s to at most 960 s: four lengths. */
#define PROM_INC_MEMOS 4

struct prom_inc_memo {
    struct prom_memo_key key;
    int64_t inc[COUNTER_COUNT];
};

struct prom_series {
    uint32_t head;          /* index of the next write */
    uint32_t len;           /* samples held, <= capacity */
    uint64_t gauge_samples; /* valid gauge samples ever scraped */
    uint64_t scraped;       /* samples ever scraped */
    struct prom_sample *ring;
    /* ring[i].time_ms again, packed: a window's ends are found by reading
     * these (a few cache lines) instead of whole samples. */
    int64_t *times_ms;
    struct prom_avg_memo avg_memo;
    struct prom_inc_memo inc_memo[PROM_INC_MEMOS];
    int inc_next; /* the increase memo replaced next */
};

struct prom {
    uint32_t capacity; /* samples per backend */
    int nbackends;
    int allocated;              /* series allocated, >= nbackends */
    struct prom_series *series; /* nbackends of them in use */
};

int prom_init(struct prom *p, uint32_t capacity);
void prom_free(struct prom *p);
/* Starts series for backends [0, n). Returns 0 or -1 out of memory. */
int prom_grow(struct prom *p, int n);

void prom_scrape(struct prom *p, int backend, const struct prom_sample *sample);

/* Mean of each gauge's valid samples in (now - window, now], summed newest
 * first. Returns the number of samples averaged (0: out untouched). The
 * series remembers its last answer and gives it again while the window
 * holds the same samples (the same bytes: the same sum in the same order). */
int prom_gauges_avg(struct prom *p, int backend, int64_t now_ms, int64_t window_ms,
                    double out[GAUGE_COUNT]);
/* Increase of every counter over (now - window, now]: the last sample
 * minus the newest sample at or before the window start (or the oldest
 * held). Remembered per window length like the averages. */
void prom_increases(struct prom *p, int backend, int64_t now_ms, int64_t window_ms,
                    int64_t out[COUNTER_COUNT]);
uint64_t prom_samples(const struct prom *p, int backend);

#endif
