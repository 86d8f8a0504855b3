/*
 * Director mode of the simulated world ("mode": "director"): the same
 * users, sessions, backends, faults and reports as Palomar mode, but the
 * site's proxies ask a Dovecot 2.3 director (core/director) where each user
 * goes, dovemon watches the backends, and timeline `doveadm director`
 * commands act on that director's state, kept in the site's GeoDB file.
 *
 * Each backend gets an IP address for the director (the scenario's backend
 * i, 0-based, is 10.0.i/250.i%250+1); the backends' names resolve to them
 * for `doveadm director`. Backends whose scenario status is online form the
 * director's initial config; others are added later with `director add`.
 */
#ifndef DIRMODE_H
#define DIRMODE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cluster.h"
#include "core/dirring.h"

struct world;
struct director;

struct dirmode_host {
    int down_by_dovemon; /* dovemon marked it down (and may mark it up) */
    int64_t next_poll_ms;
    int fail_streak;     /* consecutive failed polls */
    int rapid_left;      /* rapid polls still to make, 0: not polling rapidly */
    int rapid_failures;
};

struct dirmode {
    struct director *d;
    char ip[CLUSTER_BACKENDS_MAX][DIRRING_IP_TEXT_SIZE];
    uint32_t *hash;    /* per user: the director's user hash */
    uint32_t *by_hash; /* users ordered by (hash, index): finds a hash's users */
    struct dirmode_host hosts[CLUSTER_BACKENDS_MAX];
    /* scratch: user entries before a command, to find whom it moved */
    struct dirmode_entry *before;
    size_t nbefore;
};

/* Creates the director from the scenario and stores its state in the first
 * replica. Returns 0, or -1 with w->error set. */
int dirmode_init(struct world *w);
void dirmode_free(struct world *w);

/* Where an access of the user goes: a backend index, or -1 when the
 * director has no host for it (a login held by a move goes where the move
 * put the user). */
int dirmode_route(struct world *w, uint32_t user);
/* The backend of the user's live assignment, or -1 (for sessions already
 * open at t = 0). */
int dirmode_assigned(struct world *w, uint32_t user);

/* EV_DOVEMON: one second of dovemon's polls. EV_DIR_NOTIFY: the proxies'
 * proxy-notify writes for every user with an open connection. */
void dirmode_dovemon_tick(struct world *w);
void dirmode_notify(struct world *w);

/* Around a timeline `doveadm director` command: the command sees the
 * current state, and the simulation takes the state it leaves; users whose
 * assignment it moved lose their connections (the director kicks them),
 * and director.csv gets the host table. */
int dirmode_before_command(struct world *w);
int dirmode_after_command(struct world *w, const char *command);

/* For the reports and expectations: read-only, the director as it reads
 * once its clock reaches now, without advancing it. */
struct dirmode_view {
    bool present;
    bool down;
    unsigned vhosts;
    uint32_t users;
};
void dirmode_view(const struct world *w, int backend, struct dirmode_view *out);
/* max/mean of users per vhost over the hosts that are up with vhosts. */
double dirmode_imbalance(const struct world *w);
/* Users whose live entry is not on the host the ring gives them now. */
uint32_t dirmode_misplaced(const struct world *w);

/* The backend whose name or IP text this is (the simulation's DNS). */
int dirmode_resolve(struct world *w, const char *name, char *ip, size_t size);

#endif
