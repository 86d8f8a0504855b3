/*
 * A binary min-heap of events in one array. The simulator keeps only a few
 * hundred events pending (per-user activity is generated in batches by the
 * workload model), so a heap beats anything cleverer here.
 */
#include "sim/base/engine.h"

#include <assert.h>
#include <stdlib.h>

static bool event_before(const struct event *a, const struct event *b)
{
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms;
    return a->seq < b->seq;
}

int engine_init(struct engine *engine, uint32_t capacity)
{
    assert(capacity > 0);
    engine->now_ms = 0;
    engine->next_seq = 0;
    engine->dispatched = 0;
    engine->count = 0;
    engine->capacity = capacity;
    engine->heap = calloc(capacity, sizeof(*engine->heap));
    return engine->heap != NULL ? 0 : -1;
}

void engine_free(struct engine *engine)
{
    free(engine->heap);
    engine->heap = NULL;
}

int engine_push(struct engine *engine, int64_t time_ms, uint32_t kind, uint32_t arg)
{
    assert(time_ms >= engine->now_ms);
    if (engine->count >= engine->capacity)
        return -1;
    struct event ev = {time_ms, engine->next_seq++, kind, arg};
    uint32_t i = engine->count++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!event_before(&ev, &engine->heap[parent]))
            break;
        engine->heap[i] = engine->heap[parent];
        i = parent;
    }
    engine->heap[i] = ev;
    return 0;
}

bool engine_pop(struct engine *engine, struct event *out)
{
    if (engine->count == 0)
        return false;
    *out = engine->heap[0];
    struct event last = engine->heap[--engine->count];
    uint32_t i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= engine->count)
            break;
        if (child + 1 < engine->count && event_before(&engine->heap[child + 1],
                                                      &engine->heap[child]))
            child++;
        if (!event_before(&engine->heap[child], &last))
            break;
        engine->heap[i] = engine->heap[child];
        i = child;
    }
    if (engine->count > 0)
        engine->heap[i] = last;
    assert(out->time_ms >= engine->now_ms);
    engine->now_ms = out->time_ms;
    engine->dispatched++;
    return true;
}
