/*
 * The discrete-event engine: virtual time in integer milliseconds and a
 * bounded queue of events ordered by (time, insertion sequence), so that
 * events due at the same millisecond run in the order they were scheduled
 * (libuv's timer tie-break). Nothing here reads a clock.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stdbool.h>
#include <stdint.h>

struct event {
    int64_t time_ms;
    uint64_t seq;
    uint32_t kind;
    uint32_t arg;
};

struct engine {
    int64_t now_ms;
    uint64_t next_seq;
    uint64_t dispatched;
    uint32_t count;
    uint32_t capacity;
    struct event *heap;
};

/* Returns 0, or -1 out of memory. capacity bounds the pending events. */
int engine_init(struct engine *engine, uint32_t capacity);
void engine_free(struct engine *engine);

/* Schedules an event at time_ms >= now. Returns 0, or -1 when the queue
 * is full (a bug or a limit to raise, never silently dropped). */
int engine_push(struct engine *engine, int64_t time_ms, uint32_t kind, uint32_t arg);

/* Removes the earliest event and advances now to its time. Returns false
 * when the queue is empty. */
bool engine_pop(struct engine *engine, struct event *out);

#endif
