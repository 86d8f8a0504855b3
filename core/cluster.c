/*
 * Names of the cluster vocabulary, exactly as doveadm and the controller's
 * feature API spell them, so that scenarios, the GeoDB file and the reports
 * all use the words an operator already knows.
 */
#include "cluster.h"

#include <assert.h>
#include <string.h>

static const char *const site_status_names[SITE_STATUS_COUNT] = {
    "online", "offline", "standby", "evacuate",
};

static const char *const backend_status_names[BACKEND_STATUS_COUNT] = {
    "online", "offline", "standby",
};

static const char *const feature_state_names[FEATURE_STATE_COUNT] = {
    "off", "dryrun", "on",
};

static const char *const feature_names[FEATURE_COUNT] = {
    "MetricsExport", "BackendHealthAutoHandling", "BackendLoadBalancing",
};

static const char *const feature_scope_names[SCOPE_COUNT] = {
    "global", "site", "backend",
};

static int word_find(const char *const *words, int count, const char *word)
{
    assert(word != NULL);
    for (int i = 0; i < count; i++) {
        if (strcmp(words[i], word) == 0)
            return i;
    }
    return -1;
}

const char *site_status_name(enum site_status status)
{
    assert(status < SITE_STATUS_COUNT);
    return site_status_names[status];
}

int site_status_parse(const char *word)
{
    return word_find(site_status_names, SITE_STATUS_COUNT, word);
}

const char *backend_status_name(enum backend_status status)
{
    assert(status < BACKEND_STATUS_COUNT);
    return backend_status_names[status];
}

int backend_status_parse(const char *word)
{
    return word_find(backend_status_names, BACKEND_STATUS_COUNT, word);
}

const char *feature_state_name(enum feature_state state)
{
    assert(state < FEATURE_STATE_COUNT);
    return feature_state_names[state];
}

int feature_state_parse(const char *word)
{
    return word_find(feature_state_names, FEATURE_STATE_COUNT, word);
}

const char *feature_name(enum feature feature)
{
    assert(feature < FEATURE_COUNT);
    return feature_names[feature];
}

int feature_parse(const char *word)
{
    return word_find(feature_names, FEATURE_COUNT, word);
}

const char *feature_scope_name(enum feature_scope scope)
{
    assert(scope < SCOPE_COUNT);
    return feature_scope_names[scope];
}

int feature_scope_parse(const char *word)
{
    return word_find(feature_scope_names, SCOPE_COUNT, word);
}
