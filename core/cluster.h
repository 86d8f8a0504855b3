/*
 * The cluster vocabulary shared by the controller core and the simulator:
 * statuses, feature flags and the limits every table and array is sized by.
 * It lives in core/ because the controller reasons in these terms; the GeoDB
 * emulation in sim/ stores them as the lower-case words Palomar's doveadm uses.
 */
#ifndef CLUSTER_H
#define CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

/* A UUID in its 36-character text form, plus the terminating NUL. */
#define CLUSTER_ID_LEN 36
#define CLUSTER_ID_SIZE (CLUSTER_ID_LEN + 1)

/* Names: a DNS name is at most 253 characters, and so is every other name. */
#define CLUSTER_NAME_MAX 253
#define CLUSTER_NAME_SIZE (CLUSTER_NAME_MAX + 1)
#define CLUSTER_USERNAME_MAX 255
#define CLUSTER_USERNAME_SIZE (CLUSTER_USERNAME_MAX + 1)

/* Bounds of a simulated cluster; the GeoDB rejects anything larger. Backend
 * indexes are uint16_t with 0xffff meaning none, so the backend bound must
 * stay below that; arrays that would grow large with it (a replica's views)
 * are allocated, and touched only up to the real count. */
#define CLUSTER_SITES_MAX 16
#define CLUSTER_BACKENDS_MAX 4096
_Static_assert(CLUSTER_BACKENDS_MAX < 0xffff, "a uint16_t backend index, 0xffff for none");
#define CLUSTER_TAGS_MAX 256
/* Destinations of one force-move. */
#define CLUSTER_FM_DEST_MAX 16

enum site_status {
    SITE_ONLINE = 0,
    SITE_OFFLINE,
    SITE_STANDBY,
    SITE_EVACUATE,
    SITE_STATUS_COUNT
};

enum backend_status {
    BACKEND_ONLINE = 0,
    BACKEND_OFFLINE,
    BACKEND_STANDBY,
    BACKEND_STATUS_COUNT
};

/* Ordered so that the effective state of a feature is the minimum over the
 * levels that set it: off < dryrun < on. */
enum feature_state {
    FEATURE_OFF = 0,
    FEATURE_DRYRUN = 1,
    FEATURE_ON = 2,
    FEATURE_STATE_COUNT
};

enum feature {
    FEATURE_METRICS_EXPORT = 0,
    FEATURE_HEALTH,    /* BackendHealthAutoHandling */
    FEATURE_BALANCING, /* BackendLoadBalancing */
    FEATURE_COUNT
};

enum feature_scope {
    SCOPE_GLOBAL = 0,
    SCOPE_SITE,
    SCOPE_BACKEND,
    SCOPE_COUNT
};

/* Word <-> enum conversions. The *_parse functions return -1 for an unknown
 * word; the *_name functions assert on an out-of-range value. */
const char *site_status_name(enum site_status status);
int site_status_parse(const char *word);
const char *backend_status_name(enum backend_status status);
int backend_status_parse(const char *word);
const char *feature_state_name(enum feature_state state);
int feature_state_parse(const char *word);
const char *feature_name(enum feature feature);
int feature_parse(const char *word);
const char *feature_scope_name(enum feature_scope scope);
int feature_scope_parse(const char *word);

#endif
