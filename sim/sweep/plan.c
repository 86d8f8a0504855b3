/*
 * Sweep plans (see plan.h): the JSON reader, and the expansion of a plan
 * into cells and runs. Every key is checked, as in scenario files: a typo
 * in a plan must not silently sweep something else.
 */
#include "sim/sweep/plan.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

#define CELL_NAME_MAX 160

void plan_init(struct plan *p, const char *scenario)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->scenario, sizeof(p->scenario), "%s", scenario);
    p->lean = true;
}

void plan_free(struct plan *p)
{
    for (int a = 0; a < p->naxes; a++)
        free(p->axes[a].values);
    free(p->seeds);
    free(p->metrics);
    free(p->sets);
    memset(p, 0, sizeof(*p));
}

/* The arrays below hold n items in room for the next power of two at or
 * above n, so they grow only when n is 0 or a power of two: appending n
 * items costs O(n), not the O(n^2) of growing by one (100000 seeds took
 * minutes under ASan). Returns the room for n + 1 items, or 0 if the array
 * already has it. */
static size_t room_for_next(int n)
{
    if (n > 0 && (n & (n - 1)) != 0)
        return 0;
    return n == 0 ? 1 : (size_t)n * 2;
}

/* Appends text to a growing array of fixed-size texts. */
static int texts_add(char (**texts)[PLAN_TEXT_SIZE], int *n, const char *text)
{
    if (strlen(text) >= PLAN_TEXT_SIZE)
        return -1;
    size_t room = room_for_next(*n);
    if (room > 0) {
        char(*grown)[PLAN_TEXT_SIZE] = realloc(*texts, room * PLAN_TEXT_SIZE);
        if (grown == NULL)
            return -1;
        *texts = grown;
    }
    snprintf((*texts)[*n], PLAN_TEXT_SIZE, "%s", text);
    (*n)++;
    return 0;
}

int plan_add_metric(struct plan *p, const char *metric)
{
    return texts_add(&p->metrics, &p->nmetrics, metric);
}

int plan_add_set(struct plan *p, const char *set)
{
    return strchr(set, '=') == NULL ? -1 : texts_add(&p->sets, &p->nsets, set);
}

static int seed_add(struct plan *p, uint64_t seed)
{
    if (p->nseeds >= PLAN_SEEDS_MAX)
        return -1;
    size_t room = room_for_next(p->nseeds);
    if (room > 0) {
        uint64_t *grown = realloc(p->seeds, room * sizeof(*grown));
        if (grown == NULL)
            return -1;
        p->seeds = grown;
    }
    p->seeds[p->nseeds++] = seed;
    return 0;
}

int plan_add_seed_range(struct plan *p, uint64_t from, int count)
{
    for (int i = 0; i < count; i++) {
        if (seed_add(p, from + (uint64_t)i) != 0)
            return -1;
    }
    return 0;
}

int plan_cells(const struct plan *p)
{
    int cells = 1;
    for (int a = 0; a < p->naxes; a++)
        cells *= p->axes[a].nvalues;
    return cells;
}

int plan_runs(const struct plan *p)
{
    return plan_cells(p) * p->nseeds;
}

int plan_run_cell(const struct plan *p, int run)
{
    return run / p->nseeds;
}

uint64_t plan_run_seed(const struct plan *p, int run)
{
    return p->seeds[run % p->nseeds];
}

int plan_cell_value(const struct plan *p, int cell, int axis)
{
    for (int a = p->naxes - 1; a > axis; a--)
        cell /= p->axes[a].nvalues;
    return cell % p->axes[axis].nvalues;
}

void plan_cell_name(const struct plan *p, int cell, char *out, size_t size)
{
    char name[PLAN_AXES_MAX * 2 * PLAN_TEXT_SIZE];
    size_t n = 0;
    name[0] = '\0';
    for (int a = 0; a < p->naxes; a++) {
        n += (size_t)snprintf(name + n, sizeof(name) - n, "%s%s=%s", a ? "," : "", p->axes[a].key,
                              p->axes[a].values[plan_cell_value(p, cell, a)]);
    }
    if (p->naxes == 0)
        snprintf(name, sizeof(name), "base");
    bool changed = false;
    char safe[CELL_NAME_MAX + 1];
    size_t len = strlen(name);
    for (size_t i = 0; i < len && i < CELL_NAME_MAX; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("._-=,+", c) != NULL;
        safe[i] = ok ? c : '_';
        changed |= !ok;
    }
    safe[len < CELL_NAME_MAX ? len : CELL_NAME_MAX] = '\0';
    if (safe[0] == '.')
        safe[0] = '_', changed = true;
    if (changed || len > CELL_NAME_MAX)
        snprintf(out, size, "%s~%08" PRIx64, safe, hash_str64(0, name) & 0xffffffffu);
    else
        snprintf(out, size, "%s", safe);
}

/* ---- reading a plan file ---- */

struct reader {
    const char *file;
    char *err;
    size_t err_size;
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct reader *r, const char *fmt, ...)
{
    int n = snprintf(r->err, r->err_size, "%s: ", r->file);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < r->err_size)
        vsnprintf(r->err + n, r->err_size - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int keys_check(struct reader *r, json_t *obj, const char *where, const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        (void)v;
        bool known = false;
        for (int i = 0; keys[i] != NULL; i++)
            known |= strcmp(keys[i], key) == 0;
        if (!known)
            return fail(r, "unknown key '%s' in %s", key, where);
    }
    return 0;
}

/* A JSON number or string as the text --set takes. */
static int value_text(json_t *v, char *out, size_t size)
{
    if (json_is_integer(v))
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, size, "%.15g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(out, size, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(out, size, "%s", json_is_true(v) ? "true" : "false");
    else
        return -1;
    return strlen(out) + 1 >= size ? -1 : 0;
}

static int axis_range(struct reader *r, json_t *range, struct plan_axis *axis, int a)
{
    static const char *const keys[] = {"from", "to", "step", NULL};
    json_t *from = json_object_get(range, "from"), *to = json_object_get(range, "to"),
           *step = json_object_get(range, "step");
    if (!json_is_object(range) || keys_check(r, range, "a range", keys) != 0)
        return json_is_object(range) ? -1 : fail(r, "axes[%d].range: expected an object", a);
    if (!json_is_number(from) || !json_is_number(to) || !json_is_number(step))
        return fail(r, "axes[%d].range: expected numbers from, to and step", a);
    double f = json_number_value(from), t = json_number_value(to), s = json_number_value(step);
    if (!(s > 0) || t < f || (t - f) / s >= PLAN_VALUES_MAX)
        return fail(r, "axes[%d].range: expected step > 0, to >= from, at most %d values", a,
                    PLAN_VALUES_MAX);
    bool integers = json_is_integer(from) && json_is_integer(to) && json_is_integer(step);
    /* from + i*step, not a running sum, so 0.05 + 2*0.05 prints as 0.15 */
    for (int i = 0; f + i * s <= t + s * 1e-9; i++) {
        char text[64];
        if (integers)
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(from) + i * json_integer_value(step));
        else
            snprintf(text, sizeof(text), "%.12g", f + i * s);
        if (texts_add(&axis->values, &axis->nvalues, text) != 0)
            return fail(r, "out of memory");
    }
    return 0;
}

static int load_axis(struct reader *r, json_t *obj, struct plan_axis *axis, int a)
{
    static const char *const keys[] = {"key", "values", "range", NULL};
    if (!json_is_object(obj))
        return fail(r, "axes[%d]: expected an object {\"key\": ..., \"values\": [...]}", a);
    if (keys_check(r, obj, "an axis", keys) != 0)
        return -1;
    const char *key = json_string_value(json_object_get(obj, "key"));
    if (key == NULL || key[0] == '\0' || strchr(key, '=') || strlen(key) >= sizeof(axis->key))
        return fail(r, "axes[%d].key: expected a setting name or a scenario path", a);
    snprintf(axis->key, sizeof(axis->key), "%s", key);
    json_t *values = json_object_get(obj, "values"), *range = json_object_get(obj, "range");
    if ((values == NULL) == (range == NULL))
        return fail(r, "axes[%d]: give either \"values\" or \"range\"", a);
    if (range != NULL)
        return axis_range(r, range, axis, a);
    if (!json_is_array(values) || json_array_size(values) == 0 ||
        json_array_size(values) > PLAN_VALUES_MAX)
        return fail(r, "axes[%d].values: expected an array of 1..%d values", a, PLAN_VALUES_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        char text[PLAN_TEXT_SIZE];
        if (value_text(v, text, sizeof(text)) != 0)
            return fail(r, "axes[%d].values[%zu]: expected a number, a string or a boolean", a, i);
        if (texts_add(&axis->values, &axis->nvalues, text) != 0)
            return fail(r, "out of memory");
    }
    return 0;
}

static int load_seeds(struct reader *r, struct plan *p, json_t *seeds)
{
    if (json_is_array(seeds)) {
        size_t i;
        json_t *v;
        json_array_foreach(seeds, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return fail(r, "seeds[%zu]: expected an integer >= 0", i);
            if (seed_add(p, (uint64_t)json_integer_value(v)) != 0)
                return fail(r, "seeds: at most %d", PLAN_SEEDS_MAX);
        }
    } else if (json_is_object(seeds)) {
        static const char *const keys[] = {"from", "count", NULL};
        if (keys_check(r, seeds, "seeds", keys) != 0)
            return -1;
        json_t *from = json_object_get(seeds, "from"), *count = json_object_get(seeds, "count");
        if (!json_is_integer(from) || json_integer_value(from) < 0 || !json_is_integer(count) ||
            json_integer_value(count) < 1 || json_integer_value(count) > PLAN_SEEDS_MAX)
            return fail(r, "seeds: expected {\"from\": N >= 0, \"count\": 1..%d}", PLAN_SEEDS_MAX);
        if (plan_add_seed_range(p, (uint64_t)json_integer_value(from),
                                (int)json_integer_value(count)) != 0)
            return fail(r, "out of memory");
    } else {
        return fail(r, "seeds: expected a list of integers or {\"from\": N, \"count\": K}");
    }
    return p->nseeds > 0 ? 0 : fail(r, "seeds: none given");
}

static int load_texts(struct reader *r, json_t *list, const char *what, bool sets,
                      struct plan *p)
{
    if (!json_is_array(list))
        return fail(r, "%s: expected an array of strings", what);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *text = json_string_value(v);
        int rc = text == NULL ? -1 : sets ? plan_add_set(p, text) : plan_add_metric(p, text);
        if (rc != 0)
            return fail(r, "%s[%zu]: expected %s", what, i,
                        sets ? "\"KEY=VALUE\"" : "a summary.csv column name");
    }
    return 0;
}

/* The scenario path, relative to the plan file's directory. */
static int scenario_path(struct reader *r, struct plan *p, const char *path, const char *given)
{
    const char *slash = strrchr(path, '/');
    int n = given[0] == '/' || slash == NULL
                ? snprintf(p->scenario, sizeof(p->scenario), "%s", given)
                : snprintf(p->scenario, sizeof(p->scenario), "%.*s/%s", (int)(slash - path), path,
                           given);
    return n < (int)sizeof(p->scenario) ? 0 : fail(r, "scenario: path too long");
}

static int load_root(struct reader *r, json_t *root, struct plan *p, const char *path)
{
    static const char *const keys[] = {"scenario", "axes", "seeds", "metrics", "set", "lean", NULL};
    if (!json_is_object(root))
        return fail(r, "expected an object");
    if (keys_check(r, root, "the plan", keys) != 0)
        return -1;
    const char *scn = json_string_value(json_object_get(root, "scenario"));
    if (scn == NULL || scn[0] == '\0')
        return fail(r, "scenario: expected the scenario file's path (relative to the plan)");
    if (scenario_path(r, p, path, scn) != 0)
        return -1;
    json_t *axes = json_object_get(root, "axes");
    if (axes != NULL && (!json_is_array(axes) || json_array_size(axes) > PLAN_AXES_MAX))
        return fail(r, "axes: expected an array of at most %d axes", PLAN_AXES_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(axes, i, v)
    {
        /* Counted first, so that plan_free frees the values of an axis
         * that fails halfway. */
        p->naxes++;
        if (load_axis(r, v, &p->axes[i], (int)i) != 0)
            return -1;
    }
    json_t *seeds = json_object_get(root, "seeds");
    if (seeds == NULL)
        return fail(r, "seeds: missing (a list, or {\"from\": N, \"count\": K})");
    if (load_seeds(r, p, seeds) != 0)
        return -1;
    json_t *metrics = json_object_get(root, "metrics"), *sets = json_object_get(root, "set");
    if ((metrics != NULL && load_texts(r, metrics, "metrics", false, p) != 0) ||
        (sets != NULL && load_texts(r, sets, "set", true, p) != 0))
        return -1;
    json_t *lean = json_object_get(root, "lean");
    if (lean != NULL && !json_is_boolean(lean))
        return fail(r, "lean: expected true or false");
    p->lean = lean == NULL || json_is_true(lean);
    /* In double: 4 axes of 1000 values overflow plan_cells()'s int. */
    double runs = p->nseeds;
    for (int a = 0; a < p->naxes; a++)
        runs *= p->axes[a].nvalues;
    if (runs > PLAN_RUNS_MAX)
        return fail(r, "more than %d runs", PLAN_RUNS_MAX);
    return 0;
}

/* The plan in root (NULL: jansson's error), read from path. */
static int plan_from_json(const char *path, json_t *root, const json_error_t *error,
                          struct plan *p, char *err, size_t err_size)
{
    struct reader r = {.file = path, .err = err, .err_size = err_size};
    if (root == NULL) {
        if (error->line < 1)
            return fail(&r, "%s", error->text);
        snprintf(err, err_size, "%s:%d:%d: %s", path, error->line, error->column, error->text);
        return -1;
    }
    int rc = load_root(&r, root, p, path);
    json_decref(root);
    if (rc != 0)
        plan_free(p);
    return rc;
}

int plan_load(const char *path, struct plan *p, char *err, size_t err_size)
{
    plan_init(p, "");
    json_error_t error;
    json_object_seed(1);
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    return plan_from_json(path, root, &error, p, err, err_size);
}

int plan_load_buffer(const char *path, const char *text, size_t len, struct plan *p, char *err,
                     size_t err_size)
{
    plan_init(p, "");
    json_error_t error;
    json_object_seed(1);
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    return plan_from_json(path, root, &error, p, err, err_size);
}
