/*
 * Scenario overrides (see override.h): a path walked through the parsed
 * document, the value put in place. Only the walk is checked here (does
 * the site, the index, the object exist); what the value means is the
 * loader's business, so an override gets exactly the file's checks.
 */
#include "sim/scenario/override.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario/jsonpos.h"

#define SEGMENT_SIZE 256
#define ARRAY_INDEX_MAX 1000000

/* The top-level keys of a scenario (as load_root in scenario.c accepts). */
static const char *const top_keys[] = {
    "name",     "description", "seed",    "duration", "mode",     "sample_interval",
    "scrape_interval", "geodb", "sites",  "users",    "workload", "director",
    "features", "settings",    "timeline", NULL,
};

bool override_is_path(const char *arg)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (memchr(arg, '.', len) != NULL)
        return true;
    for (int i = 0; top_keys[i] != NULL; i++) {
        if (strlen(top_keys[i]) == len && strncmp(top_keys[i], arg, len) == 0)
            return true;
    }
    return false;
}

/* A walk in progress: where it is, and what to call it in messages. */
struct walk {
    json_t *node;
    char ptr[OVERRIDE_PTR_SIZE];  /* JSON Pointer of node */
    char name[OVERRIDE_PTR_SIZE]; /* the dotted path so far ("sites.DC1") */
    char key[SEGMENT_SIZE];       /* the last object key entered ("sites") */
    char *err;
    size_t err_size;
};

static int walk_fail(struct walk *w, const char *fmt, const char *arg)
{
    snprintf(w->err, w->err_size, fmt, arg);
    return -1;
}

static bool all_digits(const char *s, size_t len)
{
    if (len == 0 || len > 7)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

/* Appends ".seg" (or "seg" at the top) to the walk's name. */
static void name_append(struct walk *w, const char *seg, size_t len)
{
    size_t n = strlen(w->name);
    snprintf(w->name + n, sizeof(w->name) - n, "%s%.*s", n ? "." : "", (int)len, seg);
}

/* "sites" -> "site", for "no site DC9". */
static void singular(const char *key, char *out, size_t size)
{
    size_t len = strlen(key);
    if (len > 1 && key[len - 1] == 's')
        len--;
    snprintf(out, size, "%.*s", (int)len, key);
}

/* The element of array whose "name" is the longest prefix of rest that
 * ends at a '.' or at the end (names may contain dots). -1 when none. */
static long named_element(json_t *array, const char *rest, size_t *used)
{
    long best = -1;
    size_t best_len = 0;
    size_t i;
    json_t *e;
    json_array_foreach(array, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        size_t len = name ? strlen(name) : 0;
        if (len == 0 || len <= best_len || strncmp(rest, name, len) != 0)
            continue;
        if (rest[len] == '.' || rest[len] == '\0') {
            best = (long)i;
            best_len = len;
        }
    }
    *used = best_len;
    return best;
}

/* Enters the array element that rest starts with; *rest moves past it. */
static int enter_element(struct walk *w, const char **rest, size_t *out_index)
{
    const char *dot = strchr(*rest, '.');
    size_t len = dot ? (size_t)(dot - *rest) : strlen(*rest);
    size_t size = json_array_size(w->node);
    size_t index = 0;
    if (all_digits(*rest, len)) {
        index = strtoul(*rest, NULL, 10);
        if (index >= size) {
            char what[SEGMENT_SIZE + 64];
            snprintf(what, sizeof(what), "%s has %zu entries (0..%ld)", w->name, size,
                     (long)size - 1);
            return walk_fail(w, "%s", what);
        }
    } else {
        long found = named_element(w->node, *rest, &len);
        if (found < 0) {
            char kind[SEGMENT_SIZE], what[2 * SEGMENT_SIZE + 16];
            singular(w->key, kind, sizeof(kind));
            int n = (int)(dot ? (size_t)(dot - *rest) : strlen(*rest));
            snprintf(what, sizeof(what), "no %s %.*s", kind, n, *rest);
            return walk_fail(w, "%s", what);
        }
        index = (size_t)found;
    }
    char ptr[OVERRIDE_PTR_SIZE];
    if (jsonpos_path_index(ptr, sizeof(ptr), w->ptr, index) != 0)
        return walk_fail(w, "%s: path too long", w->name);
    memcpy(w->ptr, ptr, sizeof(ptr));
    name_append(w, *rest, len);
    w->node = json_array_get(w->node, index);
    *rest += len;
    *out_index = index;
    return 0;
}

/* The value text as JSON when it is JSON, else as a string. */
static json_t *value_parse(const char *text)
{
    json_error_t error;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);
    return v != NULL ? v : json_string(text);
}

/* Walks path (a copy: segments are cut in place) and sets value. */
static int walk_set(struct walk *w, char *path, json_t *value, char *top_ptr, size_t top_size)
{
    const char *rest = path;
    top_ptr[0] = '\0';
    while (*rest != '\0') {
        if (json_is_array(w->node)) {
            json_t *array = w->node;
            size_t index;
            if (enter_element(w, &rest, &index) != 0)
                return -1;
            if (*rest == '\0') {
                /* The path names an element: it is replaced whole. */
                if (top_ptr[0] == '\0')
                    snprintf(top_ptr, top_size, "%s", w->ptr);
                return json_array_set(array, index, value);
            }
        } else if (json_is_object(w->node)) {
            const char *dot = strchr(rest, '.');
            size_t len = dot ? (size_t)(dot - rest) : strlen(rest);
            if (len == 0 || len >= SEGMENT_SIZE)
                return walk_fail(w, "%s: empty or overlong key in the path", w->name);
            char key[SEGMENT_SIZE];
            memcpy(key, rest, len);
            key[len] = '\0';
            char ptr[OVERRIDE_PTR_SIZE];
            if (jsonpos_path_key(ptr, sizeof(ptr), w->ptr, key) != 0)
                return walk_fail(w, "%s: path too long", w->name);
            json_t *child = json_object_get(w->node, key);
            bool last = rest[len] == '\0';
            if (last) {
                if (top_ptr[0] == '\0')
                    snprintf(top_ptr, top_size, "%s", ptr);
                return json_object_set(w->node, key, value);
            }
            if (child == NULL) {
                /* A missing object on the way ("workload" of a scenario
                 * without one) is created; the loader checks its key. */
                child = json_object();
                if (child == NULL || json_object_set_new(w->node, key, child) != 0)
                    return walk_fail(w, "%s", "out of memory");
                if (top_ptr[0] == '\0')
                    snprintf(top_ptr, top_size, "%s", ptr);
            }
            memcpy(w->ptr, ptr, sizeof(ptr));
            memcpy(w->key, key, len + 1);
            name_append(w, rest, len);
            w->node = child;
            rest += len;
        } else {
            return walk_fail(w, "%s is a single value: nothing inside it to set",
                             w->name[0] ? w->name : "the scenario");
        }
        if (*rest == '.')
            rest++;
        else if (*rest != '\0')
            return walk_fail(w, "%s: expected '.' after it in the path", w->name);
    }
    return walk_fail(w, "%s: empty path", w->name);
}

int override_apply(json_t *root, const char *text, char *ptr, size_t ptr_size, char *err,
                   size_t err_size)
{
    const char *eq = strchr(text, '=');
    if (eq == NULL || eq == text) {
        snprintf(err, err_size, "expected PATH=VALUE");
        return -1;
    }
    size_t len = (size_t)(eq - text);
    if (len >= OVERRIDE_PTR_SIZE || text[len - 1] == '.' || text[0] == '.') {
        snprintf(err, err_size, "expected PATH=VALUE with a path of dotted keys");
        return -1;
    }
    char path[OVERRIDE_PTR_SIZE];
    memcpy(path, text, len);
    path[len] = '\0';
    json_t *value = value_parse(eq + 1);
    if (value == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    struct walk w = {.node = root, .err = err, .err_size = err_size};
    int rc = walk_set(&w, path, value, ptr, ptr_size);
    json_decref(value);
    return rc;
}
