/*
 * The synthetic Prometheus. Goal: its remembered window answers (kept while
 * the same samples stay in the window) are always the answer a plain pass
 * over the ring gives: same bytes for averages, same increases, on random
 * scrape times, gaps, invalid samples, ring wrap-around and window lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/world/prom.h"

/* The reference: every sample held, oldest first, as the ring would hold. */
struct ref {
    uint32_t capacity;
    uint32_t len;
    struct prom_sample s[64];
};

static void ref_scrape(struct ref *r, const struct prom_sample *x)
{
    if (r->len == r->capacity) {
        memmove(&r->s[0], &r->s[1], sizeof(r->s[0]) * (r->len - 1));
        r->len--;
    }
    r->s[r->len++] = *x;
}

/* The plain pass: newest first, from zero. */
static int ref_avg(const struct ref *r, int64_t now, int64_t window, double out[GAUGE_COUNT])
{
    double sum[GAUGE_COUNT] = {0};
    int n = 0;
    for (uint32_t k = r->len; k-- > 0;) {
        const struct prom_sample *x = &r->s[k];
        if (x->time_ms <= now - window)
            break;
        if (x->time_ms > now || !x->gauges_valid)
            continue;
        for (int g = 0; g < GAUGE_COUNT; g++)
            sum[g] += x->gauges[g];
        n++;
    }
    for (int g = 0; n > 0 && g < GAUGE_COUNT; g++)
        out[g] = sum[g] / n;
    return n;
}

static void ref_increases(const struct ref *r, int64_t now, int64_t window,
                          int64_t out[COUNTER_COUNT])
{
    memset(out, 0, sizeof(int64_t) * COUNTER_COUNT);
    if (r->len < 2)
        return;
    uint32_t last = 0; /* counted from the newest */
    while (last < r->len && r->s[r->len - 1 - last].time_ms > now)
        last++;
    if (last >= r->len)
        return;
    uint32_t first = last;
    while (first + 1 < r->len && r->s[r->len - 1 - first].time_ms > now - window)
        first++;
    for (int c = 0; c < COUNTER_COUNT; c++) {
        int64_t d = r->s[r->len - 1 - last].counters[c] - r->s[r->len - 1 - first].counters[c];
        out[c] = d > 0 ? d : 0;
    }
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_memo_matches_plain_pass(void **state)
{
    (void)state;
    const uint32_t capacity = 24;
    const int64_t windows[] = {15000, 30000, 60000, 120000, 240000, 480000, 1000, 0, -5};
    uint64_t seed = 12345;
    struct prom p;
    assert_int_equal(prom_init(&p, capacity), 0);
    assert_int_equal(prom_grow(&p, 2), 0);
    struct ref ref[2] = {{.capacity = capacity}, {.capacity = capacity}};
    int64_t now = 0, counters[2][COUNTER_COUNT] = {{0}};
    for (int step = 0; step < 20000; step++) {
        now += 1 + (int64_t)(next(&seed) % 9000);
        int b = (int)(next(&seed) % 2);
        if (next(&seed) % 3 == 0) { /* a scrape (sometimes none for a while: a gap) */
            struct prom_sample x = {.time_ms = now, .gauges_valid = next(&seed) % 5 != 0};
            for (int g = 0; g < GAUGE_COUNT; g++)
                x.gauges[g] = (double)(next(&seed) % 100000) / 7.0;
            for (int c = 0; c < COUNTER_COUNT; c++) {
                counters[b][c] += (int64_t)(next(&seed) % 50);
                x.counters[c] = counters[b][c];
            }
            prom_scrape(&p, b, &x);
            ref_scrape(&ref[b], &x);
        }
        /* Asks, several at the same instant as the controller makes them. */
        for (int k = 0; k < 4; k++) {
            int64_t window = windows[next(&seed) % (sizeof(windows) / sizeof(windows[0]))];
            double got[GAUGE_COUNT] = {-1, -1, -1}, want[GAUGE_COUNT] = {-1, -1, -1};
            int n_got = prom_gauges_avg(&p, b, now, window, got);
            int n_want = ref_avg(&ref[b], now, window, want);
            assert_int_equal(n_got, n_want);
            if (n_want > 0)
                assert_memory_equal(got, want, sizeof(got));
            int64_t inc_got[COUNTER_COUNT], inc_want[COUNTER_COUNT];
            prom_increases(&p, b, now, window, inc_got);
            ref_increases(&ref[b], now, window, inc_want);
            assert_memory_equal(inc_got, inc_want, sizeof(inc_got));
        }
    }
    prom_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memo_matches_plain_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
