/*
 * split_run(): the first half of the range on a second thread, the second
 * half on the caller's, then a join. split_start/split_join: one step on a
 * second thread beside the caller's. Two halves because the project's
 * machines have two cores, and a fixed split keeps it simple to reason
 * about; the results cannot depend on it (split.h).
 */
#include "sim/base/split.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* Below this, a thread costs more than it saves. */
#define SPLIT_MIN_ITEMS 65536u

struct split_job {
    void (*fn)(void *ctx, uint32_t from, uint32_t to);
    void *ctx;
    uint32_t from, to;
};

static void *split_thread(void *arg)
{
    struct split_job *job = arg;
    job->fn(job->ctx, job->from, job->to);
    return NULL;
}

void split_run(uint32_t n, void (*fn)(void *ctx, uint32_t from, uint32_t to), void *ctx)
{
    struct split_job first = {fn, ctx, 0, n / 2};
    pthread_t thread;
    if (n < SPLIT_MIN_ITEMS || pthread_create(&thread, NULL, split_thread, &first) != 0) {
        fn(ctx, 0, n);
        return;
    }
    fn(ctx, n / 2, n);
    pthread_join(thread, NULL);
}

static void *task_thread(void *arg)
{
    struct split_task *task = arg;
    task->fn(task->ctx);
    return NULL;
}

bool split_spawn(struct split_task *task, void (*fn)(void *ctx), void *ctx)
{
    *task = (struct split_task){.fn = fn, .ctx = ctx};
    task->started = pthread_create(&task->thread, NULL, task_thread, task) == 0;
    return task->started;
}

void split_start(struct split_task *task, void (*fn)(void *ctx), void *ctx)
{
    if (!split_spawn(task, fn, ctx))
        fn(ctx);
}

void split_join(struct split_task *task)
{
    if (task->started)
        pthread_join(task->thread, NULL);
    task->started = false;
}

uint64_t split_threshold(const char *env_name, uint64_t fallback)
{
    const char *text = getenv(env_name);
    if (text == NULL || *text < '0' || *text > '9')
        return fallback;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    return *end == '\0' && errno == 0 ? (uint64_t)v : fallback;
}
